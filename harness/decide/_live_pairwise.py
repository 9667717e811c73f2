"""Promotion from live traffic for open-ended tasks: the blind pairwise judge on shadow pairs,
corrected by the judge's measured misses against human verdicts.

The claim. For a task graded by a judge, equality of outputs says nothing (two good summaries
differ), so decide/_live.py's disagreement bound does not apply. Instead each shadowed call gives a
pair (the incumbent's answer, the challenger's) that the task's `pairwise` grader judges blind, in
both orders (graders/_judge.py, the offline comparison itself; runner/_shadow_judging.py makes the
calls when `recommend` reads the evidence). Let l be the challenger's *loss rate* on production: the
share of calls on which a person would prefer the incumbent's answer. Then

    P(the challenger is promoted while l >= max_regression) <= 1 - confidence,

under the assumption stated below, however often the stream is looked at.

Procedure. One Bernoulli outcome per shadowed pair, in call order: 1 (counted against the
challenger) when the judge's outcome over both orders is a loss (graders/_judge.py `_both_orders`:
one order prefers the incumbent and the other does not prefer the challenger; a split verdict, each
order preferring a different answer, is a tie), when the challenger's call failed or broke the
contract, or when the judge gave no verdict (a judge failure is never silently dropped: it counts
against the challenger until a later read judges the pair); 0 on a win or a tie. Pairs without
both texts (the client did not capture) or not judged yet are not in the stream; both are decided
by time, not by what the answers say. With alpha = 1 - confidence, split in two halves:

    U = U_judge + U_miss,
    U_judge = the beta-binomial mixture upper confidence sequence (decide/_live.py, Howard, Ramdas,
              McAuliffe & Sekhon 2021, Ann. Statist. 49(2)) on the counted share, at alpha/2;
    U_miss  = the same sequence at alpha/2 on the judge's *misses* among the human verdicts on the
              challenger's golden-set outputs (project/_labels.py): outputs the judge passed
              (not a loss) that a person failed;

promote when U < max_regression. Why it holds: l = P(person says loss) <= P(judge says loss) +
P(judge says not-loss and person says loss) = j + m; U_judge >= j at every call with probability
>= 1 - alpha/2 (Ville's inequality), U_miss >= m at every number of labels with probability >=
1 - alpha/2, and the union bound gives P(exists t: l > U_t) <= alpha. This is the correction the
offline judged bound makes (decide/_judged.py `corrected_lower_bound`: the judge's own figure,
less a bound on how far it over-grades, each at alpha/2, union bound), made anytime-valid on both
halves, so adding human verdicts one at a time and looking again is covered too. It gives the
judge no credit for being too strict (misses only ever widen the bound).

The assumption (what it does not guarantee). The human verdicts are on golden-set outputs, not on
the live pairs: the bound holds when the judge misses a loss on live pairs no more often than on
the labelled outputs, i.e. the labelled outputs are a random sample of the challenger's outputs and
the golden set is like production for the judge's errors. A person's verdict on an output is read
as "a person would (fail) or would not (pass) prefer the other answer", which is what the task's
pairwise grade means. Shadowed calls are sampled without regard to their content, as in
decide/_live.py. Without human verdicts on the challenger's outputs nothing is promoted, and the
refusal says how many to add (`pair_labels_needed`: the first count from which the bound would clear the
margin, at the miss rate seen so far; a projection, not a guarantee).

Alternatives rejected. Promoting on the judge's verdicts alone (U_judge < margin) trusts the judge
entirely: a lenient judge that calls every pair a tie would promote any challenger. PPI's CLT
estimator (decide/_judged.py `ppi_lower_bound`) needs labels on the live pairs and is not
anytime-valid. A fixed-n Clopper-Pearson bound on the misses would be tighter at one look but
invalid once labels are added and the bound is looked at again.

Pure functions over the rows and counts; bad arguments raise ValueError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..project import Task

PAIRWISE_METHOD = ("blind pairwise judge in both orders; beta-binomial mixture confidence sequence on losses "
                   "(Howard et al. 2021) plus one on the judge's misses against human verdicts, each at alpha/2")
MIN_MISS_LABELS = 2   # below this no correction is attempted: the route refuses
MAX_LABELS = 5000     # labels_needed scans no further


def live_grader(task: Task) -> Any | None:
    """The grader that judges a task's live pairs: its first `pairwise` grader, or None."""
    return next((g for g in task.graders if g.name == "pairwise"), None)


@dataclass(frozen=True)
class PairTally:
    """A challenger's shadow pairs against the incumbent, as the bound counts them (call order)."""

    calls: int               # shadow rows of the pair
    judged: int              # pairs with a verdict (win, tie or loss)
    wins: int
    ties: int
    losses: int
    judge_errors: int        # pairs whose judge gave no verdict (counted against the challenger)
    challenger_errors: int   # the challenger failed or broke the contract (counted against it)
    no_text: int             # no stored outputs to judge (the client did not capture)
    pending: int             # not judged yet
    stream: tuple[int, ...]  # 1 = counted against the challenger, in call order

    @property
    def counted(self) -> int:
        return sum(self.stream)


