"""`tierwise diff`: what changed between two runs, per task and model.

A run here is what one `tierwise run` stored, or a whole run group (the shards of a sharded
run, `--run-group`), which counts as one run. Each side is the *state of the results under
that run's spec*: per task and model, every stored result that was current under the spec,
catalog entry and golden set the run ran with and that existed when the run finished —
whichever run made it. So re-running one candidate on one new case compares 50 cases against
51, not 50 against 1, and a resumed run compares everything it completed, not only what it
happened to call. Which models each side has is what its state holds: a model shows as "only
in run B" only when no result under A's spec existed when A finished.

"Current under a run" is read from what the run recorded (its info's `state`: the golden set's
case hashes and each planned model's spec hash, Plan.state). For a model the run did not call
(`--models`), and for runs recorded before that, the model's spec is the one of its latest result
at the time, and a case counts with its latest case hash. A call made again later with the same
key (`--no-cache`) replaces its stored row, so an earlier run's state lacks those cases; each
side's n says how many it has.

Per task and model, each side's figures come from the same computation as the recommender's
(decide/_figures.py, decide/stats.py): n, mean, the one-sided lower bound at the task's
confidence, error rate, p50/p95 latency, cost per call. A case *flipped* when it passed in
one run's state and failed in the other's (a failed call counts as failed, as in the decision
rule); only cases present in both can flip.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..decide import figures, stats
from ..errors import StoreError
from ..store import Store, run_info, safe_url

FIGURES = ("n", "mean", "lower", "error_rate", "p50_ms", "p95_ms", "cost_per_call")
_COLUMNS = ["id", "run_id", "task", "model", "case_id", "score", "passed", "error", "cost", "latency_ms",
            "prompt_tokens", "completion_tokens", "finish_reason"]


@dataclass
class RunRef:
    """One side of a diff: a run, or a run group read as one run."""

    label: str                 # the run id, or the group's name
    run_ids: list[str]
    started_at: float
    group: bool = False
    finished_at: float | None = None  # when its last run finished (None: still running: now)
    state: dict[str, Any] = field(default_factory=dict, repr=False)  # task -> Plan.state's record


@dataclass
class ModelDiff:
    model: str
    a: dict[str, Any] | None          # FIGURES of run A, None when A has no rows of this model
    b: dict[str, Any] | None
    now_failing: list[str] = field(default_factory=list)   # passed in A, failed in B
    now_passing: list[str] = field(default_factory=list)   # failed in A, passed in B
    common: int = 0                                        # cases evaluated in both runs


@dataclass
class TaskDiff:
    task: str
    a: RunRef
    b: RunRef
    confidence: float
    models: list[ModelDiff]


@dataclass
class RunDiff:
    tasks: list[TaskDiff]
    unpaired: dict[str, str] = field(default_factory=dict)   # task -> why it has nothing to compare

    def to_dict(self) -> dict[str, Any]:
        """The `--json` document: per task, both runs and per model both sides' figures and flips."""
        tasks = [_clean(asdict(t)) for t in self.tasks]
        for t in tasks:  # what "current" meant for each run: the diff's input, not its result
            t["a"].pop("state"), t["b"].pop("state")
        return {"version": 1, "tasks": tasks, "unpaired": self.unpaired}

    def text(self) -> str:
        lines: list[str] = []
        for t in self.tasks:
            lines.append(f"{t.task}: {_ref(t.a)} → {_ref(t.b)}")
            for m in t.models:
                lines.append("  " + _model_line(m))
        lines += [f"{task}: {why}" for task, why in self.unpaired.items()]
        return "\n".join(lines) if lines else "no runs to compare"


def diff(project: Any, run_a: str | None = None, run_b: str | None = None, store: str | None = None,
         tasks: list[str] | None = None) -> RunDiff:
    """Compare two runs per task and model; with no runs given, the last two runs of each task.

    A run is named by its id (or a unique prefix of at least 4 characters) or by its run
    group's name; a run that belongs to a group stands for the whole group."""
    if (run_a is None) != (run_b is None):
        raise StoreError("diff: give two runs (RUN_A RUN_B) or none; fix: `tierwise diff` compares the last two "
                         "runs of each task, `tierwise diff RUN_A RUN_B` two named runs or run groups")
    names = tasks or None
    db = Store(project.store_url(store))
    try:
        refs = _refs(db)
        by_task = _runs_by_task(db, refs, names)
        out = RunDiff([])
        if run_a is not None:
            a, b = _resolve(refs, run_a, db.url), _resolve(refs, run_b, db.url)
            pairs = {task: (a, b) for task, seen in by_task.items()
                     if {r.label for r in seen} & {a.label, b.label}}
            if not pairs:
                raise StoreError(f"diff: runs {a.label} and {b.label} stored no results"
                                 + (f" of {', '.join(names)}" if names else "")
                                 + "; fix: pick runs from `tierwise diff` or the report's run list")
        else:
            pairs = {}
            for task, seen in by_task.items():
                if len(seen) < 2:
                    out.unpaired[task] = f"only one run ({seen[0].label}) stored results; nothing to compare"
                else:
                    pairs[task] = (seen[-2], seen[-1])
        for task, (a, b) in pairs.items():
            out.tasks.append(_task_diff(db, project, task, a, b))
        return out
    finally:
        db.close()


