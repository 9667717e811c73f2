"""Run to run on the task page: what changed for each candidate between two runs of the task
(`tierwise diff` for one task: the same computation, harness.commands.diff, passed in by the
command), with the runs to pick from. Which runs to compare comes from the page's address
(`?a=RUN&b=RUN`), so it is checked here: at most MAX_RUN_NAME characters each, both or neither;
a name that is no run of the task is said on the page (400), never a traceback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import TierwiseError

MAX_RUN_NAME = 200      # a run id is 12 characters; a run group's name at most 200 (store schema)
MAX_FLIPS = 30          # case ids listed per direction; the rest are counted
MAX_RUNS = 50           # runs offered to pick from (the newest)


@dataclass
class RunChoice:
    label: str             # what the address carries: a run id, or a run group's name
    shown: str             # "run 3f2a…, 2025-01-31 12:00 UTC" / "group nightly (4 runs), …"


@dataclass
class Side:
    n: int
    mean: float
    lower: float
    cost_per_call: float | None
    p95_ms: float
    error_rate: float


@dataclass
class ModelChange:
    model: str
    a: Side | None
    b: Side | None
    now_failing: list[str] = field(default_factory=list)   # the first MAX_FLIPS
    now_passing: list[str] = field(default_factory=list)
    more_failing: int = 0                                  # beyond those listed
    more_passing: int = 0
    common: int = 0


@dataclass
class Comparison:
    runs: list[RunChoice]                  # newest first
    a: RunChoice | None = None
    b: RunChoice | None = None
    models: list[ModelChange] = field(default_factory=list)
    message: str = ""                      # why there is nothing to show, or what was wrong
    status: int = 200
    confidence: float | None = None        # the task's: each side's bound is at it (not Holm's level)


def compare_runs(project: Any, task: str, runs: Callable[[Any, str], list[Any]] | None,
                 diff: Callable[[Any, str | None, str | None, str], Any] | None,
                 a: str | None, b: str | None) -> Comparison:
    """The task page's run-to-run section: the runs to pick from and, for runs a and b (default:
    the last two), each candidate's figures on both sides and the cases that flipped."""
    if runs is None or diff is None:
        return Comparison([], message="run-to-run diff is not available in this view")
    refs = runs(project, task)
    out = Comparison([_choice(r) for r in reversed(refs)][:MAX_RUNS])
    problem = _bad_request(a, b)
    if problem:
        out.message, out.status = problem, 400
        return out
    if a is None and len(refs) < 2:
        out.message = ("no run has stored results of this task yet" if not refs else
                       f"only one run ({refs[0].label}) stored results of this task: nothing to compare yet")
        return out
    try:
        result = diff(project, a, b, task)
    except TierwiseError as exc:
        out.message, out.status = str(exc), 400
        return out
    if not result.tasks:
        out.message = result.unpaired.get(task, "nothing to compare")
        return out
    t = result.tasks[0]
    out.a, out.b, out.confidence = _choice(t.a), _choice(t.b), t.confidence
    out.models = [_change(m) for m in t.models]
    return out


def _bad_request(a: str | None, b: str | None) -> str:
    if (a is None) != (b is None):
        return "name two runs to compare (a and b), or none for the last two"
    for name in (a, b):
        if name is not None and (not name or len(name) > MAX_RUN_NAME or not name.isprintable()):
            return f"a run is named by its id or run group (1 to {MAX_RUN_NAME} printable characters)"
    if a is not None and a == b:
        return "pick two different runs"
    return ""


def _choice(ref: Any) -> RunChoice:
    when = dt.datetime.fromtimestamp(ref.started_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    what = f"group {ref.label} ({len(ref.run_ids)} runs)" if ref.group else f"run {ref.label}"
    return RunChoice(ref.label, f"{what}, {when}")


def _side(figures: dict[str, Any] | None) -> Side | None:
    if figures is None:
        return None
    return Side(figures["n"], figures["mean"], figures["lower"], figures["cost_per_call"], figures["p95_ms"],
                figures["error_rate"])


def _change(m: Any) -> ModelChange:
    return ModelChange(m.model, _side(m.a), _side(m.b), m.now_failing[:MAX_FLIPS], m.now_passing[:MAX_FLIPS],
                       max(0, len(m.now_failing) - MAX_FLIPS), max(0, len(m.now_passing) - MAX_FLIPS), m.common)
