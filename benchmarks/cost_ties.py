"""The spread of a per_hour price (decide/_cost.py): does its 95 % interval cover the mean?

Per-call costs drawn from a lognormal (sigma 0.5: right-skewed, as calls with longer prompts or
answers cost more) and from a normal; for n calls the 95 % t interval of decide/_cost.py is
built and checked against the true mean. Goal: coverage 0.93-0.96 at n >= 30. (Whether load
moves a local model's price: benchmarks/local_price_under_load.py, on real models.)

    python benchmarks/cost_ties.py [--trials 4000] [--seed 1]

Measured (2000 trials): lognormal 0.920 / 0.936 / 0.945 and normal 0.941 / 0.948 / 0.937 at
n = 10 / 30 / 100.
"""

from __future__ import annotations

import argparse
import numpy as np

from harness.decide._cost import cost_spread


def coverage(trials: int, rng: np.random.Generator) -> None:
    print("t-interval coverage of the mean cost per call (goal 0.93-0.96 at n >= 30)")
    for label, draw, mean in (("lognormal s=0.5", lambda n: rng.lognormal(0.0, 0.5, n), float(np.exp(0.125))),
                              ("normal", lambda n: rng.normal(1.0, 0.2, n), 1.0)):
        for n in (10, 30, 100):
            hits = 0
            for _ in range(trials):
                costs = draw(n)
                half = cost_spread(costs.tolist(), compute_priced=True)
                hits += abs(costs.mean() - mean) <= half
            print(f"  {label:16s} n={n:4d}: {hits / trials:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    if args.smoke:
        args.trials = 100
    rng = np.random.default_rng(args.seed)
    coverage(args.trials, rng)


if __name__ == "__main__":
    main()
