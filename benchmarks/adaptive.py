"""Adaptive evaluation against the full run: calls saved, same decision, wrong picks.

Simulated tasks of varied difficulty: K = 3-6 candidates on a price ladder, bar drawn from
{0.80, 0.85, 0.90, 0.95}, N drawn from {100, 200, 400} pass/fail cases. True pass rates rise
with price with noise: the j-th cheapest of K gets 0.55 + 0.45 u_(j) + N(0, 0.03) clipped to
[0, 1], where u_(1) <= ... <= u_(K) are sorted uniforms; so a task's cheapest models are usually
poor, its dearest usually good, and some land near the bar. Each candidate's N outcomes are drawn
once per task (independently across candidates); the full run sees all of them, the adaptive run
the prefixes its stopping rule asks for (decide/_sequential.py). Both decide with Holm (family K);
the decision is the pick plus its two fallbacks (the next cheapest qualifying).

With --scores continuous each case's score is drawn from Beta(4q, 4(1 - q)) (mean q, partial
credit as judges' scales and overlap graders give), bounded by the bootstrap at the end and by the
betting sequences on the way; --no-perfect-rest turns off the continuous-score futility stop
("even with every remaining case perfect its mean would be below the bar") to measure what it saves.

Printed: the share of calls the adaptive run made against the full run (K N per task), the share
of tasks with the same pick, with the same pick and fallbacks, and the wrong-pick rate (a
below-bar model picked or kept as fallback) of both. Goal: same decision in >= 95 % of tasks with
<= 40 % of the calls, and the wrong-pick rate <= 1 - confidence.

    python benchmarks/adaptive.py [--tasks 1000] [--round-size 10] [--efficacy-share 0.25]
                                  [--scores pass_fail|continuous] [--no-perfect-rest]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.decide._selection import Candidate, select  # noqa: E402
from harness.decide._sequential import AdaptivePlan, adaptive_state, final_selection  # noqa: E402

FALLBACKS = 2


def make_task(rng: np.random.Generator, scores: str = "pass_fail") -> dict:
    k = int(rng.integers(3, 7))
    threshold = float(rng.choice([0.80, 0.85, 0.90, 0.95]))
    n = int(rng.choice([100, 200, 400]))
    truth = np.clip(0.55 + 0.45 * np.sort(rng.random(k)) + rng.normal(0, 0.03, k), 0, 1)
    names = [f"m{j}" for j in range(k)]
    costs = {m: 0.001 * 3**j for j, m in enumerate(names)}
    if scores == "continuous":
        outcomes = {m: rng.beta(max(4 * q, 1e-3), max(4 * (1 - q), 1e-3), n) for m, q in zip(names, truth)}
    else:
        outcomes = {m: (rng.random(n) < q).astype(float) for m, q in zip(names, truth)}
    return {"threshold": threshold, "n": n, "truth": dict(zip(names, truth)), "costs": costs, "outcomes": outcomes}


def decision(selection) -> tuple[str, ...]:
    return tuple(v.name for v in selection.qualifying()[: 1 + FALLBACKS])


def run(tasks: int, confidence: float, round_size: int, share: float, futility: float | None, seed: int,
        scores: str = "pass_fail") -> None:
    rng = np.random.default_rng(seed)
    calls_ratio, same_pick, same_all, wrong_full, wrong_adapt, near = [], 0, 0, 0, 0, 0
    same_pick_near = 0
    started = time.perf_counter()
    for _ in range(tasks):
        t = make_task(rng, scores)
        thr, n, costs = t["threshold"], t["n"], t["costs"]
        evidence = [Candidate(m, costs[m], successes=int(x.sum()), n=n) if scores == "pass_fail"
                    else Candidate(m, costs[m], scores=x) for m, x in t["outcomes"].items()]
        full = select(evidence, thr, confidence, "holm")
        plan = AdaptivePlan(threshold=thr, confidence=confidence, total=n, family_size=len(costs),
                            round_size=round_size, needed=1 + FALLBACKS, efficacy_share=share,
                            futility_alpha=futility)
        # All outcomes are offered at once: looks happen at round boundaries only, so this replays
        # exactly what a run that fetched round by round would do, and counts only the cases used.
        state = adaptive_state(t["outcomes"], costs, plan)
        assert state.done
        adapt = final_selection(state, costs)
        d_full, d_adapt = decision(full), decision(adapt)
        calls_ratio.append(state.calls() / (n * len(costs)))
        same_pick += d_full[:1] == d_adapt[:1]
        same_all += d_full == d_adapt
        wrong_full += any(t["truth"][m] < thr for m in d_full)
        wrong_adapt += any(t["truth"][m] < thr for m in d_adapt)
        is_near = any(abs(q - thr) < 0.02 for q in t["truth"].values())
        near += is_near
        same_pick_near += is_near and d_full[:1] == d_adapt[:1]
    secs = time.perf_counter() - started
    print(f"{tasks} tasks ({scores} scores), confidence {confidence}, rounds of {round_size}, efficacy share {share}, "
          f"futility alpha {futility if futility is not None else 1 - confidence:g} ({secs:.0f} s)")
    print(f"  calls: adaptive made {np.mean(calls_ratio):.1%} of the full run's on average "
          f"(median {np.median(calls_ratio):.1%}, 90th percentile {np.percentile(calls_ratio, 90):.1%})")
    print(f"  same pick {same_pick / tasks:.1%}; same pick and fallbacks {same_all / tasks:.1%}")
    print(f"  tasks with a candidate within 0.02 of the bar: {near} ({near / tasks:.0%}); same pick there "
          f"{same_pick_near / max(1, near):.1%}")
    print(f"  wrong pick (below-bar model picked or kept as fallback): full {wrong_full / tasks:.3f}, "
          f"adaptive {wrong_adapt / tasks:.3f} (limit {1 - confidence:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--round-size", type=int, default=10)
    parser.add_argument("--efficacy-share", type=float, default=0.25)
    parser.add_argument("--futility-alpha", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scores", choices=["pass_fail", "continuous"], default="pass_fail")
    parser.add_argument("--no-perfect-rest", action="store_true",
                        help="turn off the continuous-score stop 'even a perfect rest cannot reach the bar'")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    if args.smoke:
        args.tasks = 12
    if args.no_perfect_rest:
        import math

        from harness.decide import _sequential

        _sequential.best_final_mean = lambda x, plan: math.inf
    run(args.tasks, args.confidence, args.round_size, args.efficacy_share, args.futility_alpha, args.seed,
        args.scores)


if __name__ == "__main__":
    main()
