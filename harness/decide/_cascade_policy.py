"""A certified cascade as the recommendation: when it is the cheapest usable policy, the registry
entry it writes, and what the decision says about it.

decide/_cascade.py certifies cascades inside the candidates' family; this module takes the result
to the decision. A qualifying cascade is usable under the same limits as a model (error rate, p95
latency, a known price, trusted judge evidence); the recommendation is the cheapest usable policy,
a model on a tie (one call path is simpler than two). Against a current model with results the
change is tested for non-inferiority on the same cases as a model's would be (_noninferiority.py,
on the cascade's replayed per-case scores), and not proposed when the spec's `max_regression`
requires it and the test does not show it. A pinned entry is never replaced by a cascade; a pinned
cascade entry is kept while that cascade qualifies.

The entry (docs/formats.md) names each stage's registry target with the signals it defers on, the
chosen confidence threshold written into the signal (`{confidence: 0.95}`), an agreement signal with
its sample count (`{agreement: 2, of: 3}`); the fallbacks are the next cheapest qualifying models,
called when the last stage's provider fails. Limits: a change from one cascade to another, or from a
cascade to a model, is not tested for non-inferiority (no incumbent model to pair with); with
`max_regression` set such a change is not proposed.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from ..project import Task, signal_name
from ._decision import CandidateResult, Decision, call_settings, entry_cascade, entry_label, suggested_max_tokens
from ._noninferiority import Comparison, _by_case, noninferiority
from ._qualify import qualification


def registry_signal(signal: Any, threshold: float | None, repeats: int) -> Any:
    """A spec's deferral signal as registry.yaml writes it (the client runs it from there)."""
    name = signal_name(signal)
    if name == "confidence":
        return {"confidence": threshold}
    if name == "agreement":
        return {"agreement": signal.agreement, "of": repeats}
    if name == "check":
        return {"check": signal.check}
    return name


def cascade_entry(task: Task, label: str, threshold: float | None, results: list[CandidateResult],
                  fallbacks: list[CandidateResult], pin: str | None = None) -> dict[str, Any]:
    """The registry entry that runs the spec's cascade `label` at `threshold`."""
    spec = next(c for c in task.spec.cascades if c.label == label)
    by_model = {r.model: r for r in results}
    stages = []
    for i, name in enumerate(spec.models):
        stage: dict[str, Any] = {"model": task.models[name].target}
        defer = [registry_signal(s, threshold, task.spec.repeats) for s in spec.signals(i)]
        if defer:
            stage["defer"] = defer
        stages.append(stage)
    entry: dict[str, Any] = {"cascade": stages, "fallbacks": [f.target for f in fallbacks]}
    suggested = [t for t in (suggested_max_tokens(by_model[m]) for m in spec.models if m in by_model) if t]
    entry.update(call_settings(task, [*spec.models, *(f.model for f in fallbacks)], max(suggested, default=None)))
    if pin:
        entry["pin"] = pin
    return entry


def note_current(task: Task, decision: Decision) -> None:
    """A current cascade entry's name and measured cost, as a current model's are shown."""
    name = entry_cascade(task, decision.current)
    row = next((c for c in decision.cascades if c["name"] == name), None) if name else None
    if row is None:
        return
    decision.current_model = name
    if _known(row.get("cost_per_call")):
        decision.cost_per_1k_current = row["cost_per_call"] * 1000


def usable(task: Task, row: dict[str, Any], agreement: Mapping[str, Any] | None = None) -> str:
    """Why a cascade's verdict cannot be recommended ("" when it can): certified, then the rule a
    model qualifies by (decide/_qualify.py) applied to the cascade's figures."""
    if not row.get("qualifies"):
        return row.get("why_not") or "not certified"
    return qualification(task, measured(row), agreement).reason


def measured(row: dict[str, Any]) -> CandidateResult:
    """A cascade verdict's figures as the qualification rule reads a model's."""
    cost = row.get("cost_per_call")
    return CandidateResult(model=row["name"], target=row["name"], provider="cascade", available=True, n=row["n"],
                           cases=row["n"], mean=row["mean"], lower=row["lower"], method=row["method"],
                           level=row["level"], error_rate=row.get("error_rate", math.nan), p95_ms=row["p95_ms"],
                           cost_per_call=cost if _known(cost) else None, qualifies=bool(row.get("qualifies")))


Fallbacks = Callable[[CandidateResult], list[CandidateResult]]  # the rule's fallbacks behind a model


def keep_pinned(task: Task, decision: Decision, fallbacks: Fallbacks, agreement: Mapping[str, Any] | None) -> bool:
    """A pinned cascade entry is kept (with its threshold brought up to date) while it is usable."""
    current = decision.current or {}
    name = entry_cascade(task, current)
    row = next((c for c in decision.cascades if c["name"] == name), None) if name else None
    if row is None or usable(task, row, agreement):
        return False
    _adopt(task, decision, fallbacks, row, pin=current.get("pin"))
    decision.reason = f"pinned: {current['pin']}"
    return True


