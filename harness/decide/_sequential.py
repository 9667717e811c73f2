"""Adaptive evaluation: anytime-valid confidence sequences and a stopping rule that keeps the promise.

Confidence sequences (CS). A fixed-n bound is valid at the one n chosen in advance; looking after
every round and stopping when it looks good breaks it. A confidence sequence is valid at every n
at once: P(the true mean ever leaves the sequence) <= alpha, so it may be checked after each
round and the run stopped whenever it settles the question.

The one used here is the betting ("capital process") CS of Waudby-Smith & Ramdas (2023),
"Estimating means of bounded random variables by betting", JRSSB 86(1), with their predictable
plug-in bets. For a candidate mean m and scores x_1, x_2, ... in [0, 1]:

    K_t(m) = prod_{i <= t} (1 + lambda_i(m) (x_i - m)),
    lambda_i(m) = min(lambda_i, c / m),
    lambda_i = sqrt(2 log(1/alpha) / (s2_{i-1} i log(1 + i)))

where s2_{i-1} is the running variance of the scores before case i, regularised by one pseudo
observation (mean 1/2, variance 1/4), and c = 1/2 the paper's truncation. If the true mean is at
most m, K_t(m) is a nonnegative supermartingale with K_0 = 1, so by Ville's inequality
P(exists t: K_t(m) >= 1/alpha) <= alpha. Hence:
- lower sequence L_t = inf{m : max_{s <= t} K_s(m) < 1/alpha}: P(exists t: mean < L_t) <= alpha
  (K is non-increasing in m, so L_t is found by bisection);
- upper sequence U_t = 1 - (the lower sequence of the scores 1 - x);
- anytime p-value for "mean <= m": p_t = min(1, 1 / max_{s <= t} K_s(m)), valid at ANY random
  time, stopping time or not: P(p_tau <= a) <= a.
Checked against the `confseq` package (its betting_mart and betting_lower_cs with the same bets)
in tests/decide/test_sequential.py.

Assumption: the cases arrive in an order that does not depend on their outcomes, and each case is
a draw from the task's population of cases. The golden-set file may be sorted (easy cases first):
run cases in a seeded random order, the same for every candidate (`case_order`).

The stopping rule (`adaptive_state`) for K candidates, threshold t, alpha = 1 - confidence:
- cheapest first: only the `needed` cheapest candidates still in play are run (the pick plus its
  fallbacks; default 3); a dearer one starts only when a cheaper one drops out;
- in rounds of `round_size` cases, after each round a running candidate
  * QUALIFIES when its anytime p-value p_any <= r alpha / K (r = `efficacy_share`), i.e. its lower
    sequence at level r alpha / K is >= t;
  * CANNOT QUALIFY when its upper sequence at level `futility_alpha` is < t
    ("stopped at 60 of 200: upper bound 0.81 < 0.90"), or (pass/fail scores) when even at that
    upper bound the chance that the fixed-n test on all N cases clears the bar is below
    `futility_power` (conditional power; "stopped at 60 of 200: even at its upper bound 0.874
    it would clear 0.9 at 200 with probability 1.2%"), or (continuous scores, which have no
    exact conditional law) when even a perfect score on every remaining case would leave its mean
    over the N cases below t (`best_final_mean`: "stopped at 40 of 100: even with every remaining
    case perfect its mean at 100 would be 0.899 < 0.9");
  * else runs on, up to all N cases;
- a candidate never started because `needed` cheaper candidates qualified is NOT NEEDED.
The final verdict (`final_selection`) is Holm's step-down (see _selection.py) over the K
candidates with, for each, the p-value

    p_i = min(p_any / r, p_fixed / (1 - r))   if it ran all N cases,
    p_i = p_any / r                           otherwise (1.0 if never run),

where p_fixed is the fixed-n p-value on all N cases (exact binomial, or the bootstrap's for
continuous scores). p_i is a valid p-value under ANY stopping rule: P(p_i <= a) <=
P(p_any <= r a) + P(p_fixed <= (1 - r) a) <= a, because p_any is valid at any time and p_fixed is
valid for the N outcomes whether or not a run reaches them. Holm then keeps
P(any candidate below the bar qualifies) <= alpha for every K, adaptively or not. A candidate
that stopped as QUALIFIED has p_i <= alpha / K and so always qualifies under Holm. Futility and
"not needed" stops only remove chances to qualify, so they cost power, never validity.

Measured (benchmarks/adaptive.py, 1000 simulated tasks of 3-6 candidates, bars 0.80-0.95,
N = 100-400, confidence 0.95, rounds of 10, needed 3): the adaptive run made 33.1 % of the full
run's calls on average (median 30.0 %), reached the same pick in 98.7 % of tasks and the same pick
and fallbacks in 98.3 %, with wrong picks 0.001 (full run 0.002; limit 0.05). Rounds of 20 made
36.3 % (median 33.3 %) with the same agreement: a hopeless candidate is dropped after 10 cases
instead of 20, and the looks themselves cost no validity (the p-values hold at any stopping time).
With continuous scores (`--scores continuous`: per-case scores Beta(4q, 4(1 - q))): 33.2 % of the
calls (33.9 % without the perfect-rest stop), same pick 98.9 % with or without it, wrong picks
0.000 (full run 0.001); the stop costs power only where a running mean that stays below the bar
would still have qualified (a betting or bootstrap bound above its own mean), which it did not.
r = 0.25 was chosen on that benchmark: r = 0.5 saved no more calls and agreed less (94 %), because
most calls go to candidates near the bar, which no rule can settle early.

Repeats (`repeats: k`): the case is the unit. Each case's k scores are averaged first
(_adaptive.observed here, _rule.case_scores for a full run), and every bound here, and the
fixed-n ones, runs on the per-case means: those are i.i.d. draws in [0, 1] whatever the
correlation between repeats of one case, so the guarantees above hold for the mean over cases of
each case's expected score (the bootstrap over case means is the cluster bootstrap). Treating the
n k samples as independent would overstate the evidence by up to a factor k when repeats agree
(tests/decide/test_recommend.py simulates it).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np

from scipy import special as _sp

from ..util import below
from ._sample_size import critical_count
from ._selection import Candidate, Selection, select
from .stats import BootstrapBound, binomial_p_value

TRUNCATION = 0.5  # c in lambda_i(m) = min(lambda_i, c / m); the paper's default


# --------------------------------------------------------------------------- confidence sequences


def _as_unit_scores(x: Sequence[float]) -> np.ndarray:
    a = np.asarray(x, dtype=float).reshape(-1)
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        raise ValueError("scores must be finite numbers in [0, 1]")
    return a


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def predictable_bets(x: Sequence[float], alpha: float) -> np.ndarray:
    """The predictable plug-in bets lambda_1..lambda_n (each uses only the scores before it)."""
    _check_alpha(alpha)
    x = _as_unit_scores(x)
    t = np.arange(1, len(x) + 1)
    mean_t = np.minimum((0.5 + np.cumsum(x)) / (t + 1), 1.0)
    var_t = (0.25 + np.cumsum((x - mean_t) ** 2)) / (t + 1)
    var_before = np.concatenate(([0.25], var_t[:-1]))
    return np.sqrt(2 * math.log(1 / alpha) / (t * np.log(1 + t) * var_before))


def capital_process(x: Sequence[float], m: float, alpha: float, truncation: float = TRUNCATION) -> np.ndarray:
    """K_1(m)..K_n(m): the wealth of betting that the mean exceeds m (a test supermartingale if not)."""
    x = _as_unit_scores(x)
    if not 0.0 < m < 1.0:
        raise ValueError(f"m must be in (0, 1), got {m!r}")
    lam = np.minimum(predictable_bets(x, alpha), truncation / m)
    return np.cumprod(1 + lam * (x - m))


def anytime_p_value(x: Sequence[float], m: float, alpha: float, truncation: float = TRUNCATION) -> float:
    """Anytime-valid p-value for "mean <= m" after the scores x: min(1, 1 / max_s K_s(m)).

    `alpha` only tunes the bets (use the level you will compare p with); validity holds for any.
    """
    x = _as_unit_scores(x)
    if m <= 0:
        return 0.0 if len(x) else 1.0  # a mean in [0, 1] cannot be below 0: only "no data" is no evidence
    if m >= 1 or len(x) == 0:
        return 1.0
    return float(min(1.0, 1.0 / np.max(capital_process(x, m, alpha, truncation))))


def _lower_at(x: np.ndarray, lam: np.ndarray, alpha: float, truncation: float) -> float:
    """L_t for all of x: inf{m : max_s K_s(m) < 1/alpha}, by bisection (K is non-increasing in m)."""
    if len(x) == 0:
        return 0.0
    bar = 1 / alpha

    def crosses(m: float) -> bool:
        return bool(np.max(np.cumprod(1 + np.minimum(lam, truncation / m) * (x - m))) >= bar)

    lo, hi = 0.0, 1.0  # every m < lo is rejected; hi is not
    if not crosses(1e-12):
        return 0.0
    lo = 1e-12
    while hi - lo > 1e-7:  # far below the 3 decimals shown
        mid = 0.5 * (lo + hi)
        if crosses(mid):
            lo = mid
        else:
            hi = mid
    return lo


def lower_bound(x: Sequence[float], alpha: float, truncation: float = TRUNCATION,
                tune: float | None = None) -> float:
    """The lower confidence sequence's value after all of x (running intersection included);
    `tune` only tunes the bets (default: alpha), as in anytime_p_value."""
    _check_alpha(alpha)
    a = _as_unit_scores(x)
    return _lower_at(a, predictable_bets(a, alpha if tune is None else tune), alpha, truncation)


def upper_bound(x: Sequence[float], alpha: float, truncation: float = TRUNCATION) -> float:
    """The upper confidence sequence's value after all of x: 1 - lower_bound(1 - x)."""
    return 1.0 - lower_bound(1.0 - _as_unit_scores(x), alpha, truncation)


