"""Which candidates qualify, with the error promise kept however many candidates a task has.

The claim a recommendation makes is "this model's true mean score is at least the threshold".
Testing each candidate alone at the task's confidence c keeps that promise for one candidate,
but with K candidates just under the bar the chance that *some* clears by luck grows with K:
at n = 200, bar 0.90, c = 0.95 a candidate whose true score is 0.895 clears about 2 % of the
time, so ten of them make a wrong pick about 18 % of the time.

This module tests the K hypotheses H0_i: "the true mean score of candidate i is below the
threshold" together and controls the family-wise error rate (FWER):

    P(any candidate whose true mean is below the threshold qualifies) <= 1 - c,

for every K and under ANY dependence between the candidates (they are scored on the same
cases, so their results are dependent). The recommendation and every fallback are taken from
the qualifying set, so none of them is below the bar except with probability <= 1 - c.

Procedure: Holm's step-down (Holm 1979, Scand. J. Statist. 6:65-70) on one-sided per-candidate
p-values. Sort the p-values p_(1) <= ... <= p_(K); reject H0_(1), H0_(2), ... while
p_(j) <= alpha / (K - j + 1), and stop at the first that fails. It needs no order fixed in
advance and is uniformly more powerful than Bonferroni (each at alpha / K).

Why not fixed-sequence testing down the price ladder? It tests candidates in a pre-set order at
the full alpha and stops at the first that fails. Cheapest first is the natural order, but cheap
models are usually the bad ones: the first cheap candidate below the bar stops the sequence and
the good dearer model behind it is never tested. In benchmarks/many_candidates.py (n = 200, bar
0.90, c = 0.95, 1-10 cheap candidates at 0.895 beside one at 0.97, 4000 seeds) fixed-sequence
never found the good model (0 %), Holm found it in 90-96 % of seeds, and both kept the wrong-pick
rate within 5 % (Holm 1.0-2.4 %; today's rule 2.1 % with one cheap candidate, 17.6 % with ten). Dearest first fails the other way (one dear model that breaks the output format hides
every cheaper one). Hochberg and Hommel are more powerful than Holm but need positive dependence
(PRDS) between the p-values, which paired LLM results need not have; Holm needs nothing.
`fixed_sequence` is still provided (and `each_alone`, today's rule) so the benchmark can show the
comparison.

p-values (one-sided, H0: mean < threshold):
- pass/fail scores: the exact binomial p-value P(Binomial(n, threshold) >= successes), the test
  dual to the one-sided Clopper-Pearson bound: p <= alpha exactly when the Clopper-Pearson lower
  bound at confidence 1 - alpha is >= threshold. Valid at every n (stats.binomial_p_value).
- continuous scores in [0, 1]: the p-value dual to the widened BCa bootstrap lower bound
  (stats.BootstrapBound, the one bootstrap the decision uses): p <= alpha exactly when
  that bound at 1 - alpha is >= threshold. It inherits that bound's limits (approximate; measured
  coverage 0.90-0.97 at a nominal 0.95 for n = 10-50), and at the small levels Holm uses with many
  candidates the bootstrap tail is less accurate still. With one candidate Holm, fixed-sequence and
  each-alone all reduce to today's rule exactly.
- a p-value computed elsewhere (for instance the anytime-valid one of an adaptive run, see
  _sequential.py) can be passed in as `Candidate.p_value`; Holm is valid for any valid p-values.

The family: pass every candidate that has results, decided before looking at the scores, and
apply the other qualifying conditions (error rate, latency, a known price) AFTER this procedure:
removing candidates from the qualifying set can only lower the error. Dropping candidates from
the family because their scores look bad would break the guarantee.

Pure functions over numbers; bad arguments raise ValueError (programming errors, not user input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..util import below
from .stats import BootstrapBound, binomial_p_value, check_confidence, clopper_pearson_lower, is_binary

PROCEDURES = ("holm", "fixed_sequence", "each_alone")
PROCEDURE_NAMES = {
    "holm": "Holm step-down",
    "fixed_sequence": "fixed-sequence, cheapest first",
    "each_alone": "each candidate alone (no multiplicity control)",
}


# --------------------------------------------------------------------------- inputs and outputs


@dataclass(frozen=True)
class Candidate:
    """One candidate's evidence: pass/fail counts, or scores, or a ready p-value.

    Give exactly one of: `successes` and `n` (pass/fail); `scores` (any scores in [0, 1]; all
    0/1 scores are treated as pass/fail); `p_value` (with `n` and `mean` for display).
    `cost` orders the price ladder (None sorts last).
    """

    name: str
    cost: float | None = None
    successes: int | None = None
    n: int | None = None
    scores: Sequence[float] | None = None
    p_value: float | None = None
    mean: float | None = None


@dataclass(frozen=True)
class Verdict:
    """The procedure's verdict on one candidate.

    `p_value` is the candidate's own one-sided p-value for "true mean < threshold";
    `adjusted_p` the procedure's adjusted p-value (qualifies exactly when adjusted_p <= alpha);
    `level` the significance level its p-value was compared with (None when the procedure
    stopped before reaching it); `lower` its lower confidence bound at confidence 1 - level
    (at 1 - alpha / K when not reached), the bound a report can show beside the threshold.
    """

    name: str
    cost: float | None
    n: int
    mean: float
    method: str  # exact | bootstrap | given
    p_value: float
    adjusted_p: float
    level: float | None
    lower: float
    qualifies: bool
    why_not: str = ""


@dataclass(frozen=True)
class Selection:
    """The verdicts of one procedure over a task's candidates (in the order given)."""

    procedure: str
    threshold: float
    confidence: float
    verdicts: list[Verdict] = field(default_factory=list)

    def cascade_rows(self) -> list[dict]:
        """Cascades' verdicts as plain data: none in a family of single candidates (decide/_cascade.py's
        PolicySelection has them)."""
        return []

    @property
    def family_size(self) -> int:
        return len(self.verdicts)

    def qualifying(self) -> list[Verdict]:
        """Qualifying candidates, cheapest first (unknown cost last): pick and fallbacks."""
        return sorted((v for v in self.verdicts if v.qualifies),
                      key=lambda v: (v.cost is None, v.cost if v.cost is not None else 0.0, v.name))

    def describe(self) -> str:
        """One line for `recommend` and the report: which procedure decided, and its promise."""
        alpha = 1 - self.confidence
        k = self.family_size
        if self.procedure == "each_alone":
            return (f"{PROCEDURE_NAMES['each_alone']}: each tested at {_pct(alpha)}; with {k} candidates "
                    f"the chance that one below {self.threshold:g} qualifies can exceed {_pct(alpha)}")
        return (f"{PROCEDURE_NAMES[self.procedure]} over {k} candidate{'s' if k != 1 else ''}: the chance that "
                f"any candidate below {self.threshold:g} qualifies is at most {_pct(alpha)}")


