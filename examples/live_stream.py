"""A simulated production stream through Tierwise's runtime client with shadowing on, offline.

One task, ticket_triage, with two python rules as its candidates:

    careful-router  the incumbent: routes every golden case right; priced $2 per 1,000 calls
    quick-router    the challenger: a cheaper rule ($0.10 per 1,000) that misroutes one rare kind
                    of ticket (a refund asked for in a sign-in complaint)

On the 60-case golden set the challenger scores 57/60: its lower bound falls short of the 0.90
threshold, but its upper bound does not (it lacked the cases to show it clears the bar, it was not
shown below it). The script:

1. evaluates both (`tierwise run`) and writes the registry (`tierwise recommend --write`):
   careful-router, the only one that qualifies offline;
2. streams 1,200 production calls through `harness.Client` with `shadow:` on (quick-router on every
   call); half-way the traffic drifts: nine tickets in ten are now about billing;
3. `tierwise recommend --write` promotes quick-router from its live agreement with careful-router
   (the upper confidence sequence on disagreement below `max_regression` 0.05), and `tierwise gate`
   accepts the live evidence;
4. `tierwise audit --check` reports the label-mix drift and exits 1.

    python examples/live_stream.py [--dir reports/live-demo]     # under a minute, no network
"""

from __future__ import annotations

import argparse
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
volumes: {ticket_triage: 300000}   # calls a month, for audit's projection (the demo's ledger spans seconds)
models:
  careful-router: {python: "examples.live_stream:careful_router", price: {per_call: 0.002}}
  quick-router:   {python: "examples.live_stream:quick_router", price: {per_call: 0.0001}}
shadow:
  ticket_triage: {challenger: quick-router, rate: 1.0, queue: 2000, fresh_days: 30}
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


def prepare(workdir: Path, rare: int = 3) -> None:
    """A fresh project: catalog with shadowing on, one spec, its golden set, an empty registry."""
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "evals").mkdir(parents=True)
    (workdir / "golden_sets").mkdir()
    (workdir / "tierwise.yaml").write_text(CONFIG)
    (workdir / "evals" / "ticket_triage.yaml").write_text(SPEC)
    (workdir / "golden_sets" / "ticket_triage.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in golden_cases(rare)))
    (workdir / "registry.yaml").write_text("tasks: {}\n")


def tierwise(workdir: Path, *args: str) -> int:
    """Run one `tierwise` command on the project, print it and its output; its exit code."""
    print(f"\n$ tierwise {' '.join(args)}")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "harness.cli", *args, "--project", str(workdir)],
                          env=env, capture_output=True, text=True)
    print((done.stdout + done.stderr).rstrip())
    print(f"(exit {done.returncode})")
    return done.returncode


def stream(workdir: Path, calls: int, seed: int = 1) -> None:
    """Production traffic: a third of each label, then (half-way) nine in ten about billing; one
    ticket in a hundred is the rare kind."""
    import harness

    rng = random.Random(seed)
    with harness.Client(workdir, capture=True, shadow_seed=seed) as client:
        for i in range(calls):
            drifted = i >= calls // 2
            label = "billing" if drifted and rng.random() < 0.9 else rng.choice(LABELS)
            ticket = RARE if rng.random() < 0.01 else rng.choice(WORDS[label])
            client.complete("ticket_triage", ticket=f"{ticket} (#{i})", trace=f"req-{i}")
        client.shadow.drain(60)  # every queued shadow call answered and stored before the audit
        stats = client.shadow.stats()
    print(f"shadow: {stats.called} called, {stats.agreed} agreed, {stats.dropped} dropped")
    print(f"streamed {calls} calls (drift from call {calls // 2 + 1})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(ROOT / "reports" / "live-demo"), help="the demo project's folder")
    parser.add_argument("--calls", type=int, default=1200)
    args = parser.parse_args(argv)
    workdir = Path(args.dir).resolve()
    prepare(workdir)
    codes = {"run": tierwise(workdir, "run"), "first": tierwise(workdir, "recommend", "--write")}
    stream(workdir, args.calls)
    codes["promote"] = tierwise(workdir, "recommend", "--write")
    codes["gate"] = tierwise(workdir, "gate")
    codes["check"] = tierwise(workdir, "audit", "--check")
    ok = codes["run"] == codes["first"] == codes["promote"] == codes["gate"] == 0 and codes["check"] == 1
    print("\n" + ("as expected: promoted on live agreement, gate passed, audit --check raised the drift (exit 1)"
                  if ok else f"unexpected exit codes: {codes}"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