def lower_sequence(x: Sequence[float], alpha: float, truncation: float = TRUNCATION) -> np.ndarray:
    """L_1..L_n; P(the true mean is ever below L_t) <= alpha."""
    _check_alpha(alpha)
    a = _as_unit_scores(x)
    lam = predictable_bets(a, alpha)  # bets at time t use only x_1..x_{t-1}: prefixes agree
    return np.array([_lower_at(a[:t], lam[:t], alpha, truncation) for t in range(1, len(a) + 1)])


def upper_sequence(x: Sequence[float], alpha: float, truncation: float = TRUNCATION) -> np.ndarray:
    """U_1..U_n; P(the true mean is ever above U_t) <= alpha."""
    return 1.0 - lower_sequence(1.0 - _as_unit_scores(x), alpha, truncation)


# --------------------------------------------------------------------------- case order


def case_order(case_ids: Sequence[str], salt: str = "") -> list[str]:
    """A seeded random order of the cases, stable across runs and machines (crc32 of salt:id)."""
    return sorted(case_ids, key=lambda c: (zlib.crc32(f"{salt}:{c}".encode()), c))


# --------------------------------------------------------------------------- the stopping rule


@dataclass(frozen=True)
class AdaptivePlan:
    """The settings of one task's adaptive run. `family_size` K counts every candidate of the task."""

    threshold: float
    confidence: float
    total: int                     # N: cases in the golden set (per-case means when repeated)
    family_size: int
    round_size: int = 10
    needed: int = 3                # candidates the decision uses: the pick plus its fallbacks
    efficacy_share: float = 0.25   # r: share of each candidate's alpha spent on stopping early to qualify
    futility_alpha: float | None = None  # level of the upper sequence; default 1 - confidence
    futility_power: float = 0.05   # pass/fail: stop when, even at its upper bound, qualifying at N is this unlikely

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence!r}")
        if self.total < 1 or self.family_size < 1 or self.round_size < 1 or self.needed < 1:
            raise ValueError("total, family_size, round_size and needed must be >= 1")
        if not 0.0 < self.efficacy_share < 1.0:
            raise ValueError(f"efficacy_share must be in (0, 1), got {self.efficacy_share!r}")

    @property
    def alpha(self) -> float:
        return 1 - self.confidence

    @property
    def efficacy_alpha(self) -> float:
        """The anytime level at which a candidate stops early as qualified: r alpha / K."""
        return self.efficacy_share * self.alpha / self.family_size

    @property
    def upper_alpha(self) -> float:
        return self.futility_alpha if self.futility_alpha is not None else self.alpha