# --------------------------------------------------------------------------- one candidate's evidence


class _Evidence:
    """p-value and bound-at-level for one candidate, whatever form its evidence came in."""

    def __init__(self, c: Candidate, threshold: float):
        given = [c.scores is not None, c.successes is not None, c.p_value is not None]
        if sum(given) != 1:
            raise ValueError(f"candidate {c.name!r}: give exactly one of scores, successes/n or p_value")
        self.boot: BootstrapBound | None = None
        if c.p_value is not None:
            if not 0.0 <= c.p_value <= 1.0:
                raise ValueError(f"candidate {c.name!r}: p_value must be in [0, 1], got {c.p_value!r}")
            self.method, self.p = "given", float(c.p_value)
            self.n = int(c.n or 0)
            self.mean = float(c.mean) if c.mean is not None else math.nan
            return
        if c.successes is not None:
            if c.n is None:
                raise ValueError(f"candidate {c.name!r}: successes needs n")
            self.k, self.n = int(c.successes), int(c.n)
            self.method = "exact"
        else:
            x = np.asarray(c.scores, dtype=float).reshape(-1)
            if len(x) and (np.any(x < 0) or np.any(x > 1) or not np.all(np.isfinite(x))):
                raise ValueError(f"candidate {c.name!r}: scores must be in [0, 1]")
            self.n = len(x)
            if is_binary(x):
                self.k, self.method = int(x.sum()), "exact"
            else:
                self.method, self.boot = "bootstrap", BootstrapBound(x)
                self.mean = float(x.mean())
        if self.method == "exact":
            self.mean = self.k / self.n if self.n else math.nan
            self.p = binomial_p_value(self.k, self.n, threshold)
        else:
            assert self.boot is not None
            self.p = self.boot.p_value(threshold)

    def lower(self, level: float) -> float:
        """Lower bound at confidence 1 - level (nan for a given p-value: no bound to show)."""
        if self.method == "given":
            return math.nan
        if self.method == "exact":
            return clopper_pearson_lower(self.k, self.n, 1 - level) if self.n else 0.0
        assert self.boot is not None
        return self.boot.lower(1 - level)


# --------------------------------------------------------------------------- procedures on p-values


