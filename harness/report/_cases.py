"""The case browser's data: one compact record per case, every model's answer side by side.

The records are embedded in the page as JSON and drawn by the page's script one page at a
time (with textContent only), so 10,000 cases x 5 models stay a few MB and a quick page.
Long texts are cut at TEXT_LIMIT characters here; the cut is marked in the text itself.

Layout (arrays, not objects, to keep the payload small; report.js reads the same positions):
    case  = [task_index, case_id, input, expected, tags, failed_any, disagree, cells]
    cell  = [output, passed, score, error, reasons, latency_ms, finish_reason, human] or null

`human` is people's verdict on that output from the task's labels file (1 pass, 0 fail, a
score between, the mean when several labels match), or null when nobody judged it.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

TEXT_LIMIT = 2000
REASON_LIMIT = 600


def case_payload(project: Any, rec: Any, reasons: dict[int, str]) -> dict[str, Any]:
    """Per task the models shown and per case the answers, in golden-set order."""
    frame = rec.frame
    tasks: list[dict[str, Any]] = []
    cases: list[list[Any]] = []
    if frame is None or len(frame) == 0:
        return {"tasks": tasks, "cases": cases}
    by_task = _cells_by_task(frame, reasons)
    for d in rec.decisions:
        answers = by_task.get(d.task)
        if not answers:
            continue
        task = project.tasks[d.task]
        present = {model for per_case in answers.values() for model in per_case}
        models = [m for m in task.spec.candidates if m in present]
        index = len(tasks)
        tasks.append({"name": d.task, "models": models, "recommended": d.recommended,
                      "current": d.current_model})
        golden = {c.id: c for c in task.golden.cases}
        order = [c.id for c in task.golden.cases if c.id in answers]
        order += sorted(set(answers) - set(order))  # stored cases no longer in the golden set
        labels = getattr(task, "labels", None)
        for case_id in order:
            per_model = answers[case_id]
            cells = [_with_human(per_model.get(m), m, case_id, labels) for m in models]
            verdicts = [c[1] for c in cells if c is not None]
            case = golden.get(case_id)
            cases.append([
                index, case_id,
                _cut(_input_text(case.vars) if case else ""),
                _cut(_text(case.expected) if case else ""),
                list(case.tags) if case else [],
                int(any(v != 1 for v in verdicts)),
                int(len(set(verdicts)) > 1),
                cells,
            ])
    return {"tasks": tasks, "cases": cases}


def _with_human(cell: list[Any] | None, model: str, case_id: str, labels: Any) -> list[Any] | None:
    """The cell with people's verdict on its output appended (None when nobody judged it)."""
    if cell is None:
        return None
    verdicts = [] if labels is None or cell[3] is not None else \
        [lab.verdict for lab in labels.for_case(case_id) if lab.matches(model, cell[7])]
    return cell[:7] + [round(sum(verdicts) / len(verdicts), 4) if verdicts else None]


def _cells_by_task(frame: Any, reasons: dict[int, str]) -> dict[str, dict[str, dict[str, list[Any]]]]:
    from ..util import redactor

    redact = redactor()  # texts stored before a key was known as one are redacted here too
    shown: dict[str, str] = {}  # answers repeat (labels): redact and cut each text once

    def hide(text: str) -> str:
        if text not in shown:
            shown[text] = _cut(redact(text))
        return shown[text]

    out: dict[str, dict[str, dict[str, list[Any]]]] = {}
    names = ("task", "model", "case_id", "id", "output", "passed", "score", "error", "error_type",
             "latency_ms", "finish_reason")
    # Missing values become None column by column, so the loop below only tests `is None`.
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in names]
    for task, model, case_id, rid, output, passed, score, error, error_type, latency, finish in zip(*columns):
        failed_call = error is not None
        if failed_call:  # a failed call counts as a failure (score 0), as in the decision rule
            verdict = 0
        else:
            verdict = None if passed is None else int(bool(passed))
        out.setdefault(task, {}).setdefault(str(case_id), {})[model] = [
            hide(output or ""),
            verdict,
            None if score is None else round(float(score), 4),
            _cut(redact(f"{error_type or 'error'}: {error}"), REASON_LIMIT) if failed_call else None,
            reasons.get(int(rid), ""),
            None if latency is None else round(float(latency), 1),
            finish,
            output,  # the full text, for matching human labels; dropped by _with_human
        ]
    return out


def load_reasons(store_url: str, result_ids: Iterable[int]) -> dict[int, str]:
    """Grader reasons per result id, several graders joined: 'exact: expected …; regex: …'.
    A judge's reason (its own words) is followed by its votes when it voted more than once."""
    from ..store import Store

    ids = list(result_ids)
    if not ids:
        return {}
    parts: dict[int, list[tuple[str, str]]] = {}
    with Store(store_url) as db:
        for rid, grader, reason, detail in db.grade_reasons(ids):
            parts.setdefault(rid, []).append((grader, reason + _votes(detail) if detail else reason))
    from ..util import redactor

    hide = redactor()
    out, shown = {}, {}  # reasons repeat: redact and cut each text once
    for rid, graded in parts.items():
        text = graded[0][1] if len(graded) == 1 else "; ".join(f"{name}: {why}" for name, why in graded)
        if text not in shown:
            shown[text] = _cut(hide(text), REASON_LIMIT)
        out[rid] = shown[text]
    return out


def _votes(detail: str | None) -> str:
    """' (votes: pass, fail, pass; spread 1.00)' for a judge that voted more than once, else ''."""
    if not detail:
        return ""
    try:
        d = json.loads(detail)
    except json.JSONDecodeError:
        return ""
    votes = d.get("votes") or []
    if len(votes) < 2:
        return ""
    shown = [str(v.get("verdict", v.get("outcome", v.get("score")))) for v in votes]
    spread = d.get("spread")
    return f" (votes: {', '.join(shown)}" + (f"; spread {spread:.2f})" if isinstance(spread, (int, float)) else ")")


def script_json(payload: Any) -> str:
    """JSON that is inert inside <script type="application/json">: no '<', '>', '&' or line
    separators survive as themselves, so no text (a model's '</script>' included) can end
    the element or be read as markup."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _input_text(variables: dict[str, Any]) -> str:
    if len(variables) == 1:
        return _text(next(iter(variables.values())))
    return "\n".join(f"{k}: {_text(v)}" for k, v in variables.items())


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _cut(text: str, limit: int = TEXT_LIMIT) -> str:
    text = str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f" …[{len(text) - limit:,} more characters not shown]"
