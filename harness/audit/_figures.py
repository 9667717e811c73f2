"""The audit's figures from a table of attempts: per task, per pipeline run (trace) and step.

A call is the attempts sharing a call_id: its cost is every attempt's cost (a fallback's
failed try and an escalation's rejected answer are paid for too), its latency the sum of its
attempts'. Percentiles are numpy's linear interpolation over calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECONDS_PER_MONTH = 30 * 86400.0


@dataclass
class Call:
    call_id: str
    task: str
    model: str          # the model of the last attempt (whose answer was used, if any)
    at: float | None
    cost: float
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    fallback: bool
    escalated: bool
    contract_failures: int
    ok: bool
    trace: str | None
    step: str | None
    primary_failed: bool = False  # its first attempt failed (a fallback may have answered)


@dataclass
class TaskFigures:
    task: str
    calls: int
    attempts: int
    spend: float
    share: float
    cost_per_call: float
    p50_ms: float | None
    p95_ms: float | None
    fallback_rate: float
    escalation_rate: float
    contract_failures: int
    error_rate: float     # calls no attempt answered
    models: dict[str, int] = field(default_factory=dict)  # calls answered per model
    mean_prompt_tokens: float | None = None
    mean_completion_tokens: float | None = None
    primary_errors: int = 0   # calls whose first attempt failed, answered by a fallback or not


@dataclass
class StepFigures:
    step: str
    calls: int
    spend: float
    cost_per_run: float
    p50_ms: float | None
    p95_ms: float | None


@dataclass
class RunFigures:
    trace: str
    steps: int
    cost: float
    latency_ms: float
    started: float | None


@dataclass
class Pipelines:
    runs: int
    spend: float
    cost_per_run_mean: float
    cost_per_run_p50: float
    cost_per_run_p95: float
    latency_per_run_p50: float | None
    latency_per_run_p95: float | None
    steps: list[StepFigures]
    by_run: list[RunFigures]    # most expensive first


def calls_of(rows: list[dict[str, Any]]) -> list[Call]:
    """Group attempts into calls (rows without a call_id are one call each)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row.get("call_id") or f"#{i}", []).append(row)
    calls = []
    for call_id, attempts in groups.items():
        last = attempts[-1]
        latencies = [a["latency_ms"] for a in attempts if a.get("latency_ms") is not None]
        used = next((a for a in attempts if a.get("outcome") == "ok"), None)
        source = used or last
        calls.append(Call(
            call_id=call_id, task=last["task"], model=source["model"],
            at=min((a["at"] for a in attempts if a.get("at") is not None), default=None),
            cost=sum(a.get("cost") or 0.0 for a in attempts),
            latency_ms=sum(latencies) if latencies else None,
            prompt_tokens=source.get("prompt_tokens"), completion_tokens=source.get("completion_tokens"),
            fallback=any(a.get("kind") == "fallback" for a in attempts),
            escalated=any(a.get("kind") == "escalation" for a in attempts),
            contract_failures=sum(a.get("outcome") == "contract_failed" for a in attempts),
            ok=used is not None, trace=last.get("trace"), step=last.get("step"),
            primary_failed=attempts[0].get("outcome") not in ("ok", "contract_failed", "deferred")))
    return calls


def task_figures(calls: list[Call], attempts_per_task: dict[str, int]) -> list[TaskFigures]:
    """Per task, most spend first."""
    total = sum(c.cost for c in calls)
    by_task: dict[str, list[Call]] = {}
    for c in calls:
        by_task.setdefault(c.task, []).append(c)
    out = []
    for task, group in by_task.items():
        n = len(group)
        spend = sum(c.cost for c in group)
        models: dict[str, int] = {}
        for c in group:
            models[c.model] = models.get(c.model, 0) + 1
        out.append(TaskFigures(
            task=task, calls=n, attempts=attempts_per_task.get(task, n), spend=spend,
            share=spend / total if total > 0 else 0.0, cost_per_call=spend / n,
            p50_ms=percentile([c.latency_ms for c in group], 50), p95_ms=percentile([c.latency_ms for c in group], 95),
            fallback_rate=sum(c.fallback for c in group) / n, escalation_rate=sum(c.escalated for c in group) / n,
            contract_failures=sum(c.contract_failures for c in group), error_rate=sum(not c.ok for c in group) / n,
            models=dict(sorted(models.items(), key=lambda kv: -kv[1])),
            mean_prompt_tokens=_mean([c.prompt_tokens for c in group]),
            mean_completion_tokens=_mean([c.completion_tokens for c in group]),
            primary_errors=sum(c.primary_failed for c in group)))
    out.sort(key=lambda t: (-t.spend, t.task))
    return out


def pipelines(calls: list[Call]) -> Pipelines | None:
    """Cost and latency per pipeline run (calls sharing a trace) and per step; None without traces."""
    runs: dict[str, list[Call]] = {}
    for c in calls:
        if c.trace:
            runs.setdefault(c.trace, []).append(c)
    if not runs:
        return None
    by_run = [RunFigures(trace, len(group), sum(c.cost for c in group),
                         sum(c.latency_ms or 0.0 for c in group),
                         min((c.at for c in group if c.at is not None), default=None))
              for trace, group in runs.items()]
    by_run.sort(key=lambda r: (-r.cost, r.trace))
    steps: dict[str, list[Call]] = {}
    for group in runs.values():
        for c in group:
            steps.setdefault(c.step or c.task, []).append(c)
    step_figures = []
    for name, group in steps.items():
        spend = sum(c.cost for c in group)
        step_figures.append(StepFigures(name, len(group), spend, spend / len(runs),
                                        percentile([c.latency_ms for c in group], 50),
                                        percentile([c.latency_ms for c in group], 95)))
    order = {name: min(c.at or 0.0 for c in group) for name, group in steps.items()}
    step_figures.sort(key=lambda s: (order[s.step], s.step))
    costs = [r.cost for r in by_run]
    latencies = [r.latency_ms for r in by_run]
    return Pipelines(runs=len(runs), spend=sum(costs), cost_per_run_mean=sum(costs) / len(costs),
                     cost_per_run_p50=percentile(costs, 50) or 0.0, cost_per_run_p95=percentile(costs, 95) or 0.0,
                     latency_per_run_p50=percentile(latencies, 50), latency_per_run_p95=percentile(latencies, 95),
                     steps=step_figures, by_run=by_run)


def span_seconds(calls: list[Call]) -> float | None:
    """Seconds from the first call to the last (None with fewer than two timed calls)."""
    times = [c.at for c in calls if c.at is not None]
    if len(times) < 2 or max(times) <= min(times):
        return None
    return max(times) - min(times)


def percentile(values: list[float | None], q: float) -> float | None:
    import numpy as np

    data = [v for v in values if v is not None]
    return float(np.percentile(data, q)) if data else None


def _mean(values: list[float | None]) -> float | None:
    data = [v for v in values if v is not None]
    return sum(data) / len(data) if data else None
