"""When a measured candidate qualifies: the one rule `recommend` applies to fresh results and
`tierwise gate` applies to the recorded evidence.

Beyond its quality verdict (the multiplicity procedure's, decide/_selection.py, which only
`recommend` can run), a candidate qualifies on a task when

- it was measured on every case of the golden set, or an adaptive run settled it earlier;
- its lower confidence bound clears the task's threshold (the bound at the level the procedure
  tested it at: dual to that verdict, and the part of it a recorded file lets the gate re-check
  against today's threshold);
- its error rate and p95 latency are within the task's limits, and its price is known;
- and, when its scores are a judge's (`Task.uses_judge`), the judge may be trusted on the task:
  people have judged some outputs when the spec's `judge.labels` is set, and the judge's agreement
  with them reaches `judge.min_agreement`.

The rule reads a `Measured`: `CandidateResult` (a decision's figures) and the registry's
`ModelEvidence` (the same figures as written to the evidence file) are both one. Pure Python:
the gate imports it without numpy, pandas or SciPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from ..project import Task
from ..util import below, threshold_text


class Measured(Protocol):
    """What the rule reads of one candidate's figures (decide.CandidateResult and
    registry.ModelEvidence are both one; None or NaN is a figure not measured)."""

    @property
    def n(self) -> int: ...            # cases evaluated (with repeats, cases, not calls)

    @property
    def lower(self) -> float: ...      # the lower confidence bound at the level it was tested at

    @property
    def error_rate(self) -> float | None: ...

    @property
    def p95_ms(self) -> float | None: ...

    @property
    def cost_per_call(self) -> float | None: ...

    @property
    def settled(self) -> bool: ...     # an adaptive run settled it on n < all cases


@dataclass(frozen=True)
class Qualification:
    """The rule's answer: what the candidate's own figures fall short of (each a phrase that
    reads after its name), and why the task's judge may not be trusted ("" when it may; the same
    for every candidate of the task)."""

    shortfalls: list[str] = field(default_factory=list)
    judge: str = ""

    @property
    def qualifies(self) -> bool:
        return not self.shortfalls and not self.judge

    @property
    def reason(self) -> str:
        """The first reason it does not qualify ("" when it does)."""
        return self.shortfalls[0] if self.shortfalls else self.judge


def qualification(task: Task, m: Measured, agreement: Mapping[str, Any] | None,
                  recorded_threshold: float | None = None) -> Qualification:
    """Apply the rule to one candidate of `task`. `agreement`: the judge's agreement with human
    verdicts by measure (`{"accuracy": …, "kappa": …, "n": …}`: measured now by `recommend`, as
    recorded by the gate), None when there is none; `recorded_threshold`: the threshold the
    evidence was decided at, named when it differs from today's."""
    spec, out = task.spec, []
    total = len(task.golden)
    if m.n < total and not m.settled:
        out.append(f"was evaluated on {m.n} of {total} cases")
    if not m.lower >= spec.threshold:  # NaN fails too (a hand-edited evidence file)
        was = recorded_threshold
        note = f", recorded at threshold {threshold_text(was)}" if was is not None and was != spec.threshold else ""
        out.append(f"lower {below(m.lower)} < threshold {threshold_text(spec.threshold)} (n={m.n}{note})")
    rate = m.error_rate
    if spec.max_error_rate is not None and rate is not None and rate > spec.max_error_rate:
        out.append(f"error rate {rate:.1%} > max_error_rate {spec.max_error_rate:.1%}")
    p95, limit = m.p95_ms, spec.max_p95_latency_ms
    if limit is not None and (p95 is None or math.isnan(p95)):
        out.append(f"p95 latency not measured (max_p95_latency_ms {limit:.0f})")
    elif limit is not None and p95 > limit:
        out.append(f"p95 latency {p95:.0f} ms > max_p95_latency_ms {limit:.0f}")
    if m.cost_per_call is None:
        out.append("no price known (add price: to its tierwise.yaml entry)")
    return Qualification(out, judge_distrust(task, agreement))


def judge_distrust(task: Task, agreement: Mapping[str, Any] | None) -> str:
    """Why judge evidence may not qualify a model on this task ("" when it may, or when its scores
    are not a judge's)."""
    policy = task.spec.judge
    if policy is None or not task.uses_judge:
        return ""
    labels = task.labels
    if policy.labels is not None and labels is not None and not labels.labels:
        state = "does not exist yet" if labels.missing else \
            f"has {labels.todo} outputs waiting for a verdict" if labels.todo else "is empty"
        return (f"judge evidence cannot qualify before people judge some outputs: {policy.labels} {state}; "
                f"fix: `tierwise labels {task.name} --template`, fill in the verdicts, then recommend again")
    if policy.min_agreement is None:
        return ""
    if agreement is None:
        return (f"the judge's agreement with people is not measured (judge.min_agreement "
                f"{policy.min_agreement:g} in {task.path}); add human verdicts to judge.labels")
    value = agreement.get(policy.agreement)
    if value is None or not value >= policy.min_agreement:  # an undefined kappa (None, NaN) does not pass
        shown = "undefined" if value is None or math.isnan(value) else f"{value:.2f}"
        return (f"judge agreement ({policy.agreement}) {shown} < min_agreement {policy.min_agreement:g} "
                f"on {agreement.get('n', 0)} human verdicts")
    return ""
