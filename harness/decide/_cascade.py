"""Certified cascades: which cascades qualify, at which deferral threshold, inside the same promise.

The claim. A cascade [s_1, …, s_S] answers a case with the first stage whose answer is not
deferred (a stage defers when one of its signals fires: abstain, contract, check, agreement, a
failed call, or its confidence below a threshold lambda; the last stage always answers). Its score
on a case is the score of the stage that answered; its quality Q(lambda) is the true mean of that.
Tierwise recommends the cheapest policy, single model or (cascade, lambda-hat), among those that
qualify, and promises, as docs/decisions.md does for single models:

    P(any qualifying policy has true quality below the threshold) <= 1 - confidence,

for any number of single candidates and cascades, any dependence between them (they share cases
and stages), and any relation between confidence and correctness (an uninformative confidence
costs power, never the promise).

Evaluation makes no new calls: stage i's per-case score, deferral signals, cost and latency come
from its stored results on the same cases, and the cascade at any lambda is replayed from them.

The procedure. Each cascade with a `confidence` stage has a grid lambda_1 > lambda_2 > … > lambda_J
fixed in the spec before any score is seen (most deferring first; _cascade_spec.DEFAULT_GRID), and
a chain of hypotheses H_{c,j}: "Q_c(lambda_j) < threshold"; a cascade without one has a chain of
one. A single candidate is a chain of one. With alpha = 1 - confidence and A the number of
*active* chains (a single not yet qualified, a cascade not yet at the end of its chain):

    repeat: take the active chain whose current hypothesis has the smallest p-value p;
            if p > alpha / A: stop;
            reject it (a single qualifies; a cascade qualifies at that lambda and moves to its
            next grid point, or leaves the active set if that was its last).

A cascade's chosen lambda-hat is its last rejected grid point (the least deferring certified).
A policy of the family that is not tested (a cascade that cannot be decided, a suggested cascade
not tried: _cascade_data.py) is a chain of one with p-value 1: it stays active, so it counts in
every level, and never qualifies.
This is Learn-then-Test's fixed-sequence testing down each grid (Angelopoulos, Bates, Candès,
Jordan, Lei 2021, "Learn then Test: calibrating predictive algorithms to achieve risk control",
arXiv:2110.01052, section on fixed-sequence testing) combined across chains by the
sequentially rejective graph of Bretz, Maurer, Brannath, Posch 2009 (Stat. Med. 28:586-604) whose
weights are equal and pass on equally: with only single candidates it is exactly Holm's step-down
(_selection.py), with one cascade alone it is LTT's fixed sequence at alpha.

Proof of the promise. Call a chain *dangerous* if it holds a true null (a single below the bar; a
cascade with some lambda_j of Q_c(lambda_j) < bar), m0 the number of dangerous chains, and q_c the
p-value of chain c's FIRST true null (valid: P(q_c <= u) <= u). A chain's hypotheses are only
reached in order, so a chain never rejects a true null without first rejecting its first one.
Let E = {q_c > alpha / m0 for every dangerous chain c}; by the union bound P(not E) <= alpha. On
E, suppose some true null is rejected and take the first time one is; it is a chain's first true
null. Until then no dangerous chain has left the active set (a single leaves only by rejecting its
null; a cascade leaves only past the end of its chain, which passes its first true null), so
A >= m0 and the test was q_c <= alpha / A <= alpha / m0, contradicting E. So P(any true null
rejected) <= alpha. A wrong recommendation needs one: a single below the bar that qualifies has
its null rejected, and a cascade whose lambda-hat has Q < bar had H_{c, lambda-hat} rejected.
Neither monotone Q in lambda nor independence is used. Conditions applied after the procedure
(error rate, latency, price) only remove policies, which cannot add an error.

p-values, one-sided, H0: "mean score < threshold", each valid at every n:
- pass/fail scores: exact binomial, P(Binomial(n, threshold) >= successes) (_selection.py);
- continuous scores in [0, 1]: min(1, 2 min(p_HB, p_bet)), Bonferroni over two valid tests:
  Hoeffding-Bentkus (Bates, Angelopoulos, Lei, Malik, Jordan 2021, "Distribution-free,
  risk-controlling prediction sets", J. ACM 68(6), Prop. 3 and 4), on the loss 1 - score with risk
  level 1 - threshold: min(exp(-n h(r ^ a, a)), e P(Bin(n, a) <= ceil(n r))), r the mean loss,
  a = 1 - threshold, h(x, a) = x log(x/a) + (1-x) log((1-x)/(1-a)); and the betting test
  (Waudby-Smith & Ramdas 2024, JRSS-B 86(1); _sequential.py), 1 / max_t K_t(threshold) over the
  cases in the seeded order, which learns the scores' variance (HB sees only their mean and is as
  loose as the worst variance: titles at 0.52 on 50 cases, HB 0.156, betting 0.0014). Single
  candidates with continuous scores keep _selection.py's bootstrap p-value (approximate; its limit
  is stated there); a cascade uses these because LTT needs p-values valid at every grid point.

Alternatives, measured by benchmarks/cascades.py (400 simulated tasks per row, n = 400, bars
0.85/0.90, confidence 0.95, dear stages at bar - 0.03 … bar + 0.07; table in docs/decisions.md):
- "naive" tests each grid point alone at alpha and takes the least deferring that passes (how a
  router tunes its threshold). With 20 cascades a below-bar policy qualified in 10.7 % of tasks
  (informative confidence) and 10.5 % (uninformative), against 0.0 % for this procedure: rejected.
- "holm_all" puts every (cascade, lambda) pair into one Holm family. Valid (at most 0.7 % in every
  row), and with an informative confidence it picked a cascade in 81-96 % of tasks against 38-51 %
  here: this chain starts at the most deferring point, nearly the dear stage alone, so a dear stage
  that cannot be shown above the bar stops the chain even where the cascade is better than it.
  With an uninformative confidence this procedure picked more (26-41 % against 19-38 %). Kept as
  the brief's procedure (LTT's fixed sequence); the power trade-off is a measured follow-up.
- Testing up the grid from the least deferring end: at lambda = 0 the cheap stage answers
  everything, the point most likely to fail, and a fixed sequence stops at its first failure.

Limits: the grid is one threshold shared by every `confidence` stage of a cascade. A case a stage
has no probability for is deferred at every lambda. The per-stage deferral rates are shown with
two-sided Clopper-Pearson intervals at the task's confidence, computed at the chosen lambda-hat on
the same cases that chose it (descriptive, not a selection-adjusted interval). A cascade is
evaluated on every golden case (an adaptive run runs its stages wherever the cascade can reach,
_cascade_data.cascade_needs), so its case set is fixed, as the guarantee assumes.

Pure functions over numbers; bad arguments raise ValueError (programming errors, not user input).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import special as _sp

from ..util import below
from ._selection import Candidate, _Evidence
from .stats import binomial_p_value, clopper_pearson_lower, is_binary

PROCEDURES = ("graph", "holm_all", "naive")


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Stage:
    """One stage's stored results on the cascade's cases (one entry per case, same order).

    `defers`: a signal other than confidence fired (abstain, contract, check, agreement) or the
    call failed; `confidence`: the probability of its answer (nan where unknown), or None when
    the stage does not defer on confidence. The last stage's `defers`/`confidence` are ignored.
    """

    name: str
    scores: Sequence[float]
    defers: Sequence[bool]
    cost: Sequence[float]
    latency_ms: Sequence[float]
    confidence: Sequence[float] | None = None
    errors: Sequence[bool] | None = None  # the call failed; the last stage's make the cascade's error rate


@dataclass(frozen=True)
class Cascade:
    """A cascade's stages and its grid (most deferring first; () when no stage uses confidence)."""

    name: str
    stages: Sequence[Stage]
    grid: Sequence[float] = ()
    cases: Sequence[str] = ()  # the case ids, in the stages' order (for paired comparisons); may be empty

    def __post_init__(self) -> None:
        if len(self.stages) < 2:
            raise ValueError(f"cascade {self.name!r}: needs at least two stages")
        n = {len(s.scores) for s in self.stages} | {len(s.defers) for s in self.stages} \
            | {len(s.cost) for s in self.stages} | {len(s.latency_ms) for s in self.stages} \
            | {len(s.confidence) for s in self.stages if s.confidence is not None} \
            | {len(s.errors) for s in self.stages if s.errors is not None} | ({len(self.cases)} if self.cases else set())
        if len(n) != 1:
            raise ValueError(f"cascade {self.name!r}: every stage needs one value per case, for the same cases")
        if any(a <= b for a, b in zip(self.grid, self.grid[1:])):
            raise ValueError(f"cascade {self.name!r}: grid must be strictly decreasing")
        if bool(self.grid) != any(s.confidence is not None for s in self.stages[:-1]):
            raise ValueError(f"cascade {self.name!r}: a grid goes with a confidence stage, and only with one")

    @property
    def n(self) -> int:
        return len(self.stages[0].scores)

    @property
    def points(self) -> list[float | None]:
        """The chain's thresholds in testing order; [None] for a cascade without confidence."""
        return list(self.grid) if self.grid else [None]