def task_runs(project: Any, task: str, store: str | None = None) -> list[RunRef]:
    """The runs (a run group as one) that stored results of `task`, oldest first: what `diff`
    can compare for it. Reads only: a store that does not exist yet has none."""
    url = project.store_url(store)
    if Store.missing(url):
        return []
    with Store(url) as db:
        return _runs_by_task(db, _refs(db), [task]).get(task, [])


def _refs(db: Any) -> dict[str, RunRef]:
    """Every run id -> its RunRef (a group's runs share one)."""
    groups: dict[str, RunRef] = {}
    out: dict[str, RunRef] = {}
    for run in db.runs():
        name = run.get("run_group")
        if name:
            ref = groups.setdefault(name, RunRef(name, [], run["started_at"], group=True, finished_at=-math.inf))
            ref.run_ids.append(run["id"])
            ref.started_at = max(ref.started_at, run["started_at"])
        else:
            ref = RunRef(run["id"], [run["id"]], run["started_at"], finished_at=-math.inf)
        done = run.get("finished_at")
        ref.finished_at = None if done is None or ref.finished_at is None else max(ref.finished_at, done)
        for task, state in (run_info(run).get("state") or {}).items():
            merged = ref.state.setdefault(task, {"cases": {}, "spec": {}})
            merged["cases"].update(state.get("cases") or {})
            merged["spec"].update(state.get("spec") or {})
        out[run["id"]] = ref
    return out


def _resolve(refs: dict[str, RunRef], name: str, url: str) -> RunRef:
    by_label = {ref.label: ref for ref in refs.values()}
    if name in by_label:
        return by_label[name]
    if name in refs:
        return refs[name]
    matches = {refs[i].label: refs[i] for i in refs if len(name) >= 4 and i.startswith(name)}
    if len(matches) == 1:
        return next(iter(matches.values()))
    recent = sorted({r.label: r for r in refs.values()}.values(), key=lambda r: r.started_at)[-5:]
    known = ", ".join(r.label for r in reversed(recent)) or "(no runs)"
    what = "matches several runs" if matches else "is no run id or run group"
    raise StoreError(f"{safe_url(url)}: {name!r} {what}; fix: name a run id or run group (latest: {known})")


def _runs_by_task(db: Any, refs: dict[str, RunRef], tasks: list[str] | None) -> dict[str, list[RunRef]]:
    """Per task, the runs (groups as one) that stored results of it, oldest first."""
    out: dict[str, dict[str, RunRef]] = {}
    for task, run_id in db.task_runs(tasks):
        ref = refs.get(run_id)
        if ref is not None:   # rows whose run record is gone have no time to order them by
            out.setdefault(task, {})[ref.label] = ref
    return {task: sorted(seen.values(), key=lambda r: r.started_at) for task, seen in sorted(out.items())}


def _task_diff(db: Any, project: Any, task: str, a: RunRef, b: RunRef) -> TaskDiff:
    spec = project.tasks.get(task)
    confidence = spec.spec.confidence if spec is not None else 0.95
    frames = [_state(db, task, ref) for ref in (a, b)]
    order = list(spec.spec.candidates) if spec is not None else []
    models = order + sorted({m for f in frames for m in f["model"]} - set(order))
    out = []
    for model in models:
        sides = [f[f["model"] == model] for f in frames]
        if not any(len(s) for s in sides):
            continue
        md = ModelDiff(model, *(_figures(s, confidence) if len(s) else None for s in sides))
        outcome = [_outcomes(s) for s in sides]
        common = sorted(set(outcome[0]) & set(outcome[1]))
        md.common = len(common)
        md.now_failing = [c for c in common if outcome[0][c] and not outcome[1][c]]
        md.now_passing = [c for c in common if not outcome[0][c] and outcome[1][c]]
        out.append(md)
    return TaskDiff(task, a, b, confidence, out)


