""""Cheaper and no worse" as a tested claim: one-sided paired non-inferiority.

A proposed model replaces an incumbent that already has results on the same golden cases. The
claim is "the proposed model is at most `margin` worse": with d = (true mean of proposed) -
(true mean of incumbent), the test is

    H0: d <= -margin   (the proposed model is worse by the margin or more)
    H1: d >  -margin   (non-inferior)

at one-sided level alpha = 1 - confidence. Non-inferiority is *shown* when H0 is rejected,
which is the same as the one-sided lower confidence bound for d lying above -margin. A
two-sided "no significant difference" is not this claim: with few cases it is "shown" by having
no power.

Pass/fail scores: Tango's score test for the difference of paired proportions (Tango 1998,
Stat. Med. 17:891-908). With b = cases only the proposed model passed and c = cases only the
incumbent passed, out of n pairs, and delta0 = -margin,

    Z = (b - c - n delta0) / sqrt(n (2 q + delta0 (1 - delta0)))

where q is the maximum-likelihood estimate of P(only the incumbent passes) under the
constraint d = delta0 (the positive root of 2n q^2 + (-(b + c) + (2n - b + c) delta0) q
- c delta0 (1 - delta0) = 0). p = 1 - Phi(Z). The lower bound is the score interval's: the
smallest delta0 that the test at alpha does not reject. With margin 0 Z is McNemar's z,
(b - c) / sqrt(b + c). Why this test: it uses the concordant pairs' information on the variance
(a conditional binomial test on the discordant pairs alone cannot express a margin on the
difference, whose null depends on the discordance rate), it needs no continuity fudge, and it is
the one regulators' guidance and the paired-proportion literature recommend for non-inferiority.
It is asymptotic: measured size at the margin in tests/decide/test_noninferiority.py (n = 100-400,
margin 0.02-0.05, discordance 5-30 %) is at most 0.05 + Monte Carlo error at a nominal 0.05;
with very few discordant pairs it is conservative.

Continuous scores: the one-sided t lower bound on the mean paired difference,
mean(d) - t_{n-1, 1-alpha} sd(d) / sqrt(n), with the matching t-test p-value. Paired differences
of bounded scores are bounded, so the central limit theorem applies quickly; measured size in
the tests is within Monte Carlo error of nominal at n >= 50 for skewed, lumpy score differences.
Deterministic (no resampling), so the gate's verdict does not move between runs.

Limits: the claim is about the mean over the golden set's population of cases; it says nothing
about a subgroup (a tag) on which the proposed model may be much worse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy import special as _sp


@dataclass(frozen=True)
class NonInferiority:
    """The result of a one-sided paired non-inferiority test (proposed vs incumbent)."""

    n: int
    diff: float          # observed mean(proposed) - mean(incumbent)
    lower: float         # one-sided lower confidence bound on the true difference
    margin: float
    confidence: float
    p_value: float       # for H0: true difference <= -margin
    shown: bool          # p_value <= 1 - confidence (equivalently lower > -margin)
    method: str          # tango_score | paired_t
    proposed_only: int | None = None   # pass/fail only: cases only the proposed model passed
    incumbent_only: int | None = None  # pass/fail only: cases only the incumbent passed

    def describe(self, proposed: str = "proposed", incumbent: str = "incumbent", required: bool = True) -> str:
        """One line for recommend, the report and the gate. `required`: the spec sets
        max_regression, so a change needs this shown; without it the line is information only
        and says so, rather than an alarming "NOT shown" about a test nothing asked for."""
        conf = f"{round(self.confidence * 100, 6):g}%"
        test = "Tango score test" if self.method == "tango_score" else "paired t"
        verdict = ("non-inferiority shown" if self.shown else "non-inferiority NOT shown" if required
                   else "a drop is not ruled out (information only: the spec sets no max_regression)")
        head = (f"{proposed} vs {incumbent} on {self.n} shared cases: difference {self.diff:+.3f}, "
                f"{conf} lower bound {self.lower:+.3f} vs margin {-self.margin or 0.0:g}; {verdict} "
                f"({test}, p={self.p_value:.3g})")
        if self.proposed_only is not None:
            head += f"; only {proposed} passed {self.proposed_only}, only {incumbent} passed {self.incumbent_only}"
        return head


def _check(margin: float, confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin!r}")


# --------------------------------------------------------------------------- pass/fail: Tango


def _restricted_q(b: int, c: int, n: int, delta0: float) -> float:
    """MLE of P(only the incumbent passes) given P(only proposed) - P(only incumbent) = delta0."""
    bb = -(b + c) + (2 * n - b + c) * delta0
    cc = -c * delta0 * (1 - delta0)
    disc = max(0.0, bb * bb - 8.0 * n * cc)
    return (-bb + math.sqrt(disc)) / (4.0 * n)


def tango_statistic(b: int, c: int, n: int, delta0: float) -> float:
    """Tango's score statistic for H0: P(only proposed) - P(only incumbent) = delta0."""
    q = _restricted_q(b, c, n, delta0)
    var = n * (2.0 * q + delta0 * (1.0 - delta0))
    num = b - c - n * delta0
    if var <= 0:
        return math.copysign(math.inf, num) if num else 0.0
    return num / math.sqrt(var)