StopStatus = Literal["waiting", "running", "qualified", "cannot_qualify", "undecided", "not_needed"]


@dataclass(frozen=True)
class Stop:
    """Where one candidate stands in an adaptive run; `text` is the line the report shows."""

    name: str
    status: StopStatus
    cases_run: int
    cases_total: int
    lower: float         # lower sequence at the efficacy level, at cases_run
    upper: float         # upper sequence at the futility level, at cases_run
    p_value: float       # the valid combined p-value the final Holm step uses
    text: str
    mean: float = math.nan


@dataclass(frozen=True)
class AdaptiveState:
    """The replayed state of an adaptive run and what to run next (nothing when `done`)."""

    plan: AdaptivePlan
    stops: dict[str, Stop]
    next_cases: dict[str, int] = field(default_factory=dict)  # candidate -> how many more cases to run

    @property
    def done(self) -> bool:
        return not any(self.next_cases.values())

    def calls(self) -> int:
        return sum(s.cases_run for s in self.stops.values())


def _fixed_p(x: np.ndarray, threshold: float) -> float:
    if np.all((x == 0) | (x == 1)):
        return binomial_p_value(int(x.sum()), len(x), threshold)
    return BootstrapBound(x).p_value(threshold)


def _combined_p(x: np.ndarray, plan: AdaptivePlan) -> float:
    r = plan.efficacy_share
    if len(x) == 0:
        return 1.0
    p = anytime_p_value(x, plan.threshold, plan.efficacy_alpha) / r
    if len(x) >= plan.total:
        p = min(p, _fixed_p(x[: plan.total], plan.threshold) / (1 - r))
    return float(min(1.0, p))