def holm(p_values: Sequence[float], alpha: float) -> tuple[list[float], list[float | None], list[bool]]:
    """Holm's step-down: (adjusted p-values, level each p was compared with or None, rejected).

    Rejected exactly when adjusted p <= alpha. FWER <= alpha under any dependence.
    """
    p = [float(v) for v in p_values]
    k = len(p)
    order = sorted(range(k), key=lambda i: (p[i], i))
    adjusted = [1.0] * k
    levels: list[float | None] = [None] * k
    rejected = [False] * k
    running, stopped = 0.0, False
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * p[i]))
        adjusted[i] = running
        if not stopped:
            levels[i] = alpha / (k - rank)
            if p[i] <= levels[i]:
                rejected[i] = True
            else:
                stopped = True
    return adjusted, levels, rejected


def fixed_sequence(p_values: Sequence[float], order: Sequence[int], alpha: float
                   ) -> tuple[list[float], list[float | None], list[bool]]:
    """Fixed-sequence test in `order`, each at alpha, stopping at the first non-rejection.

    FWER <= alpha provided `order` is fixed without looking at the results (here: price).
    Adjusted p-value of the j-th in order: the largest p-value up to it.
    """
    p = [float(v) for v in p_values]
    if sorted(order) != list(range(len(p))):
        raise ValueError("order must be a permutation of the candidates' indices")
    adjusted = [1.0] * len(p)
    levels: list[float | None] = [None] * len(p)
    rejected = [False] * len(p)
    running, stopped = 0.0, False
    for i in order:
        running = max(running, p[i])
        adjusted[i] = running
        if not stopped:
            levels[i] = alpha
            if p[i] <= alpha:
                rejected[i] = True
            else:
                stopped = True
    return adjusted, levels, rejected


# --------------------------------------------------------------------------- the entry point


def _pct(x: float) -> str:
    return f"{round(x * 100, 6):g}%"


def _price_order(candidates: Sequence[Candidate]) -> list[int]:
    return sorted(range(len(candidates)),
                  key=lambda i: (candidates[i].cost is None, candidates[i].cost or 0.0, candidates[i].name))


def select(candidates: Sequence[Candidate], threshold: float, confidence: float,
           procedure: str = "holm") -> Selection:
    """Test every candidate's "true mean >= threshold" together; return who qualifies and why.

    `procedure`: "holm" (default; FWER <= 1 - confidence for any number of candidates and any
    dependence), "fixed_sequence" (cheapest first; the same guarantee, little power when cheap
    candidates are bad) or "each_alone" (today's rule; the guarantee holds per candidate only).
    The recommender takes `Selection.qualifying()` (cheapest first) for the pick and fallbacks,
    after also applying its error-rate, latency and price conditions.
    """
    check_confidence(confidence)
    if procedure not in PROCEDURES:
        raise ValueError(f"procedure must be one of {', '.join(PROCEDURES)}, got {procedure!r}")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise ValueError("candidate names must be unique")
    alpha = 1 - confidence
    ev = [_Evidence(c, threshold) for c in candidates]
    pv = [e.p for e in ev]
    if procedure == "holm":
        adjusted, levels, rejected = holm(pv, alpha)
    elif procedure == "fixed_sequence":
        adjusted, levels, rejected = fixed_sequence(pv, _price_order(candidates), alpha)
    else:
        adjusted, levels, rejected = list(pv), [alpha] * len(pv), [p <= alpha for p in pv]
    first_stop = _first_stop(candidates, pv, levels, rejected)
    verdicts = []
    for c, e, adj, lev, rej in zip(candidates, ev, adjusted, levels, rejected):
        shown_level = lev if lev is not None else alpha / max(1, len(candidates))
        lower = e.lower(shown_level)
        verdicts.append(Verdict(name=c.name, cost=c.cost, n=e.n, mean=e.mean, method=e.method, p_value=e.p,
                                adjusted_p=adj, level=lev, lower=lower, qualifies=rej,
                                why_not="" if rej else _why_not(e, lower, lev, threshold, first_stop)))
    return Selection(procedure=procedure, threshold=threshold, confidence=confidence, verdicts=verdicts)


def _first_stop(candidates, pv, levels, rejected) -> str | None:
    """Name of the candidate at which a step-wise procedure stopped, if it did."""
    stops = [i for i, (lev, rej) in enumerate(zip(levels, rejected)) if lev is not None and not rej]
    if not stops:
        return None
    return candidates[min(stops, key=lambda i: pv[i])].name if len(stops) == 1 else None


def _why_not(e: _Evidence, lower: float, level: float | None, threshold: float, stop: str | None) -> str:
    if e.n == 0 and e.method != "given":
        return "no results"
    if level is None:
        return f"not tested: the procedure stopped at {stop} first" if stop else "not tested: the procedure stopped"
    conf = _pct(1 - level)
    if e.method == "given":
        return f"p={e.p:.3g} > {level:.3g}"
    return f"lower bound {below(lower)} < {threshold:g} at {conf} (mean {e.mean:.3f}, n={e.n}, p={e.p:.3g})"
