"""The library call behind `tierwise recommend`: decide every task from the current results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..project import Project
from ._rule import Decision, decide

JSON_VERSION = 1


@dataclass
class Recommendation:
    decisions: list[Decision]
    store: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    frame: Any = None  # the current results the decisions were made from

    def to_dict(self) -> dict[str, Any]:
        """The stable `--json` document (version 1); see docs/json.md."""
        return {"version": JSON_VERSION, "tasks": [d.to_dict() for d in self.decisions],
                "skipped_models": self.skipped}


def recommend(project: Project, tasks: list[str] | None = None, store: str | None = None) -> Recommendation:
    """Decide every selected task from the current stored results."""
    from ..registry import read_registry
    from ..runner import candidates_for, plan_run
    from ..store import Store, safe_url

    selected = project.select(tasks)
    cands = candidates_for(project, selected, check_keys=True)
    current_keys = plan_run(selected, cands).current_keys()
    url = project.store_url(store)
    if Store.missing(url):  # nothing run yet: say so, without creating an empty database
        frame, runs = Store.empty_frame(), []
    else:
        db = Store(url)
        try:
            frame = db.results_frame([t.name for t in selected], current=current_keys)
            runs = db.runs()
        finally:
            db.close()
    registry = read_registry(project.registry_path)
    decisions = []
    for task in selected:
        rows = frame[frame["task"] == task.name] if len(frame) else frame
        decisions.append(decide(task, cands, rows, registry.get(task.name), project.config.volumes.get(task.name)))
    skipped = {n: c.skip_reason for n, c in cands.items() if not c.available}
    return Recommendation(decisions, safe_url(project.store_url(store)), runs, skipped, frame)
