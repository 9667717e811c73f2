"""A simulated production stream through Tierwise's runtime client with shadowing on, offline.

Two tasks, each with two python candidates, an incumbent and a cheaper challenger:

    ticket_triage   careful-router, the incumbent: routes every golden case right; $2 per 1,000 calls
                    quick-router, the challenger ($0.10 per 1,000): misroutes one rare kind of ticket
                    (a refund asked for in a sign-in complaint); labels, so live agreement decides
    ticket_reply    careful-reply and quick-reply (examples/live_reply.py): the first reply to the
                    ticket, open-ended, so the blind pairwise judge decides on the live pairs

On its golden set each challenger falls short of the bar (triage 57/60 against 0.90; reply 116/120
against 0.90 once the judge's grades are corrected by people's verdicts): its lower bound is below the
threshold, its upper bound is not (it lacked the cases, it was not shown below the bar). The script:

1. evaluates all four (`tierwise run`) and writes the registry (`tierwise recommend --write`):
   the incumbents, the only ones that qualify offline;
2. streams 1,200 production calls of each task through `harness.Client` with `shadow:` on (every
   call shadowed, both answers captured); half-way the traffic drifts: nine tickets in ten are now
   about billing;
3. `tierwise recommend --write` promotes quick-router from its live agreement with careful-router
   (the upper confidence sequence on disagreement below `max_regression` 0.05), and judges the
   reply pairs (blind, both orders) and promotes quick-reply when its loss bound plus the judge's
   misses against people's verdicts is below `max_regression` 0.15; `tierwise gate` checks both
   entries' live evidence and says why it accepts or refuses each;
4. `tierwise audit --check` reports the label-mix drift and exits 1.

    python examples/live_stream.py [--dir reports/live-demo]     # seconds, no network
    python examples/live_stream.py --local-judge                  # the bundled local judge model: minutes

With `--local-judge` the reply task's judge is the bundled Qwen2.5-Coder 1.5B (llama.cpp, offline) on a
smaller golden set and stream, from the team's hand-written entry (12 cases cannot show the bar); whether quick-reply is promoted then depends on the model's verdicts and
its misses, and the script reports what `recommend` and `gate` decided without expecting either.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

LABELS = ("billing", "technical", "account")
WORDS = {
    "billing": ["I was charged twice this month", "my invoice shows the wrong amount",
                "please explain this payment on my card", "the subscription price went up"],
    "technical": ["the app crashes when I open a project", "sync has been failing since the update",
                  "the export button does nothing", "the page loads forever"],
    "account": ["I cannot sign in any more", "please delete my account", "I want to change my email address",
                "my password reset link expired"],
}
RARE = "I cannot sign in and I want a refund for the days I lost"  # the challenger's blind spot


def careful_router(vars: dict) -> str:
    """The incumbent: refunds asked for in a sign-in complaint go to billing."""
    text = vars["ticket"].lower()
    if "refund" in text or any(w in text for w in ("charged", "invoice", "payment", "price")):
        return "billing"
    if any(w in text for w in ("crash", "sync", "export", "loads")):
        return "technical"
    return "account"


def quick_router(vars: dict) -> str:
    """The challenger: cheaper, and blind to a refund inside a sign-in complaint."""
    text = vars["ticket"].lower()
    if "sign in" in text:
        return "account"
    return careful_router(vars)


def golden_cases(rare: int = 3) -> list[dict]:
    """60 cases; `rare` of them the challenger's blind spot (3: it lacks the cases to clear the bar)."""
    cases, rng = [], random.Random(7)
    for i in range(60 - rare):
        label = LABELS[i % 3]
        cases.append({"id": f"g-{i:03d}", "vars": {"ticket": f"{rng.choice(WORDS[label])} (ref {i})"},
                      "expected": label})
    cases += [{"id": f"g-{60 - rare + i:03d}", "vars": {"ticket": f"{RARE} (ref {i})"}, "expected": "billing"}
              for i in range(rare)]
    return cases


CONFIG = """\
store: sqlite:///.tierwise/results.db
registry: registry.yaml
volumes: {ticket_triage: 300000, ticket_reply: 300000}   # calls a month (the demo's ledger spans seconds)
models:
  careful-router: {python: "examples.live_stream:careful_router", price: {per_call: 0.002}}
  quick-router:   {python: "examples.live_stream:quick_router", price: {per_call: 0.0001}}
  careful-reply:  {python: "examples.live_reply:careful_reply", price: {per_call: 0.003}}
  quick-reply:    {python: "examples.live_reply:quick_reply", price: {per_call: 0.0001}}
  reply-rubric:   {python: "examples.live_reply:reply_rubric"}
  local-judge:    {local: qwen2.5-coder-1.5b-instruct, price: {per_hour: 0.05}}
shadow:
  ticket_triage: {challenger: quick-router, rate: 1.0, queue: 2000, fresh_days: 30}
  ticket_reply:  {challenger: quick-reply, rate: 1.0, queue: 2000, fresh_days: 30}
"""