@dataclass(frozen=True)
class Replay:
    """The cascade replayed at one threshold: who answered each case, and what it cost."""

    answered_by: np.ndarray  # stage index per case
    scores: np.ndarray
    cost: np.ndarray          # per case: every stage it passed through
    latency_ms: np.ndarray    # per case: the stages' latencies added up


def replay(cascade: Cascade, threshold: float | None) -> Replay:
    """Run the cascade over its stored stage results at `threshold` (no new calls)."""
    n, last = cascade.n, len(cascade.stages) - 1
    answered = np.full(n, last)
    open_ = np.ones(n, dtype=bool)  # not answered yet
    cost, latency = np.zeros(n), np.zeros(n)
    for i, s in enumerate(cascade.stages):
        cost += np.where(open_, np.asarray(s.cost, dtype=float), 0.0)
        latency += np.where(open_, np.asarray(s.latency_ms, dtype=float), 0.0)
        if i == last:
            break
        defer = np.asarray(s.defers, dtype=bool).copy()
        if s.confidence is not None and threshold is not None:
            conf = np.asarray(s.confidence, dtype=float)
            defer |= ~(conf >= threshold)  # an unknown (nan) probability defers
        answers = open_ & ~defer
        answered[answers] = i
        open_ &= defer
    stage_scores = np.stack([np.asarray(s.scores, dtype=float) for s in cascade.stages])
    return Replay(answered, stage_scores[answered, np.arange(n)], cost, latency)


