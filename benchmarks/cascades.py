"""Wrong-pick rate and savings of certified cascades, through the real decision code.

Each simulated task is a finite population of cases (20,000) on which every stage's outcome and
confidence is drawn once, so every policy's true quality is known exactly: a single model's is its
population mean, a cascade's at a threshold is the population mean of harness.decide._cascade.replay
at that threshold. A run of the task samples n cases from the population and decides with
`select_policies` (the module `recommend` calls), the family being every stage as a single
candidate plus every cascade; the recommendation is the cheapest qualifying policy (cascades by
their measured cost per call). A wrong pick is a recommended policy whose true quality is below
the bar; "any" counts a task where any qualifying policy (pick or fallback) is below it, which is
what the promise bounds.

Stages: cheap ones (cost 1, accuracy 0.55-0.9) and dear ones near the bar (cost 20, accuracy
bar - 0.03 to bar + 0.07, so three in ten dear models are below the bar). With an
informative confidence the cheap stage's probability is high on the cases it gets right
(Beta(12, 1)) and spread on the rest (Beta(3, 2)); uninformative, it is Beta(6, 1) whatever the
outcome. With C cascades per task, the cascades are cheap_i > dear_j over ceil(C / 2) cheap and
two dear stages (one dear stage when C = 1). Scores are pass/fail, or with `--scores continuous`
a wrong answer earns a partial score uniform in [0, 0.6] (the Hoeffding-Bentkus p-values).

With `--adaptive` the single candidates are decided as `tierwise run --adaptive` decides them:
the real stopping rule (decide/_sequential.adaptive_state) replayed over the sampled cases in
rounds of 10, cheapest first, its anytime-valid p-values entering the same chain procedure beside
the cascades (decided on every case, as an adaptive run runs their stages; "adaptive" row).

    python benchmarks/cascades.py [--tasks 400] [--n 400] [--scores pass_fail|continuous] [--adaptive]
    python benchmarks/cascades.py --smoke        # a few seconds: the same code, few tasks
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.decide._cascade import Cascade, Stage, replay, select_policies  # noqa: E402
from harness.decide._selection import Candidate  # noqa: E402
from harness.decide._sequential import AdaptivePlan, adaptive_candidates, adaptive_state  # noqa: E402

POPULATION = 20_000
GRID = (0.999, 0.995, 0.99, 0.98, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.0)  # the spec's default grid
CHEAP_COST, DEAR_COST = 1.0, 20.0


@dataclass
class Population:
    """Every stage's per-case score and confidence on the task's whole population."""

    names: list[str]
    cost: dict[str, float]
    scores: dict[str, np.ndarray]
    confidence: dict[str, np.ndarray]
    cascades: list[tuple[str, str]]


def population(rng: np.random.Generator, n_cascades: int, bar: float, informative: bool,
               continuous: bool) -> Population:
    n_cheap = max(1, math.ceil(n_cascades / 2))
    n_dear = 1 if n_cascades == 1 else 2
    names, cost, scores, conf = [], {}, {}, {}
    for kind, count in (("cheap", n_cheap), ("dear", n_dear)):
        for i in range(count):
            name = f"{kind}{i}"
            acc = rng.uniform(0.55, 0.9) if kind == "cheap" else min(0.999, bar + rng.uniform(-0.03, 0.07))
            right = rng.random(POPULATION) < acc
            partial = rng.uniform(0, 0.6, POPULATION) if continuous else np.zeros(POPULATION)
            scores[name] = np.where(right, 1.0, partial)
            if informative:
                conf[name] = np.where(right, rng.beta(12, 1, POPULATION), rng.beta(3, 2, POPULATION))
            else:
                conf[name] = rng.beta(6, 1, POPULATION)
            names.append(name)
            cost[name] = CHEAP_COST if kind == "cheap" else DEAR_COST
    pairs = [(f"cheap{i}", f"dear{j}") for j in range(n_dear) for i in range(n_cheap)][:n_cascades]
    return Population(names, cost, scores, conf, pairs)


def _cascade(pop: Population, pair: tuple[str, str], idx: np.ndarray | None) -> Cascade:
    take = (lambda a: a) if idx is None else (lambda a: a[idx])
    n = POPULATION if idx is None else len(idx)
    stages = [Stage(m, take(pop.scores[m]), np.zeros(n, dtype=bool), np.full(n, pop.cost[m]), np.full(n, 10.0),
                    take(pop.confidence[m]) if i == 0 else None) for i, m in enumerate(pair)]
    return Cascade(">".join(pair), stages, GRID)


def true_quality(pop: Population) -> dict[tuple[str, float | None], float]:
    """Every policy's true mean: singles at None, cascades at each grid threshold."""
    truth = {(m, None): float(pop.scores[m].mean()) for m in pop.names}
    for pair in pop.cascades:
        c = _cascade(pop, pair, None)
        for t in GRID:
            truth[(c.name, t)] = float(replay(c, t).scores.mean())
    return truth


