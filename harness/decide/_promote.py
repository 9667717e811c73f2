"""Promotion on live traffic: when `recommend` may propose a task's shadow challenger on its
agreement with the incumbent, and the rule the gate re-checks on the recorded evidence.

The claim. Two claims can back a registry entry. The *offline bound*: the model's lower confidence
bound on the golden set clears the threshold (decide/_qualify.py). *Live non-inferiority*: the
incumbent's offline bound clears the threshold, and on production traffic the challenger disagreed
with it on a fraction of calls whose anytime-valid upper confidence sequence (decide/_live.py, Howard
et al. 2021) is below the spec's `max_regression`; so the challenger's mean score on that traffic is
at least the incumbent's minus the margin, with

    P(a challenger whose disagreement rate is >= max_regression is promoted) <= 1 - confidence,

however often `recommend` is run while the stream grows (the sequence is valid at every call, so
looking after each one does not inflate the error; benchmarks/shadow.py checks it by simulation,
through `live_evidence` below). It is a statement about the traffic shadowed, not the golden set.

The procedure (`promote`). For the pair (incumbent, challenger) of the shadow rows in which the
current registry model takes part, the challenger is proposed when all of these hold:
- the spec sets `max_regression`. Where no judge grades the task, the bound is on disagreement (a
  grade is a function of the output). Where a judge grades it (open-ended outputs), the task's
  `pairwise` grader judges each shadow pair blind in both orders, and the bound is on the
  challenger's loss rate, corrected by the judge's misses against human verdicts
  (decide/_live_pairwise.py); without a pairwise grader, or without human verdicts on the
  challenger's outputs, nothing is promoted and the note says what to add;
- the entry is a single model, not pinned, and the incumbent qualifies offline now;
- U_n, the upper confidence sequence on disagreement after all n shadowed calls, is below the margin;
- the golden set does not show the challenger below the bar: its *upper* bound there (exact
  Clopper-Pearson for pass/fail scores, Hoeffding's for continuous ones, at the task's confidence)
  is at or above the threshold. A challenger that merely lacked the cases to show it clears the bar
  (its lower bound below it, its upper bound above) may be promoted; one whose upper bound is below
  the threshold may not, however well it agrees: agreement never hides an offline failure;
- it keeps the task's other limits (error rate, p95 latency, a known price: the same rule, with
  the quality bound replaced by the live claim), and it costs less than what would run otherwise.
The incumbent becomes its first fallback, so the gate re-checks the incumbent's offline evidence.

Freshness: live evidence describes the traffic of its window. The gate accepts it for
`fresh_days` (tierwise.yaml `shadow.<task>.fresh_days`, default 30) after the window's last call,
and calls it stale after.

Limits: as decide/_live.py's and, for judged tasks, decide/_live_pairwise.py's (outputs compared by
equality, or by the judge under its stated assumption; shadowed calls sampled independently
of their content; a disagreement rate that drifts below the margin only part of the time is not
covered). The two claims are not combined into one error rate: an entry's evidence says which one
backs it. Pure Python at import (the gate uses `live_shortfalls` without numpy or SciPy).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from ..project import Task
from ._qualify import qualification

if TYPE_CHECKING:
    from ._decision import CandidateResult, Decision
    from ._judged import TaskJudged

FRESH_DAYS = 30.0
CLAIM_OFFLINE = "offline bound"
CLAIM_LIVE = "live non-inferiority"
METHOD = "beta-binomial mixture confidence sequence on disagreement (Howard et al. 2021)"


def offline_upper(n: int, mean: float | None, method: str, confidence: float) -> float:
    """The upper confidence bound on a candidate's golden-set mean at `confidence`: exact
    Clopper-Pearson for pass/fail scores (methods exact, wilson), Hoeffding's otherwise; 1.0 with
    no cases."""
    from .stats import clopper_pearson_lower_pure

    if not n or mean is None or math.isnan(mean):
        return 1.0
    if method in ("exact", "wilson"):
        k = round(mean * n)
        return 1.0 - clopper_pearson_lower_pure(n - k, n, confidence)
    return min(1.0, mean + math.sqrt(math.log(1 / (1 - confidence)) / (2 * n)))


@dataclass(frozen=True)
class LiveEvidence:
    """A challenger against the incumbent on the shadowed calls of one task (what the evidence records)."""

    incumbent: str           # catalog names
    challenger: str
    calls: int               # shadowed calls compared
    disagreements: int
    window_start: float      # unix time of the first and last shadowed call
    window_end: float
    upper: float             # U_n: the upper confidence sequence on the disagreement rate
    margin: float            # the spec's max_regression
    confidence: float
    text: str
    # "agreement" (decide/_live.py), or "pairwise" (decide/_live_pairwise.py): then `calls` are the
    # pairs in the bound, `disagreements` those counted against the challenger (its losses, judge
    # failures and challenger errors), `upper` the corrected loss bound, and `pairwise` the rest
    kind: str = "agreement"
    pairwise: dict[str, Any] | None = None

    @property
    def shown(self) -> bool:
        return self.calls > 0 and round(self.upper, 6) < self.margin  # as the evidence file writes it


def live_evidence(task: Task, rows: Iterable[dict[str, Any]], incumbent: str, challenger: str) -> LiveEvidence | None:
    """The live evidence of `challenger` against `incumbent` from a task's shadow rows (call order);
    None when the spec sets no max_regression or there are no rows for the pair."""
    from ._live import promotion
    from ._live_pairwise import pair_rows

    margin = task.spec.max_regression
    mine = pair_rows(rows, task.name, incumbent, challenger)
    if margin is None or not mine:
        return None
    p = promotion([not r["agree"] for r in mine], margin, task.spec.confidence)
    return LiveEvidence(incumbent, challenger, p.n, p.disagreements, float(mine[0]["at"]), float(mine[-1]["at"]),
                        p.upper, margin, task.spec.confidence, p.text)


def pairwise_evidence(task: Task, rows: Iterable[dict[str, Any]], incumbent: str, challenger: str,
                      verdicts: dict[int, dict[str, Any]], judged: TaskJudged | None) -> LiveEvidence | None:
    """The live evidence of `challenger` against `incumbent` on a judged task: the pairwise judge's
    verdicts on the shadow pairs, corrected by its misses against human verdicts on the challenger's
    outputs (decide/_live_pairwise.py); None without max_regression or rows for the pair."""
    from ._live_pairwise import Misses, live_grader, pair_labels_needed, pair_rows, pairwise_bound, tally

    margin, confidence = task.spec.max_regression, task.spec.confidence
    mine = pair_rows(rows, task.name, incumbent, challenger)
    grader = live_grader(task)
    if margin is None or not mine or grader is None:
        return None
    t = tally(mine, verdicts)
    labelled = judged.models.get(challenger) if judged is not None else None
    m = Misses.of(labelled.human, labelled.judge_passed) if labelled is not None else Misses(0, 0)
    b = pairwise_bound(t, m, margin, confidence)
    figures = {"judge": grader.options.get("judge") or "", "judged": t.judged, "wins": t.wins, "ties": t.ties,
               "losses": t.losses, "judge_errors": t.judge_errors, "challenger_errors": t.challenger_errors,
               "no_text": t.no_text, "pending": t.pending, "judge_upper": b.judge_upper,
               "miss_upper": b.miss_upper, "labels": m.labels, "misses": m.misses,
               "labels_needed": None if b.shown else pair_labels_needed(t, m, margin, confidence)}
    return LiveEvidence(incumbent, challenger, len(t.stream), t.counted, float(mine[0]["at"]), float(mine[-1]["at"]),
                        b.upper, margin, confidence, b.text, kind="pairwise", pairwise=figures)


@dataclass(frozen=True)
class _LimitsOnly:
    """A candidate's figures with its quality bound set aside: the live claim stands in for it."""

    n: int
    error_rate: float | None
    p95_ms: float | None
    cost_per_call: float | None
    lower: float = 1.0
    settled: bool = True


