"""The Markdown summary: one table of tasks, the reasons, and the registry diff.

Written for a pull-request comment and for $GITHUB_STEP_SUMMARY, so it stays short; the
HTML report has the rest.
"""

from __future__ import annotations

from typing import Any

from ..decide import entry_label
from ._data import RegistryDiff, TaskView, headline, judge_lines, monthly
from ._fmt import money, score, signed_money


def markdown_summary(views: list[TaskView], diff: RegistryDiff, skipped: dict[str, str], meta: dict[str, Any]) -> str:
    lines = ["## Tierwise: model per task", "", headline(views), ""]
    lines += ["| Task | Current → recommended | Lower bound / threshold | Cost per 1k calls | Saving per 1k "
              "| Verdict |",
              "|---|---|---|---|---|---|"]
    for v in views:
        lines.append("| " + " | ".join(_cell(x) for x in _row(v)) + " |")
    spend = monthly(views)
    if spend:
        before, after, counted = spend
        lines += ["", f"Projected monthly spend over {counted} task{'s' if counted != 1 else ''} with volumes: "
                      f"{money(before)} now → {money(after)} recommended."]
    lines += ["", "**Why**", ""]
    for v in views:
        why = v.d.reason + (f"; {v.shortfall}" if v.shortfall else "")
        lines.append(f"- **{_cell(v.d.task)}**: {_cell(v.action)}. Why: {_cell(why)}.")
        if v.d.procedure:
            lines.append(f"  - decided by {_cell(v.d.procedure)}")
        if v.d.comparison is not None:
            lines.append(f"  - non-inferiority against the current model: {_cell(v.d.comparison.detail)}")
        for c in v.d.candidates:
            if c.adaptive:
                lines.append(f"  - {_cell(c.model)}: {_cell(c.adaptive)}")
        if v.judged:
            lines += [f"  - {_cell(line)}" for line in judge_lines(v.d, v.eval_costs)]
        lines += [f"  - note: {_cell(n)}" for n in v.d.notes]
    if diff.text:
        lines += ["", f"<details><summary>{_cell(diff.path)}: the change <code>tierwise recommend --write</code> "
                      f"would make</summary>", "", "```diff", diff.text, "```", "", "</details>"]
    else:
        lines += ["", f"{_cell(diff.path)}: no change."]
    if skipped:
        lines += ["", "Not evaluated here: " + "; ".join(f"{_cell(m)} ({_cell(w)})" for m, w in skipped.items()) + "."]
    lines += ["", f"<sub>tierwise {_cell(meta['tierwise_version'])}, generated {_cell(meta['generated_at'])}; "
                  f"full report: {_cell(meta['html'])}</sub>", ""]
    return "\n".join(lines)


def _row(v: TaskView) -> list[str]:
    d = v.d
    current = f"`{entry_label(d.current)}`" if d.current else "(no entry)"
    if d.recommended:
        target = v.best.target if v.best else d.recommended
        models = f"{current} → `{target}`" if d.status == "recommend" else f"`{target}` (unchanged)"
    else:
        models = f"{current} (unchanged)"
    if v.best is not None and v.best.n:
        bound = f"{score(v.best.lower)} / {d.threshold:g} ({v.best.model}, n={v.best.n})"
    else:
        bound = f"– / {d.threshold:g}"
    if d.cost_per_1k_recommended is not None:
        cost = f"{money(d.cost_per_1k_current) if d.cost_per_1k_current is not None else '–'} → " \
               f"{money(d.cost_per_1k_recommended)}"
    else:
        cost = money(d.cost_per_1k_current) if d.cost_per_1k_current is not None else "–"
    saving = "–"
    if v.saving_per_1k is not None:
        saving = signed_money(v.saving_per_1k)
        if v.monthly_saving is not None:
            saving += f" ({signed_money(v.monthly_saving)}/month)"
    verdict = {"change": "**change**", "keep": "keep"}.get(v.verdict_class, v.verdict)
    return [d.task, models, bound, cost, saving, verdict]


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipes, newlines or raw HTML."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", " ").replace("\n", " "))