# --------------------------------------------------------------------------- p-values


def hoeffding_bentkus_p_value(mean: float, n: int, threshold: float) -> float:
    """Hoeffding-Bentkus p-value for H0 "true mean < threshold" from n scores in [0, 1] with this mean.

    Valid at every n for independent scores bounded in [0, 1] (Bates et al. 2021, above). No cases
    is no evidence (1.0); a threshold <= 0 is met by anything (0.0); a threshold of 1 can never be
    shown (1.0).
    """
    if n < 0 or not 0.0 <= mean <= 1.0:
        raise ValueError(f"need n >= 0 and a mean in [0, 1], got n={n}, mean={mean!r}")
    if threshold <= 0:
        return 0.0
    if n == 0 or threshold >= 1:
        return 1.0
    risk, allowed = 1.0 - mean, 1.0 - threshold
    x = min(risk, allowed)
    h = float(_sp.xlogy(x, x / allowed) + _sp.xlogy(1 - x, (1 - x) / (1 - allowed)))
    hoeffding = math.exp(-n * h)
    k = math.ceil(round(n * risk, 9))  # n * risk is a count of lost points; round off float noise
    bentkus = math.e * float(_sp.bdtr(k, n, allowed))
    return min(1.0, hoeffding, bentkus)


def hoeffding_bentkus_lower(mean: float, n: int, confidence: float) -> float:
    """The lower bound dual to hoeffding_bentkus_p_value: the largest t with p(t) <= 1 - confidence."""
    alpha = 1 - confidence
    if n == 0 or hoeffding_bentkus_p_value(mean, n, 1e-12) > alpha:
        return 0.0
    lo, hi = 1e-12, mean  # p(t) is non-decreasing in t, and p(mean) = 1
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if hoeffding_bentkus_p_value(mean, n, mid) <= alpha else (lo, mid)
    return lo


