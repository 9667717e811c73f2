"""How many cases a golden set needs: honest, power-based advice for pass/fail scores.

The question: "if the model's true pass rate is `true_rate`, how many cases make the decision
rule's test (one-sided exact binomial / Clopper-Pearson at the task's confidence) clear the
threshold with probability at least `power`?" The old advice assumed the observed rate would be
seen exactly (power about 50 %) and returned the first n that worked, though exact binomial power
is a sawtooth in n: one more case can LOWER the power, because the critical count moves in whole
steps. Here the answer is the smallest n such that EVERY n' >= n has power >= the target, so
"add cases until you reach n" never lands on a dip.

How the tail is certified: for n beyond the scanned range a Chernoff bound gives
power(n) >= 1 - exp(-n KL(u_n || true_rate)), where KL(u_n || threshold) = log(1/alpha) / n
(the critical rate is at most u_n). That lower bound increases with n, so once it reaches the
target it stays there; below that n, exact power is computed for every n (vectorised), and the
answer is one past the last n whose exact power falls short.

With several candidates tested together (Holm, see _selection.py) the level a candidate meets can
be as small as alpha / K; pass `confidence = 1 - alpha / K` for advice that holds however the
others fare. Continuous scores are out of scope (their power depends on the whole distribution).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy import special as _sp

from ..fmt import level

if TYPE_CHECKING:
    from ..project import Task
    from ._decision import CandidateResult

MAX_CASES = 100_000


def _check(threshold: float, confidence: float, true_rate: float, power: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    if not 0.0 <= true_rate <= 1.0:
        raise ValueError(f"true_rate must be in [0, 1], got {true_rate!r}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")


def critical_count(ns: np.ndarray, threshold: float, alpha: float) -> np.ndarray:
    """Smallest k with P(Binomial(n, threshold) >= k) <= alpha, per n (n + 1 when no k works).

    Passing k of n cases clears the threshold (exact lower bound >= threshold) exactly when
    k >= critical_count(n).
    """
    ns = np.asarray(ns, dtype=np.int64)
    lo = np.ones_like(ns)           # sf(k) at lo may be > alpha
    hi = ns + 1                     # k = n + 1: sf = 0 <= alpha, always "works"
    for _ in range(int(np.ceil(np.log2(max(2, int(ns.max()) + 2)))) + 1):
        mid = (lo + hi) // 2
        valid = mid <= ns
        with np.errstate(invalid="ignore"):
            sf = np.where(valid, _sp.betainc(np.maximum(mid, 1), np.maximum(ns - mid + 1, 1), threshold), 0.0)
        ok = sf <= alpha
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid + 1)
    # lo == hi now unless k = 1 already works; check k = 1 directly
    sf1 = _sp.betainc(1, ns, threshold)
    return np.where(sf1 <= alpha, 1, hi)


def power_curve(ns: np.ndarray, threshold: float, confidence: float, true_rate: float) -> np.ndarray:
    """Exact probability, per n, that a model of pass rate true_rate clears the threshold."""
    ns = np.asarray(ns, dtype=np.int64)
    k = critical_count(ns, threshold, 1 - confidence)
    with np.errstate(invalid="ignore"):
        pw = _sp.betainc(np.maximum(k, 1), np.maximum(ns - k + 1, 1), true_rate)
    return np.where(k > ns, 0.0, pw)


def power(n: int, threshold: float, confidence: float, true_rate: float) -> float:
    """Exact power of the one-sided exact binomial test at n cases (see power_curve)."""
    _check(threshold, confidence, true_rate, 0.5)
    if n < 1:
        return 0.0
    return float(power_curve(np.array([n]), threshold, confidence, true_rate)[0])


def _kl(u: np.ndarray | float, p: float) -> np.ndarray:
    """Bernoulli KL divergence KL(u || p), elementwise (inf where undefined)."""
    u = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(u > 0, u * np.log(u / p), 0.0) if p > 0 else np.where(u > 0, np.inf, 0.0)
        b = np.where(u < 1, (1 - u) * np.log((1 - u) / (1 - p)), 0.0) if p < 1 else np.where(u < 1, np.inf, 0.0)
    return a + b


def _chernoff_power(n: int, threshold: float, alpha: float, true_rate: float) -> float:
    """A lower bound on exact power at n that never decreases in n (see the module docstring)."""
    target = math.log(1 / alpha) / n
    if threshold <= 0:
        return 1.0
    if -math.log(threshold) <= target:  # even n of n passes cannot be certified by Chernoff
        return 0.0
    lo, hi = threshold, 1.0  # KL(u || threshold) increases on (threshold, 1)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if float(_kl(mid, threshold)) < target:
            lo = mid
        else:
            hi = mid
    u = hi
    if u >= true_rate:
        return 0.0
    return float(1 - math.exp(-n * float(_kl(u, true_rate))))


def cases_needed(threshold: float, confidence: float, true_rate: float, power: float = 0.8,
                 max_cases: int = MAX_CASES) -> int | None:
    """Smallest n such that every golden set of n' >= n cases clears the threshold with the given power.

    Returns None when true_rate <= threshold (no number of cases helps) or when the answer is
    above max_cases. Pass/fail scores, the exact one-sided test at `confidence`.
    """
    _check(threshold, confidence, true_rate, power)
    if true_rate <= threshold:
        return None
    alpha = 1 - confidence
    if threshold <= 0:
        return 1
    # n_c: the first n where the monotone Chernoff bound reaches the target (bisection; it is monotone)
    if _chernoff_power(max_cases, threshold, alpha, true_rate) < power:
        certified = None
    else:
        lo, hi = 1, max_cases
        while lo < hi:
            mid = (lo + hi) // 2
            if _chernoff_power(mid, threshold, alpha, true_rate) >= power:
                hi = mid
            else:
                lo = mid + 1
        certified = lo
    if certified is None:  # no n <= max_cases is certified for all larger n: "more than max_cases"
        return None
    ns = np.arange(1, certified + 1)
    short = np.flatnonzero(power_curve(ns, threshold, confidence, true_rate) < power)
    return 1 if len(short) == 0 else int(ns[short[-1]]) + 1


def sample_size_note(n: int, threshold: float, confidence: float, family: int = 1) -> str | None:
    """One-line advice when even a perfect score on n cases cannot clear the threshold at the
    level the procedure may ask of a candidate (1 - alpha / K with K candidates), else None."""
    conf = 1 - (1 - confidence) / max(1, family)
    needed = _cases_needed(threshold, conf, 1.0) if threshold < 1 else None
    if needed is not None and n >= needed:
        return None
    level = f"{_pct(confidence)} confidence" if family <= 1 else \
        f"{_pct(confidence)} confidence over {family} candidates (each may be held to {_pct(conf)})"
    head = f"{n} cases cannot show {threshold:g} at {level} even if all pass"
    if threshold >= 1:
        return f"{head}; no number of cases can, so lower the threshold below 1"
    if needed is None:
        return f"{head}; more than {MAX_CASES} are needed"
    return f"{head}; at least {needed} are needed"


@lru_cache(maxsize=1024)
def _cases_needed(threshold: float, confidence: float, true_rate: float, power: float = 0.8) -> int | None:
    return cases_needed(threshold, confidence, true_rate, power=power)


def _pct(x: float) -> str:
    return level(x, 4)


def near_miss(task: "Task", top: "CandidateResult", family: int) -> str | None:
    """When the best mean clears the bar but it did not qualify: how many cases would show a model
    that good with 80% power (not: how many would, if the observed mean were exactly the truth)."""
    spec = task.spec
    if top.method not in ("exact", "anytime", "anytime+exact") or not top.mean > spec.threshold or top.qualifies:
        return None
    conf = 1 - (1 - spec.confidence) / max(1, family)
    needed = _cases_needed(spec.threshold, conf, top.mean, 0.8)
    if needed is None or needed <= top.n:
        return None
    return (f"{top.model}'s mean {top.mean:.3f} is above {spec.threshold:g} but {top.n} cases cannot show it; "
            f"a model whose true rate is {top.mean:.3f} clears the bar with 80% power from {needed} cases on "
            f"(at {_pct(conf)}, the level Holm may ask with {family} candidates)")