def one_task(rng: np.random.Generator, n_cascades: int, informative: bool, n: int, continuous: bool,
             procedures: tuple[str, ...], confidence: float = 0.95) -> dict[str, dict[str, float]]:
    bar = float(rng.choice([0.85, 0.9]))
    pop = population(rng, n_cascades, bar, informative, continuous)
    truth = true_quality(pop)
    idx = rng.integers(0, POPULATION, n)
    singles = [Candidate(m, pop.cost[m], scores=pop.scores[m][idx]) for m in pop.names]
    cascades = [_cascade(pop, pair, idx) for pair in pop.cascades]
    out = {}
    for procedure in procedures:
        if procedure == "adaptive":
            plan = AdaptivePlan(threshold=bar, confidence=confidence, total=n,
                                family_size=len(pop.names) + len(cascades))
            state = adaptive_state({m: pop.scores[m][idx] for m in pop.names}, pop.cost, plan)
            sel = select_policies(adaptive_candidates(state, pop.cost, len(cascades)), cascades, bar, confidence)
        else:
            sel = select_policies(singles, cascades, bar, confidence, procedure)
        chosen = [(pop.cost[v.name], v.name, None) for v in sel.singles if v.qualifies]
        chosen += [(v.cost_per_call, v.name, v.threshold) for v in sel.cascades if v.qualifies]
        chosen.sort()
        below = [truth[(name, t)] < bar for _, name, t in chosen]
        pick = chosen[0] if chosen else None
        cascade = pick is not None and ">" in pick[1]  # only cascades' names hold ">"
        out[procedure] = {
            "wrong": float(bool(below) and below[0]),
            "any": float(any(below)),
            "cascade": float(cascade),
            "saving": 1 - pick[0] / DEAR_COST if cascade else math.nan,
            "none": float(pick is None),
        }
    return out


def scenario(n_cascades: int, informative: bool, tasks: int, n: int, continuous: bool,
             procedures: tuple[str, ...], seed: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    sums: dict[str, dict[str, list[float]]] = {p: {} for p in procedures}
    for _ in range(tasks):
        for p, figures in one_task(rng, n_cascades, informative, n, continuous, procedures).items():
            for k, v in figures.items():
                sums[p].setdefault(k, []).append(v)
    return {p: {k: float(np.nanmean(v)) if not all(math.isnan(x) for x in v) else math.nan
                for k, v in figs.items()} for p, figs in sums.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=400, help="simulated tasks per scenario")
    ap.add_argument("--n", type=int, default=400, help="golden cases per task")
    ap.add_argument("--scores", choices=("pass_fail", "continuous"), default="pass_fail")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="a few seconds: few tasks, the rule only")
    ap.add_argument("--adaptive", action="store_true", help="also decide the singles by the adaptive stopping rule")
    args = ap.parse_args(argv)
    tasks = 6 if args.smoke else args.tasks
    procedures = ("graph",) if args.smoke else ("graph", "holm_all", "naive")
    if args.adaptive:
        procedures += ("adaptive",)
    start = time.perf_counter()
    mc = 3 * math.sqrt(0.05 * 0.95 / tasks)
    print(f"{tasks} tasks per scenario, n = {args.n}, confidence 0.95 (1 - confidence = 0.05; Monte Carlo 3-sigma "
          f"at 0.05: {mc:.3f}), bars 0.85/0.90, {args.scores} scores, grid of {len(GRID)} thresholds")
    print("| cascades | confidence | procedure | wrong pick | any below bar qualifies | cascade picked "
          "| saving vs dear | nothing qualifies |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for k, n_cascades in enumerate((1, 5, 20)):
        for informative in (True, False):
            res = scenario(n_cascades, informative, tasks, args.n, args.scores == "continuous", procedures,
                           args.seed + 1000 * k + int(informative))
            for p in procedures:
                r = res[p]
                saving = "-" if math.isnan(r["saving"]) else f"{r['saving']:.1%}"
                print(f"| {n_cascades} | {'informative' if informative else 'uninformative'} | {p} | "
                      f"{r['wrong']:.3f} | {r['any']:.3f} | {r['cascade']:.1%} | {saving} | {r['none']:.1%} |")
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