def tally(rows: Sequence[dict[str, Any]], verdicts: dict[int, dict[str, Any]]) -> PairTally:
    """Count one pair's shadow rows (call order) with the judge's verdicts by shadow row id."""
    wins = ties = losses = judge_errors = challenger_errors = no_text = pending = 0
    stream: list[int] = []
    for row in rows:
        if row["outcome"] != "ok":
            challenger_errors += 1
            stream.append(1)
            continue
        if row.get("output") is None or row.get("incumbent_output") is None:
            no_text += 1
            continue
        verdict = verdicts.get(row["id"])
        if verdict is None:
            pending += 1
            continue
        outcome = verdict["outcome"]
        if outcome is None:
            judge_errors += 1
        elif outcome == "loss":
            losses += 1
        elif outcome == "win":
            wins += 1
        else:
            ties += 1
        stream.append(int(outcome not in ("win", "tie")))
    return PairTally(len(rows), wins + ties + losses, wins, ties, losses, judge_errors, challenger_errors,
                     no_text, pending, tuple(stream))


@dataclass(frozen=True)
class Misses:
    """The judge against people on the challenger's labelled outputs: how often it passed what they failed."""

    labels: int
    misses: int

    @classmethod
    def of(cls, human: Sequence[float], judge_passed: Sequence[bool]) -> "Misses":
        if len(human) != len(judge_passed):
            raise ValueError(f"need a judge verdict for each human one, got {len(judge_passed)} for {len(human)}")
        return cls(len(human), sum(1 for h, j in zip(human, judge_passed) if j and h < 0.5))


@dataclass(frozen=True)
class PairwiseBound:
    """U = U_judge + U_miss against the margin (module docstring); `text` is the line to show."""

    judge_upper: float
    miss_upper: float
    upper: float
    margin: float
    confidence: float
    shown: bool
    text: str


def pairwise_bound(t: PairTally, m: Misses, margin: float, confidence: float) -> PairwiseBound:
    """The corrected upper confidence sequence on the challenger's loss rate after these pairs and labels."""
    from ._live import disagreement_upper

    if not 0.0 < margin < 1.0:
        raise ValueError(f"margin must be in (0, 1), got {margin!r}")
    half = 1 - (1 - confidence) / 2
    n = len(t.stream)
    judge_upper = disagreement_upper(t.counted, n, half)
    miss_upper = disagreement_upper(m.misses, m.labels, half) if m.labels >= MIN_MISS_LABELS else 1.0
    upper = min(1.0, judge_upper + miss_upper)
    shown = n > 0 and m.labels >= MIN_MISS_LABELS and round(upper, 6) < margin
    text = (f"{t.losses} losses, {t.ties} ties, {t.wins} wins in {t.judged} judged pairs"
            + (f", {t.judge_errors} judge failures" if t.judge_errors else "")
            + (f", {t.challenger_errors} challenger errors" if t.challenger_errors else "")
            + f"; loss upper bound {upper:.3f} = judge {judge_upper:.3f} + misses {miss_upper:.3f} "
              f"({m.misses} of {m.labels} human verdicts) {'<' if shown else '>='} {margin:g} at {confidence:.0%}")
    return PairwiseBound(judge_upper, miss_upper, upper, margin, confidence, shown, text)


def pair_labels_needed(t: PairTally, m: Misses, margin: float, confidence: float) -> int | None:
    """How many human verdicts in all would let the bound clear `margin` with the pairs as they are,
    if people keep finding the judge missing at the rate seen so far (rounded against the
    challenger); None when no number can (the judge's own half is at or above the margin, or more
    than MAX_LABELS). A projection, not a guarantee."""
    import numpy as np

    from ._live import mixture_log_wealth

    half = 1 - (1 - confidence) / 2
    judge_upper = pairwise_bound(t, m, margin, confidence).judge_upper
    room = margin - judge_upper
    if room <= 0:
        return None
    rate = m.misses / m.labels if m.labels else 0.0
    if rate >= room:
        return None
    # U_miss < room exactly when "miss rate >= room" is rejected (decide/_live.py): one vectorised test per n.
    ns = np.arange(max(MIN_MISS_LABELS, m.labels), MAX_LABELS + 1)
    k = np.minimum(np.ceil(rate * ns - 1e-9), ns)
    alpha = 1 - half
    ok = mixture_log_wealth(ns - k, ns, 1.0 - room, alpha_opt=alpha) >= math.log(1 / alpha)
    if not ok[-1]:
        return None
    short = np.flatnonzero(~ok)
    return int(ns[0]) if len(short) == 0 else int(ns[short[-1]] + 1)


def pair_rows(rows: Iterable[dict[str, Any]], task: str, incumbent: str, challenger: str) -> list[dict[str, Any]]:
    """One pair's shadow rows of a task, in call order."""
    return [r for r in rows if r["task"] == task and r["incumbent"] == incumbent and r["challenger"] == challenger]
