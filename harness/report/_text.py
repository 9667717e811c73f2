"""Terminal text: the run's summary table, and `tierwise recommend` (per task, what to run,
how sure, what it costs, and why). Reads the same in a terminal and a CI log."""

from __future__ import annotations

import math
from typing import Any

from ..decide import Against, Decision, Recommendation, cascade_result, entry_label, projected_monthly
from ._data import judge_lines
from ._fmt import confidence, money, pct, signed_money
from ..util import below


def run_table(summary: Any) -> str:
    """The per task × model table a run prints (summary: decide.summarize's DataFrame). Its name
    columns are as wide as the longest name (up to a cap); a longer name keeps its start and
    its end around an ellipsis, so two names that differ at the end never look the same."""
    rows = list(summary.itertuples(index=False))
    tw = min(max([4, *(len(str(r.task)) for r in rows)]), 48)
    mw = min(max([5, *(len(str(r.model)) for r in rows)]), 32)
    tasks = _fitted([str(r.task) for r in rows], tw)
    models = _fitted([str(r.model) for r in rows], mw)
    header = f"{'task':<{tw}} {'model':<{mw}} {'n':>4} {'mean':>6} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} " \
             f"{'tok in':>7} {'tok out':>7} {'$ / call':>11}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{tasks[str(r.task)]:<{tw}} {models[str(r.model)]:<{mw}} {r.n:>4} {r.mean:>6.3f} {r.errors:>4} "
            f"{_num(r.p50_ms, 8, 0)} {_num(r.p95_ms, 8, 0)} {_num(r.prompt_tokens, 7, 0)} "
            f"{_num(r.completion_tokens, 7, 1)} {_per_call(r.cost_per_call)}"
        )
    return "\n".join(lines)


def _fitted(names: list[str], width: int) -> dict[str, str]:
    """Each name in `width` characters: as it is, or its start and end around "…"; names that
    would still look alike (they differ in the middle) end in "…#" and a short digest instead."""
    import hashlib

    def fit(name: str) -> str:
        if len(name) <= width:
            return name
        tail = (width - 1) // 2
        return name[:width - 1 - tail] + "…" + name[len(name) - tail:]

    shown = {n: fit(n) for n in dict.fromkeys(names)}
    counts: dict[str, int] = {}
    for text in shown.values():
        counts[text] = counts.get(text, 0) + 1
    for name, text in shown.items():
        if counts[text] > 1:
            shown[name] = name[:width - 6] + "…#" + hashlib.sha1(name.encode()).hexdigest()[:4]
    return shown


def _num(value: float, width: int, digits: int) -> str:
    return f"{'–':>{width}}" if value is None or math.isnan(value) else f"{value:>{width}.{digits}f}"


def _per_call(value: float) -> str:
    if value is None or math.isnan(value):
        return f"{'unpriced':>11}"
    return f"{value:>11.7f}" if value < 0.01 else f"{value:>11.4f}"


def recommendation_text(rec: Recommendation, wrote: Any = None) -> str:
    """`tierwise recommend`'s text: a block per task, then the totals."""
    blocks = [_task_block(d) for d in rec.decisions]
    counts = {s: sum(d.status == s for d in rec.decisions) for s in ("recommend", "keep", "no_qualifier", "no_data")}
    updates = sum(d.status == "recommend" and d.current_model == d.recommended for d in rec.decisions)
    change = f"{counts['recommend'] - updates} to change model"
    if updates:
        change += f", {updates} to update (fallbacks or parameters only)"
    tail = (f"{len(rec.decisions)} task{'' if len(rec.decisions) == 1 else 's'}: {change}, {counts['keep']} unchanged, "
            f"{counts['no_qualifier']} with nothing qualifying, {counts['no_data']} without results")
    spend = _monthly(rec.decisions)
    if spend:
        tail += "\n" + spend
    if rec.skipped:
        tail += "\nnot evaluated here: " + "; ".join(f"{m} ({why})" for m, why in rec.skipped.items())
    if wrote is not None:
        tail += "\n" + wrote.text()
    elif counts["recommend"]:
        tail += "\nrun `tierwise recommend --write` to update the registry"
    return "\n\n".join(blocks + [tail])