SPEC = """\
task: ticket_triage
description: Route a support ticket to billing, technical or account.
golden_set: golden_sets/ticket_triage.jsonl
prompt:
  user: "{{ ticket }}"
output: {choices: [billing, technical, account]}
graders:
  - {type: exact, normalize: [strip, lower]}
threshold: 0.90
confidence: 0.95
max_regression: 0.05
candidates: [careful-router, quick-router]
"""

REPLY_SPEC = """\
task: ticket_reply
description: The first reply to a support ticket.
golden_set: golden_sets/ticket_reply.jsonl
prompt:
  system: "Write the first reply to this support ticket: name the team that will handle it, and address a refund if one is asked for."
  user: "{{{{ ticket }}}}"
graders:
  - {{type: pairwise, judge: {judge}, criteria: "names the team that will handle the ticket and addresses a refund asked for"}}
threshold: 0.90
confidence: 0.95
max_regression: 0.15
candidates: [careful-reply, quick-reply]
judge: {{labels: labels/ticket_reply.jsonl}}
"""


# With --local-judge the reply golden set is too small to show the bar (LOCAL_JUDGE_CASES): the team's
# current entry, written by hand, keeps production on the incumbent, and the gate says what backs it.
HAND_ENTRY = """\
tasks:
  ticket_reply: {model: "python:examples.live_reply:careful_reply", fallbacks: []}
"""


def prepare(workdir: Path, rare: int = 3, judge: str = "reply-rubric", replies: int = 120,
            registry: str = "tasks: {}\n") -> None:
    """A fresh project: catalog with shadowing on, the two specs, their golden sets, the people's
    verdicts on the reply task's golden outputs, the registry (empty by default)."""
    from examples.live_reply import golden_cases as reply_cases, human_verdicts

    if workdir.exists():
        if any(workdir.iterdir()) and not _a_demo(workdir):  # never delete a folder this script did not make
            raise ValueError(f"{workdir} exists and is not a live_stream demo folder; fix: name a new or empty folder")
        shutil.rmtree(workdir)
    for folder in ("evals", "golden_sets", "labels"):
        (workdir / folder).mkdir(parents=True)
    (workdir / "tierwise.yaml").write_text(CONFIG)
    (workdir / "evals" / "ticket_triage.yaml").write_text(SPEC)
    (workdir / "golden_sets" / "ticket_triage.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in golden_cases(rare)))
    cases = reply_cases(replies)
    (workdir / "evals" / "ticket_reply.yaml").write_text(REPLY_SPEC.format(judge=judge))
    (workdir / "golden_sets" / "ticket_reply.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (workdir / "labels" / "ticket_reply.jsonl").write_text(
        "".join(json.dumps(v) + "\n" for v in human_verdicts(cases)))
    (workdir / "registry.yaml").write_text(registry)


def _a_demo(workdir: Path) -> bool:
    """Whether the folder holds a project this script wrote (its catalog, with or without --local-judge)."""
    config = workdir / "tierwise.yaml"
    return config.is_file() and config.read_text() == CONFIG


def tierwise(workdir: Path, *args: str) -> int:
    """Run one `tierwise` command on the project, print it and its output; its exit code."""
    print(f"\n$ tierwise {' '.join(args)}")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "harness.cli", *args, "--project", str(workdir)],
                          env=env, capture_output=True, text=True)
    print((done.stdout + done.stderr).rstrip())
    print(f"(exit {done.returncode})")
    return done.returncode