CONTINUOUS_METHOD = "hoeffding-bentkus + betting"


def continuous_p_value(scores: np.ndarray, threshold: float, tune: float) -> float:
    """p-value for H0 "true mean < threshold" from scores in [0, 1], valid at every n: twice the
    smaller of the Hoeffding-Bentkus p-value and the betting one (Bonferroni over the two).

    HB sees only the mean, so it is as loose as the worst variance allows: on titles whose scores
    sit in [0.25, 1] around 0.52, 50 cases gave HB p = 0.156 where the betting test, which learns
    the variance as it goes, gave 0.0014. Betting (Waudby-Smith & Ramdas 2024, "Estimating means of
    bounded random variables by betting", JRSS-B 86(1); _sequential.anytime_p_value, the adaptive
    runs' own test) is valid for any bets fixed before each score, in a case order fixed before
    any score (the seeded order); `tune` only tunes the bets. Which of the two is smaller is not
    known in advance, so both are paid for: min(1, 2 min(p_HB, p_bet)) is valid whichever it is.
    """
    from ._sequential import anytime_p_value

    scores = np.asarray(scores, dtype=float)
    hb = hoeffding_bentkus_p_value(float(scores.mean()) if len(scores) else 0.0, len(scores), threshold)
    bet = anytime_p_value(scores, threshold, tune)
    return min(1.0, 2 * min(hb, bet))


def continuous_lower(scores: np.ndarray, level: float, tune: float) -> float:
    """The lower bound dual to continuous_p_value at `level`: the larger of HB's and the betting
    sequence's bound, each at level / 2."""
    from ._sequential import lower_bound

    scores = np.asarray(scores, dtype=float)
    if not len(scores):
        return 0.0
    hb = hoeffding_bentkus_lower(float(scores.mean()), len(scores), 1 - level / 2)
    return max(hb, lower_bound(scores, level / 2, tune=tune))


def _p_and_lower(scores: np.ndarray, threshold: float, tune: float):
    """(p-value, bound function of a level, method) for one replayed score vector (in the seeded
    case order); `tune`: the level the betting test's bets are tuned to (continuous scores)."""
    n = len(scores)
    if is_binary(scores):
        k = int(scores.sum())
        return binomial_p_value(k, n, threshold), \
            (lambda level: clopper_pearson_lower(k, n, 1 - level) if n else 0.0), "exact"
    return continuous_p_value(scores, threshold, tune), \
        (lambda level: continuous_lower(scores, level, tune)), CONTINUOUS_METHOD


# --------------------------------------------------------------------------- the procedure