def limit_shortfalls(task: Task, m: Any) -> list[str]:
    """What the candidate falls short of besides the quality bound (error rate, p95, price): the
    one qualification rule (decide/_qualify.py) with the live claim in place of the bound."""
    return qualification(task, _LimitsOnly(m.n, m.error_rate, m.p95_ms, m.cost_per_call), None).shortfalls


def live_shortfalls(task: Task, *, margin: float, upper: float, confidence: float, calls: int,
                    offline_up: float, window_end: float, fresh_days: float, now: float,
                    kind: str = "agreement") -> tuple[list[str], list[str]]:
    """The gate's check of recorded live evidence against today's spec: (failures, staleness)."""
    spec, fail = task.spec, []
    what = "disagreement" if kind == "agreement" else "loss"
    if kind == "agreement" and task.uses_judge:
        fail.append(f"a judge grades {task.name} now: agreement bounds the loss only for outputs graded by value; "
                    f"fix: run `tierwise recommend --write` for pairwise live evidence")
    if kind == "pairwise" and not any(g.name == "pairwise" for g in task.graders):
        fail.append(f"pairwise live evidence, but {task.path} has no pairwise grader now")
    if spec.max_regression is None:
        fail.append(f"live evidence needs max_regression in {task.path}")
    elif margin > spec.max_regression + 1e-12:
        fail.append(f"live evidence was decided at margin {margin:g}, above max_regression {spec.max_regression:g}")
    if not calls or not 0.0 <= upper < margin:
        fail.append(f"live {what} upper bound {upper:.3f} is not below the margin {margin:g} ({calls} calls)")
    if confidence < spec.confidence:
        fail.append(f"live evidence at confidence {confidence:g}, below the spec's {spec.confidence:g}")
    if offline_up < spec.threshold:
        fail.append(f"the golden set shows it below the bar (upper bound {offline_up:.3f} < threshold "
                    f"{spec.threshold:g}); agreement cannot promote it")
    stale = []
    age = (now - window_end) / 86400
    if age > fresh_days:
        stale.append(f"live evidence is {age:.0f} days old (its last shadowed call {iso(window_end)}; "
                     f"fresh for {fresh_days:g} days)")
    return fail, stale