def conditional_power(x: np.ndarray, plan: AdaptivePlan, rate: float) -> float | None:
    """P(the fixed-n test at N clears the bar | the pass/fail outcomes x so far, true rate `rate`).

    The level is the most generous the final Holm step can give, (1 - r) alpha. None for
    continuous scores (no exact conditional law). A futility rule built on it only removes
    chances to qualify, so it never weakens the error guarantee; it costs power only when the
    true rate is above `rate` (here the upper confidence sequence, so rarely).
    """
    if not np.all((x == 0) | (x == 1)):
        return None
    n, big_n = len(x), plan.total
    k = int(x.sum())
    need = int(critical_count(np.array([big_n]), plan.threshold, (1 - plan.efficacy_share) * plan.alpha)[0]) - k
    rest = big_n - n
    if need <= 0:
        return 1.0
    if need > rest:
        return 0.0
    return float(_sp.betainc(need, rest - need + 1, min(1.0, max(0.0, rate))))


def best_final_mean(x: np.ndarray, plan: AdaptivePlan) -> float:
    """The mean over all N cases if every case not yet run scored 1: no later look, and not the
    final one, can see a higher running mean. Below the bar, the candidate is stopped (continuous
    scores, which have no conditional power here; pass/fail ones are stopped earlier by it)."""
    return (float(np.sum(x)) + max(0, plan.total - len(x))) / plan.total


def _judge(name: str, x: np.ndarray, plan: AdaptivePlan) -> Stop:
    """Status of a started candidate after the cases x (a look at a round boundary)."""
    n, big_n, t = len(x), plan.total, plan.threshold
    p_comb = _combined_p(x, plan)
    lower = lower_bound(x, plan.efficacy_alpha)
    upper = upper_bound(x, plan.upper_alpha)
    where = f"at {n} of {big_n}"
    mean = float(x.mean())
    if p_comb <= plan.alpha / plan.family_size:
        why = (f"lower bound {below(lower)} >= {t:g}" if n < big_n
               else f"p={p_comb:.3g} <= {plan.alpha / plan.family_size:.3g}")
        return Stop(name, "qualified", n, big_n, lower, upper, p_comb, f"qualified {where}: {why}", mean)
    if upper < t:
        return Stop(name, "cannot_qualify", n, big_n, lower, upper, p_comb,
                    f"stopped {where}: upper bound {below(upper)} < {t:g}", mean)
    chance = conditional_power(x, plan, upper)
    if chance is not None and chance < plan.futility_power:
        return Stop(name, "cannot_qualify", n, big_n, lower, upper, p_comb,
                    f"stopped {where}: even at its upper bound {upper:.3f} it would clear {t:g} at {big_n} "
                    f"with probability {chance:.1%}", mean)
    if chance is None and (best := best_final_mean(x, plan)) < t:
        return Stop(name, "cannot_qualify", n, big_n, lower, upper, p_comb,
                    f"stopped {where}: even with every remaining case perfect its mean at {big_n} would be "
                    f"{below(best)} < {t:g}", mean)
    if n >= big_n:
        return Stop(name, "undecided", n, big_n, lower, upper, p_comb,
                    f"ran all {big_n}: the final step decides (p={p_comb:.3g})", mean)
    return Stop(name, "running", n, big_n, lower, upper, p_comb,
                f"running, {where}: mean {mean:.3f}, bounds {lower:.3f} to {upper:.3f} against {t:g}", mean)