def _task_block(d: Decision) -> str:
    head = f"{d.task}  (threshold {d.threshold:g} at {pct(d.confidence, 0)} confidence)"
    lines = [head]
    current = entry_label(d.current) if d.current else "(no entry)"
    lines.append(f"  current:    {current}{_name(d.current_model)}")
    best = cascade_result(d) or next((c for c in d.candidates if c.model == d.recommended), None)
    if best is not None:
        verb = "keep" if d.status == "keep" else "update" if d.current_model == d.recommended else "recommend"
        fallbacks = ", ".join(d.fallbacks) or "none"
        lines.append(f"  {verb + ':':<11} {best.target}  [{best.model}]   fallbacks: {fallbacks}")
        at = f" at {confidence(1 - best.level, 4)}" if best.level and not best.adaptive else ""
        lines.append(f"  quality:    mean {best.mean:.3f}, lower bound {below(best.lower)}{at} ({best.method}, n={best.n})"
                     f"   errors {pct(best.error_rate)}   p95 {_ms(best.p95_ms)}")
        if best.consistency:
            lines.append("  per case:   " + ", ".join(f"{k} on {n}" for k, n in best.consistency.items()))
        lines.append(f"  cost:       {_per_1k(d.cost_per_1k_recommended)} per 1,000 calls{_saving(d)}")
    else:
        lines.append("  verdict:    entry unchanged")
    lines.append(f"  why:        {d.reason}")
    if d.procedure:
        lines.append(f"  procedure:  {d.procedure}")
    for c in d.candidates:
        if c.adaptive:
            lines.append(f"  adaptive:   {c.model}: {c.adaptive}")
    if d.suggested_cascades is not None:
        lines.append(f"  suggested:  {suggested_line(d.suggested_cascades)}")
    lines += [f"  cascade:    {line}" for line in cascade_lines(d)]
    if d.judge_agreement is not None or any(c.plain_lower is not None for c in d.candidates):
        lines += [f"  judge:      {line}" for line in judge_lines(d)]
    if d.comparison is not None:
        lines.append(f"  non-inferiority{' (required)' if d.comparison.required else ''}: {d.comparison.detail}")
    for note in d.notes:
        lines.append(f"  note:       {note}")
    if d.sample_size_note and d.status in ("no_qualifier", "no_data"):
        lines.append(f"  sample:     {d.sample_size_note}")
    return "\n".join(lines)


def suggested_line(suggested: dict) -> str:
    """How many of the cascades the ladder suggests (`cascades: suggest`) were tried, and which."""
    tried, n = suggested["tried"], suggested["suggested"]
    names = f": {', '.join(tried)}" if tried else ""
    return (f"tried {len(tried)} of the {n} cascade{'s' if n != 1 else ''} the ladder suggests{names} "
            f"(each cheaper candidate in front of each qualifying one, else the dearest; all {n} count in the family)")


def cascade_lines(d: Decision) -> list[str]:
    """One line per cascade: certified at which threshold, quality, deferral, cost; or why not.
    The recommended one (the cheapest usable policy, decide/_cascade_policy.py) says so."""
    lines = []
    for c in d.cascades:
        if not c["qualifies"]:
            lines.append(f"{c['name']}: {c['why_not']}")
            continue
        at = "" if c["threshold"] is None else f" at confidence >= {c['threshold']:g}"
        lo, hi = c["deferral_interval"]
        cost = "unpriced" if c["cost_per_call"] is None or math.isnan(c["cost_per_call"]) \
            else money(c["cost_per_call"] * 1000)
        role = " (recommended)" if d.cascade is not None and d.cascade["name"] == c["name"] else ""
        lines.append(f"{c['name']}: certified{at}{role}: mean {c['mean']:.3f}, lower bound {below(c['lower'])} "
                     f"(n={c['n']}); first stage defers {pct(c['deferral_rate'])} [{pct(lo)}, {pct(hi)}]; "
                     f"{cost} per 1,000 calls, p95 {_ms(c['p95_ms'])}")
    return lines


def _name(model: str | None) -> str:
    return f"  [{model}]" if model else ""


def _ms(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.0f} ms"


def _per_1k(value: float | None) -> str:
    return "unpriced" if value is None else money(value)


def _saving(d: Decision) -> str:
    if d.cost_per_1k_current is None or d.cost_per_1k_recommended is None or d.status != "recommend" \
            or d.current_model == d.recommended:  # only fallbacks or params change: no saving to show
        return ""
    saving = d.cost_per_1k_current - d.cost_per_1k_recommended
    text = f"   (saves {money(saving)} per 1,000 vs current)" if saving >= 0 else \
        f"   (costs {money(-saving)} more per 1,000 than current)"
    if d.monthly_volume:
        text += f"; {signed_money(saving * d.monthly_volume / 1000)}/month at {d.monthly_volume:,.0f} calls"
    return text


def _monthly(decisions: list[Decision]) -> str:
    spend = projected_monthly(decisions)
    if spend is None:
        return ""
    before, after, counted = spend
    return f"projected monthly spend over {counted} tasks with volumes: {money(before)} now → {money(after)} recommended"


def against_text(a: Against) -> str:
    """`recommend --against MODEL`'s line: the month with MODEL everywhere against the recommendation."""
    if not a.tasks:
        return (f"against {a.model}: no task has both a volume and {a.model}'s measured cost "
                f"(left out: {', '.join(a.left_out) or 'none'})")
    saved = a.everywhere - a.recommended
    share = f" ({pct(saved / a.everywhere, 0)} less)" if a.everywhere > 0 else ""
    line = (f"against {a.model} on every task: {money(a.everywhere)}/month → {money(a.recommended)} "
            f"recommended{share}, over {len(a.tasks)} tasks with volumes")
    if a.left_out:
        line += f" (left out, no volume or not measured: {', '.join(a.left_out)})"
    return line