def chain_procedure(chains: Sequence[Sequence[float]], alpha: float
                    ) -> tuple[list[list[float | None]], list[list[bool]]]:
    """The sequentially rejective test over chains of p-values (each tested in its order).

    Returns per chain the level each hypothesis was compared with (None: never reached) and
    whether it was rejected; as in Holm, the comparison that stopped the procedure keeps its
    level. A hypothesis is only rejected after every earlier one in its chain. FWER <= alpha under
    any dependence (proof in the module docstring); chains of length one make this Holm.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    at = [0] * len(chains)
    levels: list[list[float | None]] = [[None] * len(c) for c in chains]
    rejected = [[False] * len(c) for c in chains]
    active = {i for i, c in enumerate(chains) if len(c)}
    while active:
        i = min(active, key=lambda j: (chains[j][at[j]], j))
        levels[i][at[i]] = level = alpha / len(active)
        if chains[i][at[i]] > level:
            break
        rejected[i][at[i]] = True
        at[i] += 1
        if at[i] == len(chains[i]):
            active.remove(i)
    return levels, rejected


@dataclass(frozen=True)
class StageShare:
    """How often a stage answered, and how often it deferred among the cases it saw, with a
    two-sided Clopper-Pearson interval at the task's confidence."""

    name: str
    seen: int
    answered: int
    deferral_rate: float
    interval: tuple[float, float]


@dataclass(frozen=True)
class CascadeVerdict:
    """A cascade's verdict: qualifies at `threshold` (the chosen lambda-hat; None without a grid),
    with its quality, bound, cost and latency there. When it does not qualify, the figures are at
    the most deferring point (the one tested first) and `why_not` says why."""

    name: str
    qualifies: bool
    threshold: float | None
    n: int
    mean: float
    lower: float
    level: float | None
    method: str
    p_values: list[float]        # one per grid point, in testing order
    levels: list[float | None]   # the level each was compared with (None: not reached)
    certified: list[bool]        # which grid points were rejected ("quality >= bar" shown)
    cost_per_call: float
    p95_ms: float
    stages: list[StageShare] = field(default_factory=list)
    why_not: str = ""
    error_rate: float = math.nan  # cases whose answering stage failed (only the last can: a failure defers)
    successes: int | None = None  # pass/fail scores: cases passed of n at `threshold`
    curve: list[dict] = field(default_factory=list)  # per grid point: threshold, mean, cost, deferral, certified
    case_scores: dict[str, float] = field(default_factory=dict, repr=False)  # per case id, at `threshold`

    @property
    def deferral_rate(self) -> float:
        """The share of cases the first stage did not answer."""
        return self.stages[0].deferral_rate if self.stages else math.nan


@dataclass(frozen=True)
class PolicySelection:
    """Single candidates' verdicts (as _selection.Verdict) and cascades' verdicts, one family."""

    procedure: str
    threshold: float
    confidence: float
    singles: list
    cascades: list[CascadeVerdict]
    skipped: dict[str, str] = field(default_factory=dict)  # cascades that could not be decided, and why
    # Policies of the family that were not tested (a cascade not decidable, a suggested cascade not
    # tried): each a chain whose p-value is 1, counted in every level and never qualified.
    untested: tuple[str, ...] = ()
    tried: tuple[str, ...] = ()  # the suggested cascades that were tested (`cascades: suggest`)
    notes: list[str] = field(default_factory=list)  # what the replay met on the way (a verifier that timed out)

    def cascade_rows(self) -> list[dict]:
        """Each cascade's verdict as plain data (the decision's `cascades`, --json, the report)."""
        rows = []
        for v in self.cascades:
            rows.append({"name": v.name, "qualifies": v.qualifies, "threshold": v.threshold, "n": v.n,
                         "mean": v.mean, "lower": v.lower, "level": v.level, "method": v.method,
                         "cost_per_call": v.cost_per_call, "p95_ms": v.p95_ms, "deferral_rate": v.deferral_rate,
                         "deferral_interval": list(v.stages[0].interval) if v.stages else None,
                         "stages": [{"model": s.name, "seen": s.seen, "answered": s.answered,
                                     "deferral_rate": s.deferral_rate, "interval": list(s.interval)}
                                    for s in v.stages],
                         "why_not": v.why_not, "error_rate": v.error_rate, "successes": v.successes,
                         "p_values": v.p_values, "levels": v.levels, "certified": v.certified, "curve": v.curve})
        rows += [{"name": name, "qualifies": False, "why_not": why} for name, why in self.skipped.items()]
        return rows

    @property
    def family_size(self) -> int:
        return len(self.singles) + len(self.cascades) + len(self.untested)

    @property
    def verdicts(self) -> list:
        """The single candidates' verdicts (what _selection.Selection.verdicts holds)."""
        return self.singles

    def describe(self) -> str:
        """One line for `recommend` and the report: which procedure decided, and its promise."""
        alpha = f"{round((1 - self.confidence) * 100, 6):g}%"
        from ..fmt import plural

        return (f"Holm step-down with each cascade's threshold tested down its grid (Learn-then-Test) over "
                f"{self.family_size} policies ({plural(len(self.singles), 'model')}, "
                f"{plural(len(self.cascades) + len(self.untested), 'cascade')}"
                f"{f', {len(self.untested)} untested' if self.untested else ''}): the chance "
                f"that any policy below {self.threshold:g} qualifies is at most {alpha}")