def stream(workdir: Path, calls: int, seed: int = 1, replies: int | None = None) -> None:
    """Production traffic: a third of each label, then (half-way) nine in ten about billing; one
    ticket in a hundred is the rare kind. Each ticket is routed, and the first `replies` (default:
    all) are answered too, in the same trace."""
    import harness

    rng = random.Random(seed)
    replies = calls if replies is None else replies
    with harness.Client(workdir, capture=True, shadow_seed=seed) as client:
        for i in range(calls):
            drifted = i >= calls // 2
            label = "billing" if drifted and rng.random() < 0.9 else rng.choice(LABELS)
            ticket = f"{RARE if rng.random() < 0.01 else rng.choice(WORDS[label])} (#{i})"
            client.complete("ticket_triage", ticket=ticket, trace=f"req-{i}", step="route")
            if i < replies:
                client.complete("ticket_reply", ticket=ticket, trace=f"req-{i}", step="reply")
        client.shadow.drain(60)  # every queued shadow call answered and stored before the audit
        stats = client.shadow.stats()
    print(f"shadow: {stats.called} called, {stats.agreed} agreed, {stats.dropped} dropped")
    print(f"streamed {calls} tickets, {replies} of them answered (drift from call {calls // 2 + 1})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(ROOT / "reports" / "live-demo"), help="the demo project's folder")
    parser.add_argument("--calls", type=int, default=1200)
    parser.add_argument("--local-judge", action="store_true",
                        help="judge the replies with the bundled local judge model (llama.cpp; minutes, not seconds)")
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= MAX_CALLS:
        parser.error(f"--calls must be between 1 and {MAX_CALLS:,}, got {args.calls}")
    if args.local_judge and importlib.util.find_spec("llama_cpp") is None:
        parser.error("--local-judge runs the bundled judge model on llama.cpp, which is not installed; "
                     "fix: pip install -e '.[local]'")
    workdir = Path(args.dir).resolve()
    try:  # with --local-judge a real model judges: a smaller golden set and stream of replies (module docstring)
        prepare(workdir, **({"judge": "local-judge", "replies": LOCAL_JUDGE_CASES, "registry": HAND_ENTRY}
                            if args.local_judge else {}))
    except ValueError as exc:
        parser.error(f"--dir: {exc}")
    codes = {"run": tierwise(workdir, "run"), "first": tierwise(workdir, "recommend", "--write")}
    stream(workdir, args.calls, replies=LOCAL_JUDGE_PAIRS if args.local_judge else None)
    codes["promote"] = tierwise(workdir, "recommend", "--write")
    codes["gate"] = tierwise(workdir, "gate")
    codes["check"] = tierwise(workdir, "audit", "--check")
    print()
    entries = _entries(workdir)
    if args.local_judge:  # a real judge's verdicts decide: report, expect no particular outcome
        ok = codes["run"] == codes["first"] == 0 and codes["promote"] == 0 and codes["gate"] in (0, 1)
        print("local judge: " + ("recommend and gate ran; see their reasons above" if ok
                                 else f"unexpected exit codes: {codes}"))
        return 0 if ok else 1
    promoted = {t: m for t, (m, _) in entries.items()} == {"ticket_triage": "quick-router", "ticket_reply": "quick-reply"}
    ok = codes["run"] == codes["first"] == codes["promote"] == codes["gate"] == 0 and codes["check"] == 1 and promoted
    print("\n" + ("as expected: promoted on live agreement and on judged live pairs, gate passed, "
                  "audit --check raised the drift (exit 1)" if ok else f"unexpected: exit codes {codes}, entries {entries}"))
    return 0 if ok else 1


MAX_CALLS = 100_000      # a demo stream, not a load test
# With --local-judge each of quick-reply's golden outputs and each shadowed reply costs two judge calls,
# 12-15 s each for Qwen 1.5B on a 2-core machine at load 4-6: 12 min 41 s in all (docs/production.md).
LOCAL_JUDGE_CASES = 12   # reply golden cases
LOCAL_JUDGE_PAIRS = 12   # shadowed replies


def _entries(workdir: Path) -> dict[str, tuple[str, str]]:
    """task -> (model, the claim backing it) from the evidence file `recommend --write` wrote; prints
    each entry's claim and, for live pairwise evidence, the judged pairs and the two halves of its bound."""
    path = workdir / "registry.evidence.json"
    tasks = json.loads(path.read_text()).get("tasks", {}) if path.exists() else {}
    out = {}
    for task, record in sorted(tasks.items()):
        live = record.get("live") or {}
        out[task] = (record.get("model", "?"), live.get("claim", "offline bound"))
        print(f"evidence {task}: {out[task][0]} ({out[task][1]})")
        p = live.get("pairwise")
        if p:
            print(f"  judged pairs ({p['judge']}): {p['losses']} losses, {p['ties']} ties, {p['wins']} wins, "
                  f"{p['judge_errors']} judge failures in {p['judged']}; loss upper {live['upper']:.3f} = judge "
                  f"{p['judge_upper']:.3f} + misses {p['miss_upper']:.3f} ({p['misses']} of {p['labels']} human "
                  f"verdicts) vs max_regression {live['margin']}")
    return out

if __name__ == "__main__":
    sys.exit(main())
