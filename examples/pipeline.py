"""A three-step document pipeline through Tierwise's runtime client, offline, then its audit.

Each incoming support email goes through three task calls that share one trace id:

    extract   date_extraction  the date the customer mentions   (registry: the date rule)
    classify  ticket_triage    which team gets it               (registry: the keyword rule)
    analyse   sentiment        how upset the customer is        (a local llama.cpp model, SmolLM2-135M)

The call sites name the task and the step; the registry decides the model, the client renders
the prompt that model was evaluated with, falls back or escalates when needed, and writes one
usage-ledger row per attempt. Afterwards `tierwise audit` shows spend per task, per step and
per pipeline run.

The bundled registry.yaml has no sentiment entry (it is evidence-backed, and sentiment has not
been evaluated here), so the script works on a copy of the example project with one demo
entry added: sentiment -> local:smollm2-135m-instruct, falling back to the lexicon rule. In a
real project that entry comes from `tierwise run sentiment && tierwise recommend --write`.

    python examples/pipeline.py                 # local model for the analyse step (llama.cpp)
    python examples/pipeline.py --rules-only    # all three steps on python rules (no llama.cpp)
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

DEMO_ENTRY = """\
  # Demo entry added by examples/pipeline.py (not evidence-backed; see its docstring).
  sentiment:
    model: {model}
    fallbacks: [python:examples.rules:sentiment_lexicon]
    max_tokens: 4
    temperature: 0.0
"""


def prepare(workdir: Path, rules_only: bool) -> Path:
    """A copy of the example project with a sentiment entry and a fresh ledger."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for name in ("tierwise.yaml", "registry.yaml", "registry.evidence.json"):
        shutil.copy(ROOT / name, workdir / name)
    for name in ("evals", "golden_sets"):
        shutil.copytree(ROOT / name, workdir / name)
    shutil.copytree(ROOT / "examples", workdir / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    model = "python:examples.rules:sentiment_lexicon" if rules_only else "local:smollm2-135m-instruct"
    with (workdir / "registry.yaml").open("a", encoding="utf-8") as f:
        f.write(DEMO_ENTRY.format(model=model))
    return workdir


def process(client, doc_id: str, text: str) -> dict:
    """One pipeline run: three steps under one trace id."""
    date = client.complete("date_extraction", text=text, trace=doc_id, step="extract")
    team = client.complete("ticket_triage", ticket=text, trace=doc_id, step="classify")
    mood = client.complete("sentiment", review=text, trace=doc_id, step="analyse")
    return {"doc": doc_id, "date": date.parsed, "team": team.parsed, "sentiment": mood.parsed,
            "models": [date.model, team.model, mood.model], "cost": date.cost + team.cost + mood.cost}


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
    print(f"\n$ tierwise audit --project {workdir}\n")
    print(audit(workdir).text())


if __name__ == "__main__":
    main()
