"""Measured (compute) prices: the spread's coverage, and whether load flips "cheapest".

Part 1, coverage: per-call costs drawn from a lognormal (sigma 0.5: right-skewed, as calls with
longer prompts or answers cost more) and from a normal; for n calls the 95 % t interval of
decide/_cost.py is built and checked against the true mean. Goal: coverage 0.93-0.96 at n >= 30.

Part 2, stability: two local models whose work costs 0.50 s and 1.35 s of compute per call
(about Qwen 0.5B and 1.5B), 100 calls each, each model evaluated in a period whose machine load
is drawn independently (a CPU-bound competitor present with probability 1/2, slowing wall time by
a factor drawn from [1.5, 4] and, through llama.cpp's spin-waiting, raising CPU time by a factor
drawn from [1.0, 1.15] — an assumption, not a measurement on llama.cpp). Priced on wall time, on
CPU time, and on CPU time with the tie rule: printed, how often the larger model was called the
cheaper one. Goal: 0 with CPU time.

    python benchmarks/cost_ties.py [--trials 4000] [--seed 1]
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np

from harness.decide._cost import cost_order_key, cost_spread


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


def stability(trials: int, rng: np.random.Generator) -> None:
    work = {"small": 0.50, "large": 1.35}
    size = {"small": 491_400_064, "large": 1_117_320_768}
    flips = {"wall": 0, "cpu": 0, "cpu+ties": 0}
    for _ in range(trials):
        priced = {"wall": {}, "cpu": {}}
        spread = {}
        for model, seconds in work.items():
            busy = rng.random() < 0.5
            slow, spin = (rng.uniform(1.5, 4.0), rng.uniform(1.0, 1.15)) if busy else (1.0, 1.0)
            cpu = seconds * rng.lognormal(0.0, 0.2, 100) * spin
            priced["cpu"][model] = cpu
            priced["wall"][model] = cpu / spin * slow
            spread[model] = cost_spread(cpu.tolist(), compute_priced=True)
        for basis in ("wall", "cpu"):
            flips[basis] += priced[basis]["large"].mean() < priced[basis]["small"].mean()
        results = [SimpleNamespace(model=m, cost_per_call=float(priced["cpu"][m].mean()), cost_spread=spread[m],
                                   weights_bytes=size[m], mean=1.0, adjusted_p=0.0) for m in work]
        flips["cpu+ties"] += sorted(results, key=cost_order_key(results))[0].model == "large"
    print(f"larger model called cheaper, of {trials} evaluations (goal 0 on CPU time)")
    for basis, count in flips.items():
        print(f"  priced on {basis:9s}: {count / trials:.3f}")


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
    stability(args.trials, rng)


if __name__ == "__main__":
    main()
