"""The library call behind `tierwise recommend`: decide every task from the current results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..project import Project
from ._rule import Decision, decide

JSON_VERSION = 1
UNREAD_COLUMNS = ("messages", "params")  # the rendered prompts and call parameters: nothing in deciding reads them


@dataclass
class Recommendation:
    decisions: list[Decision]
    store: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    frame: Any = None  # the current results the decisions were made from

    def against(self, model: str) -> "Against":
        """Projected monthly spend with `model` on every task against the recommendation."""
        return projected_against(self.decisions, model)

    def to_dict(self) -> dict[str, Any]:
        """The stable `--json` document (version 1); see docs/json.md."""
        return {"version": JSON_VERSION, "tasks": [d.to_dict() for d in self.decisions],
                "skipped_models": self.skipped}


@dataclass
class Against:
    """`recommend --against MODEL`: the month's spend with MODEL on every task that has a volume
    and MODEL's measured cost, against the recommendation on the same tasks (a task where nothing
    qualifies keeps MODEL: no saving is claimed there)."""

    model: str
    everywhere: float = 0.0
    recommended: float = 0.0
    tasks: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # no volume, or MODEL not measured on it



def projected_against(decisions: list[Decision], model: str) -> Against:
    out = Against(model)
    for d in decisions:
        base = next((c for c in d.candidates if c.model == model), None)
        if not d.monthly_volume or base is None or base.cost_per_call is None or not base.n:
            out.left_out.append(d.task)
            continue
        rec = next((c for c in d.candidates if c.model == d.recommended), None) if d.recommended else None
        new = rec.cost_per_call if rec is not None and rec.cost_per_call is not None else base.cost_per_call
        out.everywhere += base.cost_per_call * d.monthly_volume
        out.recommended += new * d.monthly_volume
        out.tasks.append(d.task)
    return out


def recommend(project: Project, tasks: list[str] | None = None, store: str | None = None,
              run_group: str | None = None) -> Recommendation:
    """Decide every selected task from the current stored results (only those rows are read).

    With `run_group` the group's shards must all have finished (a StoreError names the ones
    that have not), and the tasks default to those the group evaluated."""
    from ..registry import read_registry
    from ..runner import candidates_for, plan_run
    from ..store import Store, require_complete, results, safe_url

    from ._adaptive import recorded_settings

    url = project.store_url(store)
    if Store.missing(url) and run_group is None:  # nothing run yet: say so, without creating an empty database
        selected = project.select(tasks)
        cands = candidates_for(project, selected, check_keys=True)
        settings = {t.name: recorded_settings(t, []) for t in selected}
        frame, runs, stored = Store.empty_frame(), [], set()
    else:
        db = Store(url)
        try:
            if run_group is not None:
                group = require_complete(db, run_group)
                tasks = tasks or [t for t in group.tasks if t in project.tasks] or None
            selected = project.select(tasks)
            cands = candidates_for(project, selected, check_keys=True)
            all_runs = db.runs()
            # Each task as it was last run: adaptive or full, and with how many repeats per case.
            settings = {t.name: recorded_settings(t, all_runs) for t in selected}
            current_keys: dict = {}
            for task in selected:
                current_keys.update(plan_run([task], cands, repeats=settings[task.name][1]).current_keys())
            # Every column but those nothing here reads: they are most of each row's bytes.
            columns = [c.name for c in results.columns if c.name not in UNREAD_COLUMNS]
            frame = db.results_frame([t.name for t in selected], current=current_keys, columns=columns)
            used = set(frame["run_id"].unique()) if len(frame) else set()
            runs = [r for r in all_runs if r["id"] in used]
            stored = db.stored_pairs([t.name for t in selected])
        finally:
            db.close()
    registry = read_registry(project.registry_path)
    from ..audit import measured_volumes

    # Calls a month measured by the usage ledger replace the hand-written volumes: where present.
    volumes = {**project.config.volumes, **({} if Store.missing(url) else measured_volumes(project, store))}
    decisions = []
    for task in selected:
        rows = frame[frame["task"] == task.name] if len(frame) else frame
        evaluated = set(rows["model"]) if len(rows) else set()
        stale = frozenset(m for t, m in stored if t == task.name and m not in evaluated)
        decisions.append(decide(task, cands, rows, registry.get(task.name), volumes.get(task.name),
                                adaptive=settings[task.name][0], stale=stale))
    skipped = {n: c.skip_reason for n, c in cands.items() if not c.available}
    return Recommendation(decisions, safe_url(project.store_url(store)), runs, skipped, frame)