def adaptive_state(observed: Mapping[str, Sequence[float]], costs: Mapping[str, float | None],
                   plan: AdaptivePlan) -> AdaptiveState:
    """Replay an adaptive run from the scores stored so far and say what to run next.

    `observed[name]`: the candidate's scores (per-case means with repeats) for the first cases in
    `case_order`, in that order; `costs` orders the ladder (None last). A pure function of the
    stored results: re-running it after a crash resumes exactly where the run stopped. Looks are
    at round boundaries only, so extra stored cases (say from an earlier full run) do not change
    when a candidate stopped; they are simply not used past its stop.
    """
    names = sorted(costs, key=lambda n: (costs[n] is None, costs[n] or 0.0, n))
    if len(names) > plan.family_size:
        raise ValueError(f"{len(names)} candidates but family_size={plan.family_size}")
    data = {n: _as_unit_scores(observed.get(n, ())) for n in names}
    used = {n: 0 for n in names}
    status: dict[str, Stop] = {}
    while True:
        in_play = []  # the `needed` cheapest candidates that can still qualify
        for n in names:
            s = status.get(n)
            if (s is None or s.status not in ("cannot_qualify", "undecided")) and len(in_play) < plan.needed:
                in_play.append(n)
        active = [n for n in in_play if status.get(n) is None or status[n].status == "running"]
        if not active:
            break
        want = {n: min(plan.total, used[n] + plan.round_size) for n in active}
        lacking = {n: want[n] - len(data[n]) for n in active if len(data[n]) < want[n]}
        if lacking:
            for n in names:  # a candidate this round starts is running, not waiting for anyone
                status.setdefault(n, Stop(n, "running", used[n], plan.total, 0.0, 1.0, 1.0,
                                          f"starting, {want[n]} of {plan.total} cases this round")
                                  if n in active else _waiting(n, plan))
            return AdaptiveState(plan, status, lacking)
        for n in active:
            used[n] = want[n]
            status[n] = _judge(n, data[n][: used[n]], plan)
    for n in names:
        if n not in status:
            status[n] = Stop(n, "not_needed", 0, plan.total, 0.0, 1.0, 1.0,
                             f"not run: {plan.needed} cheaper candidate{'s' if plan.needed != 1 else ''} "
                             f"settled the decision")
    return AdaptiveState(plan, status, {})


def _waiting(name: str, plan: AdaptivePlan) -> Stop:
    return Stop(name, "waiting", 0, plan.total, 0.0, 1.0, 1.0, "waiting for cheaper candidates")


def final_selection(state: AdaptiveState, costs: Mapping[str, float | None]) -> Selection:
    """Holm's step-down over the adaptive run's valid p-values: who qualifies, with FWER <= alpha."""
    plan = state.plan
    return select(adaptive_candidates(state, costs), plan.threshold, plan.confidence, procedure="holm")


def adaptive_candidates(state: AdaptiveState, costs: Mapping[str, float | None], cascades: int = 0
                        ) -> list[Candidate]:
    """The adaptive run's candidates as p-value evidence (valid under its stopping rule), plus one
    untested member (p = 1) for each member of the family that is neither one of them nor one of
    the `cascades` chains decided beside them (decide/_cascade.py)."""
    cands = [Candidate(name=s.name, cost=costs.get(s.name), p_value=s.p_value, n=s.cases_run,
                       mean=s.mean) for s in state.stops.values()]
    missing = state.plan.family_size - len(cands) - cascades
    cands += [Candidate(name=f"(unrun {i + 1})", cost=None, p_value=1.0, n=0) for i in range(max(0, missing))]
    return cands