def tango_noninferiority(proposed_only: int, incumbent_only: int, n: int, margin: float,
                         confidence: float = 0.95) -> NonInferiority:
    """Tango's one-sided score test of non-inferiority from the discordant counts of n pairs."""
    _check(margin, confidence)
    b, c = int(proposed_only), int(incumbent_only)
    if n < 0 or b < 0 or c < 0 or b + c > n:
        raise ValueError(f"need 0 <= proposed_only + incumbent_only <= n, got {b}, {c}, {n}")
    if n == 0:
        return NonInferiority(0, math.nan, -1.0, margin, confidence, 1.0, False, "tango_score", 0, 0)
    alpha = 1 - confidence
    z_stat = tango_statistic(b, c, n, -margin)
    p = float(_sp.ndtr(-z_stat))
    z = float(_sp.ndtri(confidence))
    # The lower bound: smallest delta0 with Z(delta0) <= z; Z decreases in delta0.
    lo, hi = -1.0, (b - c) / n
    if tango_statistic(b, c, n, lo + 1e-12) <= z:
        lower = -1.0
    else:
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if tango_statistic(b, c, n, mid) > z:
                lo = mid
            else:
                hi = mid
        lower = hi
    return NonInferiority(n=n, diff=(b - c) / n, lower=lower, margin=margin, confidence=confidence, p_value=p,
                          shown=p <= alpha, method="tango_score", proposed_only=b, incumbent_only=c)


# --------------------------------------------------------------------------- continuous: paired t


def paired_t_noninferiority(incumbent: Sequence[float], proposed: Sequence[float], margin: float,
                            confidence: float = 0.95) -> NonInferiority:
    """One-sided paired t lower bound and test of non-inferiority on the mean score difference."""
    _check(margin, confidence)
    d = _diffs(incumbent, proposed)
    n = len(d)
    alpha = 1 - confidence
    if n < 2:
        diff = float(d.mean()) if n else math.nan
        return NonInferiority(n, diff, -1.0, margin, confidence, 1.0, False, "paired_t")
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if sd == 0.0:  # every pair differs by the same amount: no spread to bound
        p = 0.0 if mean > -margin else 1.0
        return NonInferiority(n, mean, mean, margin, confidence, p, p <= alpha, "paired_t")
    se = sd / math.sqrt(n)
    lower = mean - float(_sp.stdtrit(n - 1, confidence)) * se
    p = float(_sp.stdtr(n - 1, -(mean + margin) / se))
    return NonInferiority(n, mean, max(-1.0, lower), margin, confidence, p, p <= alpha, "paired_t")


def _diffs(incumbent: Sequence[float], proposed: Sequence[float]) -> np.ndarray:
    a = np.asarray(incumbent, dtype=float).reshape(-1)
    b = np.asarray(proposed, dtype=float).reshape(-1)
    if len(a) != len(b):
        raise ValueError(f"paired scores differ in length: {len(a)} vs {len(b)}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("scores must be finite numbers (count failed calls as 0)")
    return b - a


# --------------------------------------------------------------------------- the entry point


def noninferiority(incumbent: Sequence[float], proposed: Sequence[float], margin: float,
                   confidence: float = 0.95) -> NonInferiority:
    """Non-inferiority of `proposed` against `incumbent` on the same cases, in the same order.

    Pass/fail scores (all 0 or 1 for both) use Tango's score test; anything else the paired t.
    """
    _check(margin, confidence)
    d = _diffs(incumbent, proposed)
    a = np.asarray(incumbent, dtype=float).reshape(-1)
    b = np.asarray(proposed, dtype=float).reshape(-1)
    binary = bool(np.all((a == 0) | (a == 1)) and np.all((b == 0) | (b == 1)))
    if binary:
        return tango_noninferiority(int(np.count_nonzero((b == 1) & (a == 0))),
                                    int(np.count_nonzero((a == 1) & (b == 0))), len(d), margin, confidence)
    return paired_t_noninferiority(a, b, margin, confidence)


@dataclass
class Comparison:
    """The proposed model against the current one on the same cases: one-sided non-inferiority."""

    current: str
    proposed: str
    n: int
    current_mean: float
    proposed_mean: float
    test: str           # tango_score (pass/fail) | paired_t (continuous)
    p_value: float      # for "the proposed model is worse by the margin or more"
    detail: str
    margin: float = 0.0
    confidence: float = 0.95
    diff: float = math.nan   # proposed - current
    lower: float = math.nan  # one-sided lower confidence bound on the difference
    shown: bool = False      # non-inferiority shown (lower > -margin)
    required: bool = False   # the spec sets max_regression: a change needs `shown`


def compare(frame: Any, current: str, proposed: str, margin: float = 0.0, confidence: float = 0.95,
            required: bool = False) -> Comparison | None:
    """One-sided paired non-inferiority of `proposed` against `current` on the cases both
    answered (per-case means with repeats): Tango's score test or the paired t."""
    a = _by_case(frame, current)
    b = _by_case(frame, proposed)
    common = a.index.intersection(b.index)
    if len(common) == 0:
        return None
    xa, xb = a.loc[common].to_numpy(dtype=float), b.loc[common].to_numpy(dtype=float)
    ni = noninferiority(xa, xb, margin=margin, confidence=confidence)
    detail = ni.describe(proposed, current, required)
    return Comparison(current, proposed, ni.n, float(xa.mean()), float(xb.mean()), ni.method, ni.p_value, detail,
                      margin=margin, confidence=confidence, diff=ni.diff, lower=ni.lower, shown=ni.shown,
                      required=required)


def _by_case(frame: Any, model: str) -> Any:
    rows = frame[frame["model"] == model]
    return rows["score"].fillna(0.0).clip(0, 1).groupby(rows["case_id"]).mean()
