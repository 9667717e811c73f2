"""Promotion from live traffic: an anytime-valid bound on how often a challenger disagrees.

The claim. For a task whose outputs are labels or canonical values and whose graders are a
function of (output, case), a challenger that gives the incumbent's output scores exactly what the
incumbent scores, and where they differ it loses at most 1. So if they disagree on a fraction d of
production calls, the challenger's mean score on production is at least the incumbent's minus d:

    P(the challenger is promoted while its disagreement rate d >= max_regression) <= 1 - confidence,

and promotion therefore shows non-inferiority by the spec's `max_regression` on live traffic,
without a single label. The stream may be looked at after every shadowed call: the guarantee is
over the whole stream, not at one n fixed in advance.

Procedure. Each shadowed call gives one Bernoulli outcome: 1 if the challenger's output differs from
the incumbent's (a challenger error counts as a disagreement; a call where the incumbent failed is
not a comparison and is left out). For a rate m, the test of "d >= m" is the one-sided
beta-binomial mixture martingale of Howard, Ramdas, McAuliffe & Sekhon (2021), "Time-uniform,
nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2), Prop. 7 / Robbins (1970):
with A_t agreements in t calls and p = 1 - m,

    M_t(m) = int_{theta >= p} (theta/p)^A_t ((1 - theta)/(1 - p))^(t - A_t) dpi(theta) / pi([p, 1]),

pi a beta prior centred on p whose width is tuned to be tightest near `t_opt` calls (their
conjugate-mixture tuning, rho = v_opt / (2 log(1/2a) + log(1 + 2 log(1/2a))), v_opt = p(1-p)t_opt).
If every call's disagreement probability is at least m, M_t(m) is a nonnegative supermartingale
with M_0 = 1, so by Ville's inequality P(exists t: M_t(m) >= 1/alpha) <= alpha. Hence
- promotion (`promotion`): promote at the first t with M_t(max_regression) >= 1/alpha; the error
  bound above follows at once, however often one looks and whenever one stops;
- the upper confidence sequence (`disagreement_upper`): U_t = inf{u : M_t(m) >= 1/alpha for every
  m >= u}, P(exists t: d > U_t) <= alpha, shown beside the margin ("disagreement <= 0.031 at 95%").
  U_t < max_regression exactly when the test at the margin rejects (the rejections are nested in m;
  tests/decide/test_live.py checks it on a grid). Closed form (incomplete beta), O(1) per look.
Checked against confseq's reference values for its one-sided BetaBinomialMixture (g = 0.2, v_opt =
100, alpha_opt = 0.05: log M = -0.07134019 at s = 10, v = 100; boundary s = 28.41238), and by
simulation in benchmarks/shadow.py and tests/decide/test_live.py.

Alternatives rejected.
- Waudby-Smith & Ramdas's betting CS (_sequential.py, used offline) is valid here too, but it has no
  closed form: every look is a bisection over the whole stream (O(t) per look, O(t^2) to watch a
  stream), and for 0/1 outcomes the conjugate mixture is the likelihood-ratio construction itself.
- A fixed-n Clopper-Pearson bound re-checked after every call: looking as calls arrive inflates its
  error far above alpha (the reason for a confidence sequence at all).
- Comparing each model's score on the calls: needs labels production does not have.

Limits. The bound is on disagreement, so it is conservative: a challenger that fixes the
incumbent's mistakes disagrees too. It needs outputs that compare by equality (labels, canonical
JSON); open-ended text needs the pairwise judge instead. The guarantee assumes the shadowed calls are
a sample of traffic chosen without regard to their outputs (a sampling rate, a budget or a full queue
that drops calls by time, not by content), and that the disagreement probability of every call is at
least m under "d >= m" (true for i.i.d. traffic; a mix whose rate drifts below the margin part of
the time is not covered). Promotion says nothing about cost or latency, which are measured apart.

Pure functions over numbers; bad arguments raise ValueError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special as _sp

T_OPT = 500  # calls at which the mixture is tuned to be tightest: promotion usually needs hundreds


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _mixture_r(rate: float, t_opt: float, alpha_opt: float) -> float:
    """The prior's precision r: the one-sided normal mixture's best rho at v_opt, less g h."""
    g, h = rate, 1.0 - rate
    l2 = 2 * math.log(1 / (2 * alpha_opt))  # one-sided: the two-sided tuning at 2 alpha
    rho = g * h * t_opt / (l2 + math.log(1 + l2))
    return max(rho - g * h, 1e-3 * g * h)


def _log_incomplete_beta(a: np.ndarray | float, b: np.ndarray | float, x: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(_sp.betainc(a, b, x)) + _sp.betaln(a, b)


def mixture_log_wealth(successes: np.ndarray | float, n: np.ndarray | float, rate: float,
                       t_opt: float = T_OPT, alpha_opt: float = 0.05) -> np.ndarray:
    """log M_n: evidence against "the rate is at most `rate`" after `successes` in `n` (vectorised).

    The one-sided beta-binomial mixture of Howard et al. (2021) in confseq's parametrisation
    (g = rate, h = 1 - rate); a supermartingale in n whenever each outcome's probability of
    success given the past is at most `rate`. -inf when the data point the other way entirely.
    """
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate!r}")
    s = np.asarray(successes, dtype=float)
    t = np.asarray(n, dtype=float)
    if np.any(s < 0) or np.any(s > t):
        raise ValueError("need 0 <= successes <= n")
    g, h = rate, 1.0 - rate
    r = _mixture_r(rate, t_opt, alpha_opt)
    a, b = r / g, r / h  # Beta(a, b) on 1 - theta, truncated to [0, h]: theta >= rate
    return (-s * math.log(g) - (t - s) * math.log(h)
            + _log_incomplete_beta(a + t - s, b + s, h) - _log_incomplete_beta(a, b, h))


def _rejects_at_least(disagreements: float, n: float, m: float, alpha: float, t_opt: float) -> bool:
    """True when "disagreement rate >= m" is rejected at level alpha after these counts."""
    if m >= 1.0:
        return disagreements < n  # a rate of 1 is refuted by any agreement
    if m <= 0.0:
        return False
    return bool(mixture_log_wealth(n - disagreements, n, 1.0 - m, t_opt, alpha) >= math.log(1 / alpha))


def disagreement_upper(disagreements: int, n: int, confidence: float, t_opt: float = T_OPT) -> float:
    """U_t: the upper confidence sequence on the disagreement rate after `disagreements` in `n`.

    P(the true rate ever exceeds U_t over the stream) <= 1 - confidence. 1.0 with no calls.
    """
    alpha = 1 - confidence
    _check_alpha(alpha)
    if n < 0 or not 0 <= disagreements <= n:
        raise ValueError(f"need 0 <= disagreements <= n, got {disagreements}, {n}")
    if n == 0 or disagreements == n:
        return 1.0
    lo, hi = disagreements / n, 1.0  # rates above hi are rejected; lo is not
    if not _rejects_at_least(disagreements, n, 1 - 1e-9, alpha, t_opt):
        return 1.0
    while hi - lo > 1e-7:
        mid = 0.5 * (lo + hi)
        if _rejects_at_least(disagreements, n, mid, alpha, t_opt):
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Promotion:
    """Where a challenger stands on live traffic against its margin; `text` is the line to show."""

    n: int                  # shadowed calls compared
    disagreements: int
    margin: float           # the spec's max_regression
    confidence: float
    upper: float            # U_n: the upper confidence sequence on the disagreement rate
    promoted: bool          # the test at the margin rejected at some look
    since: int | None       # the call (1-based) at which it first did
    text: str

    @property
    def rate(self) -> float:
        return self.disagreements / self.n if self.n else math.nan


def promotion(disagree: Sequence[bool | int], margin: float, confidence: float, t_opt: float = T_OPT) -> Promotion:
    """Replay a challenger's shadow stream (1 = disagreed, in call order) against `margin`.

    Promoted from the first call at which "disagreement >= margin" is rejected; the chance of that
    ever happening when the true rate is at least `margin` is at most 1 - confidence.
    """
    alpha = 1 - confidence
    _check_alpha(alpha)
    if not 0.0 < margin < 1.0:
        raise ValueError(f"margin must be in (0, 1), got {margin!r}")
    x = np.asarray(disagree, dtype=float).reshape(-1)
    if np.any((x != 0) & (x != 1)):
        raise ValueError("disagree must be 0/1 outcomes")
    n, d = len(x), int(x.sum())
    since = None
    if n:
        t = np.arange(1, n + 1)
        wealth = mixture_log_wealth(t - np.cumsum(x), t, 1.0 - margin, t_opt, alpha)
        hit = np.flatnonzero(wealth >= math.log(1 / alpha))
        since = int(hit[0]) + 1 if len(hit) else None
    upper = disagreement_upper(d, n, confidence, t_opt)
    pct = f"{confidence:.0%}"
    if since is not None:
        text = (f"non-inferior on live traffic (disagreement < {margin:g} at {pct}) since shadowed call {since}; "
                f"now {d}/{n} disagree, upper bound {upper:.3f}")
    elif n == 0:
        text = "no shadowed calls yet"
    else:
        text = f"not shown yet: disagreement {d}/{n}, upper bound {upper:.3f} >= {margin:g} at {pct}"
    return Promotion(n, d, margin, confidence, upper, since is not None, since, text)