def _state(db: Any, task: str, ref: RunRef) -> Any:
    """The task's results current under `ref`'s spec as they stood when it finished (see the
    module's docstring): per model its spec's rows, per case its golden set's version."""
    rows = db.results_until(task, ref.finished_at, _COLUMNS + ["spec_hash", "case_hash"])
    if not len(rows):
        return rows
    recorded = ref.state.get(task) or {"cases": {}, "spec": {}}
    latest = rows.groupby("model", sort=False)["spec_hash"].last().to_dict()
    own = rows[rows["run_id"].isin(ref.run_ids)].groupby("model", sort=False)["spec_hash"].last().to_dict()
    spec = {**latest, **own, **recorded["spec"]}
    rows = rows[rows["spec_hash"] == rows["model"].map(spec)]
    if recorded["cases"]:
        cases = recorded["cases"]
    else:  # a run recorded before its state was: each case's latest version
        cases = rows.groupby("case_id", sort=False)["case_hash"].last().to_dict()
    return rows[rows["case_hash"] == rows["case_id"].map(cases)].reset_index(drop=True)


def _figures(rows: Any, confidence: float) -> dict[str, Any]:
    f = figures(rows)
    bound = stats.lower_bound(f["scores"], confidence)
    return {"n": f["n"], "mean": f["mean"], "lower": bound.lower, "method": bound.method,
            "error_rate": f["error_rate"], "p50_ms": f["p50_ms"], "p95_ms": f["p95_ms"],
            "cost_per_call": f["cost_per_call"]}


def _outcomes(rows: Any) -> dict[str, bool]:
    """case id -> passed (a failed call is a failure); the latest row of a case wins."""
    out: dict[str, bool] = {}
    for case_id, passed, error in zip(rows["case_id"], rows["passed"], rows["error"]):
        out[str(case_id)] = error is None and bool(passed) and passed == passed  # NaN is not a pass
    return out


# -- text -------------------------------------------------------------------------------------------

def _ref(ref: RunRef) -> str:
    import datetime as dt

    when = dt.datetime.fromtimestamp(ref.started_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    what = f"group {ref.label} ({len(ref.run_ids)} runs)" if ref.group else f"run {ref.label}"
    return f"{what}, {when} UTC"


def _model_line(m: ModelDiff) -> str:
    if m.a is None or m.b is None:
        side = m.b or m.a
        return (f"{m.model}: only in run {'B' if m.a is None else 'A'} "
                f"(n={side['n']}, mean {_num(side['mean'])}, lower {_num(side['lower'])})")
    parts = [f"n {m.a['n']}→{m.b['n']}",
             f"mean {_change(m.a['mean'], m.b['mean'])}",
             f"lower {_change(m.a['lower'], m.b['lower'])}",
             f"cost/call {_money(m.a['cost_per_call'])}→{_money(m.b['cost_per_call'])}",
             f"p95 {_ms(m.a['p95_ms'])}→{_ms(m.b['p95_ms'])}"]
    if m.a["error_rate"] or m.b["error_rate"]:
        parts.append(f"errors {_pct(m.a['error_rate'])}→{_pct(m.b['error_rate'])}")
    flips = []
    if m.now_failing:
        flips.append(f"{len(m.now_failing)} now fail: {_cases(m.now_failing)}")
    if m.now_passing:
        flips.append(f"{len(m.now_passing)} now pass: {_cases(m.now_passing)}")
    parts.append("; ".join(flips) if flips else f"no case flipped of {m.common} in both")
    return f"{m.model}: " + ", ".join(parts)


def _cases(ids: list[str], limit: int = 5) -> str:
    return ", ".join(ids[:limit]) + (f", … {len(ids) - limit} more" if len(ids) > limit else "")


def _bad(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _num(x: Any) -> str:
    return "—" if _bad(x) else f"{x:.3f}"


def _change(a: Any, b: Any) -> str:
    if _bad(a) or _bad(b):
        return f"{_num(a)}→{_num(b)}"
    return f"{a:.3f}→{b:.3f} ({b - a:+.3f})"


def _money(x: Any) -> str:
    return "—" if _bad(x) else f"${x:.6f}".rstrip("0").rstrip(".") if x else "$0"


def _ms(x: Any) -> str:
    return "—" if _bad(x) else f"{x:.0f} ms"


def _pct(x: Any) -> str:
    return "—" if _bad(x) else f"{x:.1%}"


def _clean(value: Any) -> Any:
    """NaN becomes None, so the JSON is valid."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