def select_policies(singles: Sequence[Candidate], cascades: Sequence[Cascade], threshold: float,
                    confidence: float, procedure: str = "graph", untested: Sequence[str] = ()) -> PolicySelection:
    """Decide single candidates and cascades together; every qualifying policy is certified.

    `untested`: names of policies in the family that are not tested here; each is a chain whose
    p-value is 1, so it stays active and counts in every level (the family never shrinks by
    leaving a policy out), and never qualifies.

    `procedure`: "graph" (the module's procedure: FWER <= 1 - confidence), or, for the benchmark's
    comparison, "holm_all" (every grid point its own Holm member; valid, less powerful) and
    "naive" (each grid point and single alone at alpha; no multiplicity control).
    """
    from ._selection import Verdict, _why_not

    if procedure not in PROCEDURES:
        raise ValueError(f"procedure must be one of {', '.join(PROCEDURES)}, got {procedure!r}")
    names = [c.name for c in singles] + [c.name for c in cascades] + list(untested)
    if len(set(names)) != len(names):
        raise ValueError("policy names must be unique")
    alpha = 1 - confidence
    ev = [_Evidence(c, threshold) for c in singles]
    runs = [[(t, replay(c, t)) for t in c.points] for c in cascades]
    # the bets of a continuous test are tuned to the first level Holm asks of a chain, halved (Bonferroni)
    tune = alpha / (2 * max(1, len(singles) + len(cascades) + len(untested)))
    tests = [[_p_and_lower(r.scores, threshold, tune) for _, r in run] for run in runs]
    chains = [[e.p] for e in ev] + [[p for p, _, _ in t] for t in tests] + [[1.0] for _ in untested]
    levels, rejected = _levels(chains, alpha, procedure)
    shown_default = alpha / max(1, len(chains))  # the level a candidate never reached is shown at
    single_verdicts = []
    for c, e, lev, rej in zip(singles, ev, levels, rejected):
        lv, ok = lev[0], rej[0]
        lower = e.lower(lv if lv is not None else shown_default)
        single_verdicts.append(Verdict(name=c.name, cost=c.cost, n=e.n, mean=e.mean, method=e.method, p_value=e.p,
                                       adjusted_p=math.nan, level=lv, lower=lower, qualifies=ok,
                                       why_not="" if ok else _why_not(e, lower, lv, threshold, None)))
    k = len(singles)
    verdicts = [_cascade_verdict(c, run, t, lev, rej, threshold, confidence, shown_default)
                for c, run, t, lev, rej in zip(cascades, runs, tests, levels[k:], rejected[k:])]
    return PolicySelection(procedure, threshold, confidence, single_verdicts, verdicts, untested=tuple(untested))