def iso(at: float) -> str:
    return _dt.datetime.fromtimestamp(at, _dt.timezone.utc).replace(microsecond=0).isoformat()


def promote(task: Task, decision: Decision, rows: list[dict[str, Any]],
            verdicts: dict[int, dict[str, Any]] | None = None, judged: TaskJudged | None = None) -> None:
    """Apply live evidence to a decision (in place): propose or keep the shadow challenger when its
    live non-inferiority holds (module docstring), and say which claim backs the decision.
    For a judged task, `verdicts` are the pairwise judge's on the shadow rows (by row id) and
    `judged` the task's human verdicts matched to its outputs (decide/_judged.py)."""
    from ._decision import registry_entry
    from ._live_pairwise import live_grader
    from ._rule import MAX_FALLBACKS

    decision.claim = CLAIM_OFFLINE if decision.entry is not None else ""
    current = decision.current_model
    pairs = list(dict.fromkeys((r["incumbent"], r["challenger"]) for r in rows
                               if r["task"] == task.name and r["incumbent"] != r["challenger"]
                               and current in (r["incumbent"], r["challenger"])))
    if not pairs or decision.current is None:
        return
    by_name = {c.model: c for c in decision.candidates}
    judge_route = task.uses_judge and live_grader(task) is not None
    for incumbent, challenger in pairs:
        ev = (pairwise_evidence(task, rows, incumbent, challenger, verdicts or {}, judged) if judge_route
              else live_evidence(task, rows, incumbent, challenger))
        why = _refusal(task, decision, ev, by_name.get(incumbent), by_name.get(challenger))
        head = f"shadow {challenger} against {incumbent}: "
        if why:
            decision.notes.append(head + (ev.text + "; " if ev is not None else "") + why)
            continue
        assert ev is not None
        ch, inc = by_name[challenger], by_name[incumbent]
        others = [by_name[m] for m in decision.fallbacks if m not in (challenger, incumbent)]
        if decision.recommended not in (None, challenger, incumbent):
            others.insert(0, by_name[decision.recommended])
        fallbacks = [inc, *[o for o in others if o.qualifies]][:MAX_FALLBACKS]
        decision.recommended, decision.fallbacks = challenger, [f.model for f in fallbacks]
        decision.entry = registry_entry(task, ch, fallbacks)
        decision.changed = any(decision.current.get(k) != v for k, v in decision.entry.items())
        decision.status = "recommend" if decision.changed else "keep"
        decision.cost_per_1k_recommended = ch.cost_per_call * 1000 if ch.cost_per_call is not None else None
        decision.claim = CLAIM_LIVE
        decision.live = {"incumbent": incumbent, "challenger": challenger, "calls": ev.calls,
                         "disagreements": ev.disagreements, "window_start": ev.window_start,
                         "window_end": ev.window_end, "upper": ev.upper, "margin": ev.margin,
                         "confidence": ev.confidence, "kind": ev.kind, "pairwise": ev.pairwise,
                         "offline_upper": offline_upper(ch.n, ch.mean, ch.method, task.spec.confidence)}
        if ev.pairwise is not None:
            p = ev.pairwise
            shown = (f"{challenger} lost to {incumbent} on {ev.disagreements} of {ev.calls} shadowed pairs "
                     f"(judge {p['judge']}, blind, both orders; failures counted as losses), loss upper bound "
                     f"{ev.upper:.3f} corrected by {p['labels']} human verdicts < max_regression {ev.margin:g}")
        else:
            shown = (f"{challenger} disagreed with {incumbent} on {ev.disagreements} of {ev.calls} shadowed calls, "
                     f"upper bound {ev.upper:.3f} < max_regression {ev.margin:g}")
        decision.reason = (f"{CLAIM_LIVE}: {shown} at {ev.confidence:.0%} ({incumbent} qualifies offline; "
                           f"{challenger} offline: {ch.why_not or 'qualifies'})")
        return