def choose(task: Task, frame: Any, decision: Decision, results: list[CandidateResult], selection: Any,
           best: CandidateResult | None, current_res: CandidateResult | None, fallbacks: Fallbacks,
           agreement: Mapping[str, Any] | None) -> bool:
    """Recommend the cheapest usable cascade when it costs less than `best` (the model the rule
    picked, or None); True when it did. `selection`: the family's PolicySelection (its verdicts
    hold the per-case scores the non-inferiority test pairs). Not called for a pinned entry."""
    rows = [c for c in decision.cascades if c.get("qualifies") and not usable(task, c, agreement)]
    if not rows:
        return False
    row = min(rows, key=lambda c: (c["cost_per_call"], c["name"]))
    if best is not None and best.cost_per_call is not None and not row["cost_per_call"] < best.cost_per_call:
        return False
    margin = task.spec.max_regression
    verdict = next((v for v in getattr(selection, "cascades", []) if v.name == row["name"]), None)
    comparison = _compare(task, frame, row["name"], verdict.case_scores if verdict else {}, current_res)
    if margin is not None and entry_cascade(task, decision.current) != row["name"] and \
            (comparison is None or not comparison.shown):
        current = entry_label(decision.current) if decision.current else "the current entry"
        why = (comparison.detail if comparison is not None else
               f"{current} has no model results on these cases to pair with")
        decision.notes.append(f"cascade {row['name']} is cheaper but not shown non-inferior to {current} "
                              f"(max_regression {margin:g} in {task.path}): {why}")
        return False
    decision.comparison = comparison
    cheapest = best.model if best is not None else None
    _adopt(task, decision, fallbacks, row)
    qualifying = sum(r.qualifies for r in results) + len(rows)
    text = f"cheapest of {qualifying} qualifying policies"
    if cheapest is not None:
        text += f" (the cheapest model, {cheapest}, costs ${best.cost_per_call * 1000:.4g} per 1,000 calls)"
    else:
        text += " (no model qualifies alone)"
    decision.reason = text
    return True


def _adopt(task: Task, decision: Decision, fallbacks_for: Fallbacks, row: dict[str, Any],
           pin: str | None = None) -> None:
    """Make the decision recommend the cascade `row` (its entry, fallbacks, cost, status)."""
    spec = next(c for c in task.spec.cascades if c.label == row["name"])
    results = decision.candidates
    fallbacks = fallbacks_for(next(r for r in results if r.model == spec.models[-1]))
    current = decision.current
    decision.recommended = row["name"]
    decision.cascade = row
    decision.fallbacks = [f.model for f in fallbacks]
    decision.entry = cascade_entry(task, row["name"], row["threshold"], results, fallbacks, pin)
    decision.cost_per_1k_recommended = row["cost_per_call"] * 1000
    decision.changed = current is None or any(current.get(k) != v for k, v in decision.entry.items()) \
        or "model" in current
    decision.status = "recommend" if decision.changed else "keep"
    first = row["stages"][0]
    decision.notes.append(f"cascade {row['name']}: {first['model']} answers {first['answered']} of {row['n']} cases"
                          + (f" at confidence >= {row['threshold']:g}" if row["threshold"] is not None else "")
                          + f"; the rest go on to the next stage (deferral {row['deferral_rate']:.1%}, "
                            f"interval {row['deferral_interval'][0]:.1%}–{row['deferral_interval'][1]:.1%})")


def _compare(task: Task, frame: Any, name: str, scores: dict[str, float], current_res: CandidateResult | None
             ) -> Any:
    """The cascade `name` (its per-case scores) against the current model on the cases both answered, or None."""
    if current_res is None or not current_res.n or not scores or frame is None or not len(frame):
        return None
    mine = _by_case(frame, current_res.model)
    common = [c for c in mine.index if str(c) in scores]
    if not common:
        return None
    xa = mine.loc[common].to_numpy(dtype=float)
    xb = [scores[str(c)] for c in common]
    margin = task.spec.max_regression or 0.0
    ni = noninferiority(xa, xb, margin=margin, confidence=task.spec.confidence)
    return Comparison(current_res.model, name, ni.n, float(xa.mean()), float(sum(xb) / len(xb)), ni.method,
                      ni.p_value, ni.describe(name, current_res.model, task.spec.max_regression is not None), margin=margin,
                      confidence=task.spec.confidence, diff=ni.diff, lower=ni.lower, shown=ni.shown,
                      required=task.spec.max_regression is not None)


def _known(value: Any) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value)


def cascade_result(decision: Decision) -> CandidateResult | None:
    """The recommended cascade's figures as a CandidateResult (what the report shows for a model),
    or None when the recommendation is a model."""
    if decision.cascade is None:
        return None
    result = measured(decision.cascade)
    result.target = entry_label(decision.entry or {})
    return result
