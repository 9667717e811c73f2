"""Wrong-pick rate and power with many candidates just under the bar, through the real decision rule.

Each scenario has K cheap candidates whose true pass rate sits just under the bar (0.895 against
0.90) and one clearly good dearer candidate (0.97); n = 200 cases, confidence 0.95. A wrong pick
is any below-bar candidate recommended or kept as a fallback; power is the share of seeds where
the good candidate is recommended with no below-bar candidate kept beside it. Outcomes are drawn
independently per candidate and seed. Then the one-candidate scenarios this file took over from
benchmarks/decision_error_rate.py (cheap < mid 0.97 < dear 0.99 in price).

"rule" is Tierwise's decision rule itself (`harness.decide.decide` on a results frame of python:
candidates of known quality and price, so Holm, the limits and pick() with fallbacks all run);
"each alone" (the rule before Holm) and "fixed sequence" (cheapest first) are the alternatives
of docs/decisions.md, through the same selection code.

    python benchmarks/many_candidates.py [--seeds 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import load_project  # noqa: E402
from harness.decide import decide  # noqa: E402
from harness.decide._selection import Candidate, select  # noqa: E402
from harness.models import resolve_candidates  # noqa: E402
from tests.projfix import spec, write_project  # noqa: E402

FALLBACKS = 2


def _task(root: Path, costs: dict[str, float], n: int, threshold: float, confidence: float):
    models = {m: {"python": "rules:echo", "price": {"per_call": c}} for m, c in costs.items()}
    write_project(root, models=models, golden={"t": [{"id": f"c{i}", "vars": {"text": "x"}, "expected": "x"}
                                                     for i in range(n)]},
                  specs={"t": spec(candidates=list(costs), threshold=threshold, confidence=confidence)})
    project = load_project(root)
    return project.tasks["t"], resolve_candidates(project.config, list(costs))


def _frame(outcomes: dict[str, np.ndarray], costs: dict[str, float]):
    import pandas as pd

    rows = {"task": [], "model": [], "case_id": [], "score": [], "passed": [], "error": [], "latency_ms": [],
            "cost": [], "completion_tokens": [], "finish_reason": [], "run_id": []}
    for m, x in outcomes.items():
        n = len(x)
        rows["task"] += ["t"] * n
        rows["model"] += [m] * n
        rows["case_id"] += [f"c{i}" for i in range(n)]
        rows["score"] += x.tolist()
        rows["passed"] += (x == 1).tolist()
        rows["error"] += [None] * n
        rows["latency_ms"] += [100.0] * n
        rows["cost"] += [costs[m]] * n
        rows["completion_tokens"] += [1] * n
        rows["finish_reason"] += ["stop"] * n
        rows["run_id"] += ["r"] * n
    return pd.DataFrame(rows)


def simulate(truth: dict[str, float], costs: dict[str, float], n: int, threshold: float, confidence: float,
             seeds: int, good: str) -> dict[str, tuple[float, float]]:
    """{rule: (wrong-pick rate, power)} over `seeds` seeded draws."""
    names = list(truth)
    wrong = {r: 0 for r in ("rule", "each_alone", "fixed_sequence")}
    found = dict(wrong)
    with tempfile.TemporaryDirectory() as tmp:
        task, cands = _task(Path(tmp), costs, n, threshold, confidence)
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            outcomes = {m: (rng.random(n) < truth[m]).astype(float) for m in names}
            d = decide(task, cands, _frame(outcomes, costs), None)
            picks = {"rule": ([d.recommended] if d.recommended else []) + d.fallbacks}
            for rule in ("each_alone", "fixed_sequence"):
                sel = select([Candidate(m, costs[m], successes=int(outcomes[m].sum()), n=n) for m in names],
                             threshold, confidence, rule)
                picks[rule] = [v.name for v in sel.qualifying()[: 1 + FALLBACKS]]
            for rule, chosen in picks.items():
                bad = any(truth[m] < threshold for m in chosen)
                wrong[rule] += bad
                found[rule] += bool(chosen) and chosen[0] == good and not bad
    return {r: (wrong[r] / seeds, found[r] / seeds) for r in wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    if args.smoke:
        args.seeds = 2
    n, threshold, confidence = 200, 0.90, 0.95
    mc = 3 * math.sqrt(0.05 * 0.95 / args.seeds)
    started = time.perf_counter()
    print(f"n={n}, bar {threshold}, confidence {confidence}, {args.seeds} seeds (Monte Carlo 3-sigma at 0.05: "
          f"{mc:.3f}); wrong = a below-bar model recommended or kept as fallback")
    rules = ("rule", "each_alone", "fixed_sequence")
    print(f"{'scenario':<40}" + "".join(f"{r:>24}" for r in ("rule (Holm)", "each alone", "fixed sequence")))
    print(f"{'':<40}" + "".join(f"{'wrong':>12}{'power':>12}" for _ in rules))
    for count in (1, 3, 6, 10):
        truth = {f"cheap{i}": 0.895 for i in range(count)} | {"good": 0.97}
        costs = {f"cheap{i}": 0.001 * (1 + i / 100) for i in range(count)} | {"good": 0.01}
        row = simulate(truth, costs, n, threshold, confidence, args.seeds, "good")
        print(f"{f'{count} cheap at 0.895 + 1 at 0.97':<40}" + "".join(f"{row[r][0]:>12.3f}{row[r][1]:>12.3f}"
                                                                     for r in rules), flush=True)
    for true_cheap, n_cases in ((0.85, 200), (0.895, 200), (0.80, 400)):
        truth = {"cheap": true_cheap, "mid": 0.97, "dear": 0.99}
        costs = {"cheap": 0.001, "mid": 0.002, "dear": 0.01}
        row = simulate(truth, costs, n_cases, threshold, confidence, args.seeds, "mid")
        label = f"cheap {true_cheap} < mid 0.97 < dear 0.99, n={n_cases}"
        print(f"{label:<40}" + "".join(f"{row[r][0]:>12.3f}{row[r][1]:>12.3f}" for r in rules), flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
