"""A three-step document pipeline through Tierwise's runtime client, offline, then its audit.

Each incoming support email goes through three task calls that share one trace id:

    extract   date_extraction  the date the customer mentions   (registry: the date rule)
    classify  ticket_triage    which team gets it               (a demo entry: the keyword rule)
    analyse   sentiment        how upset the customer is        (registry: a cascade, rule then Qwen 1.5B)

Then the week's release notes get titles (title_generation; registry: a cascade, the changelog
rule then Qwen 0.5B): a short changelog entry is its own title, free; a longer one goes to the model.

The call sites name the task and the step; the registry decides the model, the client renders
the prompt that model was evaluated with, falls back or escalates when needed, and writes one
usage-ledger row per attempt. Afterwards `tierwise audit` shows spend per task, per step and
per pipeline run.

The analyse step runs what the registry says for sentiment: the certified cascade (the lexicon
rule answers when several cue words agree, Qwen 1.5B when it abstains; docs/formats.md,
"Cascades"), and each answer's `model` and `stage` show which tier answered. With --rules-only
the script works on a copy of the project whose sentiment entry is the lexicon rule alone (a
demo entry, not evidence-backed), so it runs without llama.cpp. ticket_triage has no registry
entry (nothing qualifies on the example's 120 cases), so the copy gets a demo entry for it too:
the keyword rule. The release-note titles need Qwen 0.5B for the entries the rule passes on, so
--rules-only skips them.

    python examples/pipeline.py                 # local models for the analyse and title steps (llama.cpp)
    python examples/pipeline.py --rules-only    # the three email steps on python rules (no llama.cpp)
    tierwise audit --project reports/pipeline-demo
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

DOCUMENTS = [
    "Hi, I was charged twice for my subscription on March 3rd, 2024. Please refund one of them, this is "
    "really annoying.",
    "Since the update on 2024-05-14 the app crashes every time I open a project. Terrible.",
    "I can't sign in any more: the password reset link I got on 12/01/2023 (US) has expired.",
    "Thanks for the quick fix on June 2nd, 2024, the sync works great now!",
    "Please delete my account and all my data before 1 Aug 2024.",
    "The invoice dated 2024-02-29 shows the wrong VAT number, can you send a corrected one? Love the product.",
]

RELEASE_NOTES = [
    "v5.3.0: Added two-step approval for expenses over a set amount.",
    "Fixed: the calendar widget showed Sunday as the first day of the week for every locale.",
    "Removed the old Dropbox integration (replaced by the new file connector).",
    "Team admins can now export the full audit trail of their workspace as CSV, filtered by member, "
    "action or date range, from Settings > Security.",
]


def _rule(function: str) -> dict:
    return {"model": f"python:examples.rules:{function}", "fallbacks": [], "max_tokens": 4, "temperature": 0.0}


def prepare(workdir: Path, rules_only: bool) -> Path:
    """A copy of the example project with a fresh ledger (and, rules only, a rule for sentiment)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name in ("tierwise.yaml", "registry.yaml", "registry.evidence.json"):
        shutil.copy(ROOT / name, workdir / name)
    for name in ("evals", "golden_sets"):
        shutil.copytree(ROOT / name, workdir / name)
    shutil.copytree(ROOT / "examples", workdir / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    from ruamel.yaml import YAML

    yaml = YAML()
    doc = yaml.load((workdir / "registry.yaml").read_text(encoding="utf-8"))
    doc["tasks"].setdefault("ticket_triage", _rule("route_ticket"))  # demo entries: not evidence-backed
    if rules_only:
        doc["tasks"]["sentiment"] = _rule("sentiment_lexicon")
    with (workdir / "registry.yaml").open("w", encoding="utf-8") as f:
        yaml.dump(doc, f)
    return workdir


def process(client, doc_id: str, text: str) -> dict:
    """One pipeline run: three steps under one trace id."""
    date = client.complete("date_extraction", text=text, trace=doc_id, step="extract")
    team = client.complete("ticket_triage", ticket=text, trace=doc_id, step="classify")
    mood = client.complete("sentiment", review=text, trace=doc_id, step="analyse")
    answered = mood.model if mood.stage is None else f"{mood.model} (cascade stage {mood.stage})"
    return {"doc": doc_id, "date": date.parsed, "team": team.parsed, "sentiment": mood.parsed,
            "models": [date.model, team.model, answered], "cost": date.cost + team.cost + mood.cost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default=str(ROOT / "reports" / "pipeline-demo"))
    parser.add_argument("--rules-only", action="store_true", help="no llama.cpp: the analyse step uses a rule")
    parser.add_argument("--repeat", type=int, default=2, help="pass over the documents this many times")
    args = parser.parse_args()

    import harness
    from harness.commands import audit

    workdir = prepare(Path(args.workdir), args.rules_only)
    with harness.Client(workdir, capture=True) as client:
        for round_ in range(args.repeat):
            for i, text in enumerate(DOCUMENTS):
                out = process(client, f"doc-{round_}-{i}", text)
                print(f"{out['doc']}: date={out['date']} team={out['team']} sentiment={out['sentiment']} "
                      f"via {', '.join(out['models'])} (${out['cost']:.2e})")
        if args.rules_only:
            print("\nrelease-note titles: skipped with --rules-only (the title cascade's second stage is Qwen 0.5B)")
        else:
            print("\nrelease-note titles (title_generation: the changelog rule, Qwen 0.5B when it passes):")
            for i, note in enumerate(RELEASE_NOTES):
                title = client.complete("title_generation", text=note, trace=f"notes-{i}", step="title")
                via = title.model if title.stage is None else f"{title.model} (cascade stage {title.stage})"
                print(f"  {title.parsed!r} via {via} (${title.cost:.2e})  <- {note[:60]}...")
    print(f"\n$ tierwise audit --project {workdir}\n")
    print(audit(workdir).text())


if __name__ == "__main__":
    main()