def _levels(chains: list[list[float]], alpha: float, procedure: str):
    """(levels compared with, rejected) per chain, for the chosen procedure."""
    if procedure == "graph":
        return chain_procedure(chains, alpha)
    if procedure == "naive":
        return [[alpha] * len(chain) for chain in chains], [[p <= alpha for p in chain] for chain in chains]
    flat_levels, flat_rejected = chain_procedure([[p] for chain in chains for p in chain], alpha)  # holm_all
    levels, rejected, k = [], [], 0
    for chain in chains:
        levels.append([flat_levels[k + j][0] for j in range(len(chain))])
        rejected.append([flat_rejected[k + j][0] for j in range(len(chain))])
        k += len(chain)
    return levels, rejected


def _cascade_verdict(c: Cascade, run, tests, levels: list[float | None], rejected: list[bool],
                     threshold: float, confidence: float, untested_level: float) -> CascadeVerdict:
    passed = [j for j, ok in enumerate(rejected) if ok]
    j = passed[-1] if passed else 0  # the least deferring certified point, else the first tested
    point, rep = run[j]
    p, bound, method = tests[j]
    level = levels[j]
    shown = level if level is not None else untested_level
    lower = bound(shown)
    why = ""
    if not passed:
        at = f" at its most deferring threshold {point:g}" if point is not None else ""
        conf = f"{round((1 - shown) * 100, 6):g}%"
        why = f"lower bound {below(lower)} < {threshold:g}{at} at {conf} (mean {rep.scores.mean():.3f}, n={c.n}, p={p:.3g})"
    last = len(c.stages) - 1
    failed = np.asarray(c.stages[last].errors, dtype=bool) if c.stages[last].errors is not None else np.zeros(c.n, bool)
    curve = [{"threshold": t, "mean": float(r.scores.mean()) if c.n else None,
              "cost_per_call": float(r.cost.mean()) if c.n else None,
              "deferral_rate": float(np.mean(r.answered_by != 0)) if c.n else None, "certified": bool(ok)}
             for (t, r), ok in zip(run, rejected)]
    return CascadeVerdict(name=c.name, qualifies=bool(passed), threshold=point, n=c.n,
                          mean=float(rep.scores.mean()) if c.n else math.nan, lower=lower, level=level,
                          method=method, p_values=[t[0] for t in tests], levels=list(levels),
                          certified=list(rejected),
                          cost_per_call=float(rep.cost.mean()) if c.n else math.nan,
                          p95_ms=float(np.percentile(rep.latency_ms, 95)) if c.n else math.nan,
                          stages=stage_shares(c, rep, confidence), why_not=why,
                          error_rate=float(np.mean(failed & (rep.answered_by == last))) if c.n else math.nan,
                          successes=int(rep.scores.sum()) if method == "exact" else None, curve=curve,
                          case_scores=dict(zip(c.cases, rep.scores.tolist())) if c.cases else {})


def stage_shares(c: Cascade, rep: Replay, confidence: float) -> list[StageShare]:
    """Per stage: the cases it saw, answered, and its deferral rate with a two-sided interval."""
    out = []
    seen = c.n
    for i, s in enumerate(c.stages):
        answered = int(np.count_nonzero(rep.answered_by == i))
        deferred = seen - answered
        rate = deferred / seen if seen else math.nan
        out.append(StageShare(s.name, seen, answered, rate, clopper_pearson_interval(deferred, seen, confidence)))
        seen = deferred
    return out


def clopper_pearson_interval(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Two-sided exact interval for a proportion k/n at `confidence`; (0, 1) with no cases."""
    if n == 0:
        return (0.0, 1.0)
    tail = (1 - confidence) / 2
    lo = 0.0 if k == 0 else float(_sp.betaincinv(k, n - k + 1, tail))
    hi = 1.0 if k == n else float(_sp.betaincinv(k + 1, n - k, 1 - tail))
    return (lo, hi)