def _refusal(task: Task, decision: Decision, ev: LiveEvidence | None, inc: CandidateResult | None,
             ch: CandidateResult | None) -> str:
    """Why live evidence cannot back the challenger here ("" when it can)."""
    spec = task.spec
    if spec.max_regression is None:
        return f"not promoted: {task.path} sets no max_regression"
    if ev is None:
        return "not promoted: no shadowed calls"
    if task.uses_judge and ev.kind != "pairwise":
        return ("not promoted: a judge grades this task and none compares answers pairwise (agreement bounds the "
                f"loss only for outputs graded by value); fix: add a `pairwise` grader to {task.path}, and human "
                f"verdicts on {ch.model if ch else 'the challenger'}'s outputs")
    if "cascade" in (decision.current or {}) or (decision.current or {}).get("pin"):
        return "not promoted: the registry entry is a cascade or pinned"
    if inc is None or ch is None:
        return "not promoted: both models must be candidates of the task"
    if not ch.n:
        return f"not promoted: {ch.model} has no golden-set results; run `tierwise run {task.name} --models {ch.model}`"
    if not inc.qualifies:
        return f"not promoted: the incumbent {inc.model} does not qualify offline ({inc.why_not})"
    if not ev.shown:
        return pairwise_shortfall(task, ev) if ev.pairwise is not None else "not promoted yet"
    up = offline_upper(ch.n, ch.mean, ch.method, spec.confidence)
    if up < spec.threshold:
        return (f"not promoted: the golden set shows {ch.model} below the bar (upper bound {up:.3f} < threshold "
                f"{spec.threshold:g} on {ch.n} cases); agreement alone never hides an offline failure")
    limits = limit_shortfalls(task, ch)
    if limits:
        return f"not promoted: {ch.model} {limits[0]}"
    otherwise = decision.recommended if decision.recommended not in (None, ch.model) else inc.model
    rival = next(c for c in decision.candidates if c.model == otherwise)
    if rival.cost_per_call is not None and not ch.cost_per_call < rival.cost_per_call:
        return f"not promoted: {ch.model} costs no less than {rival.model}"
    return ""


def pairwise_shortfall(task: Task, ev: LiveEvidence) -> str:
    """Why pairwise live evidence does not show the challenger yet, and what would (the line
    `recommend` notes and `audit`'s shadow monitor shows)."""
    from ._live_pairwise import MIN_MISS_LABELS

    p = ev.pairwise or {}
    where = task.labels.path if task.labels is not None else f"a labels file (judge.labels in {task.path})"
    need = p.get("labels_needed")
    more = f"about {need} in all at the judge's miss rate so far" if need else "enough to bound the judge's misses"
    if not ev.calls and p.get("no_text"):
        return (f"not promoted: {p['no_text']} shadow pairs have no stored answers to judge; fix: run the client "
                f"with capture=True (harness.Client(..., capture=True)) so each pair and its input are stored")
    if not ev.calls and p.get("pending"):
        return (f"not promoted: {p['pending']} shadow pairs are not judged yet (`tierwise recommend` has the "
                f"task's pairwise grader judge them; see its note on the judge)")
    if p.get("labels", 0) < MIN_MISS_LABELS:
        return (f"not promoted: no correction for the judge without human verdicts on {ev.challenger}'s outputs "
                f"({p.get('labels', 0)}); fix: add {more} to {where} (`tierwise view` queues them)")
    if need is None and p.get("judge_upper", 1.0) >= ev.margin:
        return "not promoted yet: more shadowed pairs are needed (the judge's own bound is not below the margin)"
    return f"not promoted yet: more human verdicts would help: {more}, in {where}"
