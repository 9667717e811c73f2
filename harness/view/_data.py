"""What the task and label pages carry: the report's task view and case records for one task,
the people's verdicts beside the judge's, and the labelling queue as JSON for the page's script."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._queue import MAX_ITEMS, _matches, _verdict, build_queues, judge_rows, labels_target, not_counted, read_labels


@dataclass
class _OneTask:
    """The slice of a Recommendation the report's case_payload reads, for one task."""

    frame: Any
    decisions: list[Any]


def task_data(project: Any, rec: Any, name: str) -> tuple[Any, dict[str, Any]]:
    """(the report's TaskView of the task, the page's data: cases side by side, human verdicts)."""
    from ..report import case_payload, load_reasons, task_views

    view = task_views(project, rec)[0]
    frame = rec.frame[rec.frame["task"] == name] if rec.frame is not None and len(rec.frame) else rec.frame
    ids = frame["id"].tolist() if frame is not None and len(frame) else []
    payload = case_payload(project, _OneTask(frame, rec.decisions), load_reasons(project.store_url(), ids))
    human: dict[str, dict[str, float]] = {}
    task = project.tasks[name]
    if task.uses_judge:
        given = read_labels(labels_target(project, task))
        for row in judge_rows(frame):
            verdicts = [v for v in (_verdict(g) for g in given if _matches(g, row)) if v is not None]
            if verdicts:
                human.setdefault(row["case"], {})[row["model"]] = sum(verdicts) / len(verdicts)
    payload["human"] = human
    payload["judged"] = task.uses_judge
    return view, payload


def label_data(project: Any, rec: Any) -> tuple[list[Any], dict[str, Any]]:
    """(the queues' summaries for the template, the items for the page's script, best first)."""
    queues = build_queues(project, rec)
    items = []
    for q in queues:
        items += [{"key": it.key, "kind": it.kind, "task": it.task, "case": it.case, "input": it.input,
                   "outputs": it.outputs, "target": q.target, "reference": it.reference, "rubric": q.rubric}
                  for it in q.items]
    # judge items already come best first within a task; across tasks, the highest priority first
    order = {it.key: it.priority for q in queues for it in q.items}
    items.sort(key=lambda it: -order[it["key"]])
    return queues, {"items": items[:MAX_ITEMS], "total": len(items), "short": [q.short for q in queues if q.short]}


def verdict_counts(task: Any, d: Any) -> dict[str, Any] | None:
    """For a task whose spec names judge.labels: the file, its verdicts (retracted ones left out),
    how many of them are about a current output and so count in the decision `d` (decide's own
    count), and why the rest do not. None for a task without a labels file."""
    labels = task.labels
    if labels is None or task.spec.judge is None or not task.spec.judge.labels:
        return None
    agreement = d.judge_agreement or {}
    in_file = len(labels.labels)
    counted = agreement.get("labels", in_file) - agreement.get("unmatched_labels", in_file)
    return {"file": task.spec.judge.labels, "in_file": in_file, "counted": counted,
            "outputs": agreement.get("n", 0), "not_counted": not_counted(in_file - counted)}
