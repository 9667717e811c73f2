"""`tierwise audit` as terminal text."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ..fmt import pct, spend

if TYPE_CHECKING:
    from ._audit import AuditResult


_pct = partial(pct, missing_mark="-")  # audit's tables mark a missing figure "-"


def audit_text(r: "AuditResult") -> str:
    lines = [f"{r.calls:,} calls ({r.attempts:,} attempts), {spend(r.spend)} spent{_span(r.span_s)}, from {r.source}"]
    if r.tasks:
        lines += ["", _table(
            ["task", "calls", "spend", "share", "per call", "p50 ms", "p95 ms", "fallback", "escalated",
             "contract fails", "errors", "unanswered"],
            [[t.task, f"{t.calls:,}", spend(t.spend), _pct(t.share), spend(t.cost_per_call), _ms(t.p50_ms),
              _ms(t.p95_ms), _pct(t.fallback_rate), _pct(t.escalation_rate), str(t.contract_failures),
              f"{t.primary_errors} ({_pct(t.primary_errors / t.calls if t.calls else 0.0)})", _pct(t.error_rate)]
             for t in r.tasks])]
    p = r.pipelines
    if p is not None:
        lines += ["", f"Pipelines: {p.runs:,} runs (traces), {spend(p.spend)}; per run: cost mean "
                      f"{spend(p.cost_per_run_mean)}, p50 {spend(p.cost_per_run_p50)}, "
                      f"p95 {spend(p.cost_per_run_p95)}; "
                      f"latency p50 {_ms(p.latency_per_run_p50)} ms, p95 {_ms(p.latency_per_run_p95)} ms",
                  _table(["step", "calls", "spend", "per run", "p50 ms", "p95 ms"],
                         [[s.step, f"{s.calls:,}", spend(s.spend), spend(s.cost_per_run), _ms(s.p50_ms), _ms(s.p95_ms)]
                          for s in p.steps]),
                  "most expensive runs: " + ", ".join(
                      f"{run.trace} {spend(run.cost)} ({run.steps} steps, {_ms(run.latency_ms)} ms)"
                      for run in p.by_run[:3])]
    if r.projections:
        now = sum(x.now for x in r.projections)
        after = sum(x.after if x.after is not None else x.now for x in r.projections)
        change = f" ({pct((after - now) / now, 0, signed=True)})" if now > 0 else ""
        applied = "the registry's entries and the current recommendation" if any(
            x.from_registry for x in r.projections) else "the current recommendation"
        lines += ["", f"Projected monthly spend: now {spend(now)}, with {applied} {spend(after)}{change}",
                  _table(["task", "calls/month", "from", "now", "after", "after runs", "backed by", "after is"],
                         [[x.task, f"{x.calls_per_month:,.0f}", x.volume_from, spend(x.now), spend(x.after),
                           x.recommended or "-", x.claim or "-", x.basis] for x in r.projections])]
        lines += [f"  {x.task}: {x.recommended} is backed by {x.backing}" for x in r.projections
                  if x.from_registry and x.backing]
    if r.monitors:
        lines += ["", "Live monitors:"] + [f"  {m.line()}" for m in r.monitors]
    if r.opportunities:
        lines += ["", "Where evaluation would pay most (at most, per month):"]
        lines += [f"  {i}. {o.task}: up to {spend(o.potential)}: {o.why}" for i, o in enumerate(r.opportunities, 1)]
    if r.sample is not None:
        s = r.sample
        picked = s.get("picked") or {}
        groups = ", ".join(f"{picked[k]} {name}" for k, name in (
            ("disagreement", "disagreeing with the challenger"), ("flagged", "flagged by the monitors"),
            ("random", "random")) if picked.get(k))
        lines += ["", f"wrote {s['written']} of {s['asked']} unlabelled candidates for {s['task']} to {s['path']}"
                      + (f": {groups}" if groups else "")
                      + (f" ({s['why']})" if s.get("why") else "")
                      + ("; label each (set expected, drop incumbent) and add it to the golden set" if s["written"]
                         else "")]
        if s.get("disagreements_not_captured"):
            lines.append(f"  {s['disagreements_not_captured']} disagreements with the challenger had no captured input "
                         f"(harness.Client(..., capture=True) keeps them)")
    lines += [f"note: {n}" for n in r.notes]
    return "\n".join(lines)


def _table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = lambda cells: "  ".join(  # noqa: E731
        (c.ljust(w) if i == 0 else c.rjust(w)) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([fmt(head)] + [fmt(r) for r in rows])


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def _span(span_s: float | None) -> str:
    if span_s is None:
        return ""
    if span_s >= 86400:
        return f" over {span_s / 86400:.1f} days"
    if span_s >= 3600:
        return f" over {span_s / 3600:.1f} hours"
    return f" over {span_s / 60:.1f} minutes" if span_s >= 60 else f" over {span_s:.1f} s"
