"""Wrong-pick rate and power with many candidates just under the bar: today's rule against Holm.

Each scenario has K cheap candidates whose true pass rate sits just under the bar (0.895 against
0.90) and one clearly good dearer candidate (0.97); n = 200 cases, confidence 0.95. A wrong pick
is any below-bar candidate recommended or kept as a fallback (the pick and the next two cheapest
qualifying candidates); power is the share of seeds where the good candidate is recommended with
no below-bar candidate kept beside it. Outcomes are drawn independently per candidate and seed.
Also today's one-candidate scenarios of benchmarks/decision_error_rate.py (cheap < mid 0.97 <
dear 0.99 in price).

    python benchmarks/many_candidates.py [--seeds 4000]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.decide._selection import Candidate, select  # noqa: E402

RULES = ("each_alone", "holm", "fixed_sequence")
FALLBACKS = 2


def simulate(truth: dict[str, float], costs: dict[str, float], n: int, threshold: float, confidence: float,
             seeds: int, good: str, rule: str) -> tuple[float, float]:
    """(wrong-pick rate, power) of `rule` over `seeds` seeded draws."""
    wrong = found = 0
    names = list(truth)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        cands = [Candidate(m, costs[m], successes=int(rng.binomial(n, truth[m])), n=n) for m in names]
        chosen = [v.name for v in select(cands, threshold, confidence, rule).qualifying()[: 1 + FALLBACKS]]
        bad = any(truth[m] < threshold for m in chosen)
        wrong += bad
        found += bool(chosen) and chosen[0] == good and not bad
    return wrong / seeds, found / seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4000)
    args = parser.parse_args()
    n, threshold, confidence = 200, 0.90, 0.95
    mc = 3 * math.sqrt(0.05 * 0.95 / args.seeds)
    print(f"n={n}, bar {threshold}, confidence {confidence}, {args.seeds} seeds "
          f"(Monte Carlo 3-sigma at 0.05: {mc:.3f}); wrong pick = a below-bar model recommended or kept as fallback")
    print(f"{'scenario':<38}" + "".join(f"{r:>26}" for r in RULES))
    print(f"{'':<38}" + "".join(f"{'wrong':>13}{'power':>13}" for _ in RULES))
    for count in (1, 3, 6, 10):
        truth = {f"cheap{i}": 0.895 for i in range(count)} | {"good": 0.97}
        costs = {f"cheap{i}": 0.001 * (1 + i / 100) for i in range(count)} | {"good": 0.01}
        row = [simulate(truth, costs, n, threshold, confidence, args.seeds, "good", r) for r in RULES]
        print(f"{f'{count} cheap at 0.895 + 1 at 0.97':<38}" + "".join(f"{w:>13.3f}{p:>13.3f}" for w, p in row))
    for true_cheap, n_cases in ((0.85, 200), (0.895, 200), (0.80, 400)):
        truth = {"cheap": true_cheap, "mid": 0.97, "dear": 0.99}
        costs = {"cheap": 0.001, "mid": 0.002, "dear": 0.01}
        row = [simulate(truth, costs, n_cases, threshold, confidence, args.seeds, "mid", r) for r in RULES]
        label = f"cheap {true_cheap} < mid 0.97 < dear 0.99, n={n_cases}"
        print(f"{label:<38}" + "".join(f"{w:>13.3f}{p:>13.3f}" for w, p in row))


if __name__ == "__main__":
    main()
