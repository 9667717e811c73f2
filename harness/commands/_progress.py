"""A run in progress, per task and candidate: how many of its planned calls are done (`tierwise
view` polls this while `tierwise run` writes results).

The total is the run's own plan, made again the way the run made it (runner.plan_run over the
models it planned, with its --limit, --shard and repeats, read from the run's info): the same
function, so "total" means what the run will call or keep. A call is *done* when the store holds
a result the run keeps for it (Store.done_counts: written by this run, or stored before without
an error, which the run reuses). An adaptive run may stop a candidate before its total; a
candidate whose spec or golden set changed since the run started cannot be counted against the
run's plan (its current keys are not the run's), and says so instead of showing a count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..project import Project
from ..runner import candidates_for, plan_run
from ..store import Store, run_info

MAX_RUNS = 10  # live runs shown at once (shards of one group are runs of their own)


@dataclass
class ModelProgress:
    model: str
    done: int | None          # None: cannot be counted (see `note`)
    total: int
    note: str = ""


@dataclass
class TaskProgress:
    task: str
    models: list[ModelProgress]
    note: str = ""


@dataclass
class RunProgress:
    run_id: str
    started_at: float
    group: str | None = None
    shard: str | None = None          # "2/4"
    tasks: list[TaskProgress] = field(default_factory=list)


@dataclass
class LiveProgress:
    runs: list[RunProgress]

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "runs": [asdict(r) for r in self.runs]}


def run_progress(project: Project, store: str | None = None, task: str | None = None) -> LiveProgress:
    """The runs in progress on the project's store (only `task`'s part when given), newest first.

    Reads only: a store that does not exist yet has no run in progress, and none is created."""
    url = project.store_url(store)
    if Store.missing(url):
        return LiveProgress([])
    out = []
    with Store(url) as db:
        for run in db.live_runs(limit=MAX_RUNS):
            info = run_info(run)
            shard = info.get("shard")
            progress = RunProgress(run["id"], float(run["started_at"]), run.get("run_group"),
                                   f"{shard[0]}/{shard[1]}" if isinstance(shard, list) and len(shard) == 2 else None)
            names = [n for n in info.get("tasks") or [] if n in project.tasks and (task is None or n == task)]
            for name in names:
                progress.tasks.append(_task_progress(db, project, name, info, run["id"]))
            if progress.tasks or task is None:
                out.append(progress)
    return LiveProgress(out)


def _task_progress(db: Store, project: Project, name: str, info: dict[str, Any], run_id: str) -> TaskProgress:
    task = project.tasks[name]
    state = (info.get("state") or {}).get(name) or {}
    planned: dict[str, str] = state.get("spec") or {}
    known = [m for m in planned if m in project.config.models and m in task.spec.candidates]
    gone = [m for m in planned if m not in known]
    out = TaskProgress(name, [])
    if gone:
        out.note = f"no longer in the spec or catalog: {', '.join(gone)}"
    if not known:
        return out
    shard = info.get("shard")
    repeats = (info.get("repeats") or {}).get(name)
    plan = plan_run([task], candidates_for(project, [task], known, check_keys=False), limit=info.get("limit"),
                    shard=tuple(shard) if isinstance(shard, list) and len(shard) == 2 else None,
                    repeats=repeats if isinstance(repeats, int) and repeats > 0 else None)
    recorded_cases = state.get("cases") or {}
    cases_changed = any(recorded_cases.get(it.case.id) not in (None, it.case_hash) for it in plan.items)
    totals: dict[str, int] = {}
    spec_now: dict[str, str] = {}
    for it in plan.items:
        totals[it.cand.name] = totals.get(it.cand.name, 0) + 1
        spec_now[it.cand.name] = it.spec_hash
    done = db.done_counts(plan.current_keys(), [run_id])
    for model in known:
        total = totals.get(model, 0)
        if cases_changed:
            out.models.append(ModelProgress(model, None, total, "the golden set changed since the run started"))
        elif spec_now.get(model) != planned[model]:
            out.models.append(ModelProgress(model, None, total, "its spec changed since the run started"))
        else:
            out.models.append(ModelProgress(model, done.get((name, model), 0), total))
    if name in (info.get("adaptive") or {}):
        out.note = "; ".join(filter(None, [out.note, "adaptive: a candidate may stop before its total once settled"]))
    return out
