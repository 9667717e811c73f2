"""Running a plan in parts: adaptive rounds (`--adaptive`) and batches under a budget (`--budget`).

Both call the runner's `execute` on subsets of one plan, so the runner itself is unchanged and
everything it guarantees (one durable write per call, resuming, caching) holds per part.

Adaptive: each round replays the stopping rule from the stored results (decide/_adaptive.py),
runs the cases it asks for, and stops when nothing is left to run. Because the state is a pure
function of the store, an interrupted adaptive run resumes exactly where it stopped.

Budget: before each batch (at most `batch` calls in flight), the run's recorded spend plus the
batch's estimated cost must stay within the budget; the batch is cut to the calls that fit, and
the run stops with one line, before the call that would cross the budget. A call's estimate is
the highest cost one call of its task × model has had in this run (the measured rate: for a
compute-priced local model its generations' compute time, which no estimate made before the run
can know); before its first call, the estimate of runner/_estimate.py, and that first call runs
in a batch it ends, so the rate is measured before more calls are started on a guess. The spend
can then pass the budget only if a call costs more than every call of its model before it; the
line says so when that happened. A run stopped by its budget is incomplete: its status is
`budget_stopped` and `tierwise run` exits 1.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Callable

from ..errors import ConfigError
from ..fmt import budget as money
from ..store import Store
from ._estimate import Estimator, pending_calls
from ._plan import Item, Plan
from ._runner import RunCounts, RunOptions, execute


def add_counts(total: RunCounts, part: RunCounts) -> None:
    for f in fields(RunCounts):
        if f.name == "interrupted":
            total.interrupted = total.interrupted or part.interrupted
        elif f.name == "workers":
            total.workers = max(total.workers, part.workers)
        elif f.name != "planned":
            setattr(total, f.name, getattr(total, f.name) + getattr(part, f.name))


@dataclass
class Budget:
    """Stop before the run's spend would pass `limit` dollars."""

    limit: float
    batch: int
    stopped: str | None = None  # the line saying where it stopped

    def run(self, items: list[Item], store: Store, options: RunOptions, progress: Callable[[], Any],
            counts: RunCounts) -> None:
        """Execute the items in batches that fit the budget; sets `stopped` when one does not."""
        calls, _, _ = pending_calls(Plan(items), store, options.no_cache)
        to_call = {id(it) for it in calls}
        free = [it for it in items if id(it) not in to_call]
        if free:  # stored or cached: costs nothing
            add_counts(counts, execute(Plan(free), store, options, progress()))
        estimator = Estimator(store.results_frame(sorted({it.task.name for it in calls})) if calls else None)
        costs = [estimator.call(it).cost for it in calls]
        unpriced = sorted({it.cand.name for it, c in zip(calls, costs) if c is None})
        if unpriced:
            raise ConfigError(f"--budget: {unpriced[0]} has no known price, so its spend cannot be bounded; "
                              f"fix: add price: to its tierwise.yaml entry, or leave it out with --models")
        done = 0
        while done < len(calls) and not counts.interrupted:
            spent, measured = store.spend(options.run_id), store.spend_by_model(options.run_id)
            batch, planned, first = self._batch(calls[done:done + self.batch], costs[done:], spent, measured)
            if not batch:
                nxt = calls[done]
                self.stopped = (f"budget: stopped at {money(spent)} of {money(self.limit)} before "
                                f"{nxt.task.name} × {nxt.cand.name} case {nxt.case.id} (about {money(first)}); "
                                f"{done} of {len(calls)} calls made; the run is incomplete: re-run with a larger "
                                f"--budget to resume")
                if spent > self.limit:
                    self.stopped += (f"; the spend passed the budget by {money(spent - self.limit)}: a call cost "
                                     f"more than every call of its model before it")
                return
            add_counts(counts, execute(Plan(batch), store, options, progress()))
            done += len(batch)

    def _batch(self, items: list[Item], estimates: list[float], spent: float,
               measured: dict[tuple[str, str], tuple[int, float]]) -> tuple[list[Item], float, float]:
        """The next calls that fit the budget, their planned cost, and the first call's estimate.
        A model's first call in this run ends its batch: its cost is a guess until measured."""
        batch: list[Item] = []
        planned, first = 0.0, math.nan
        for it, estimate in zip(items, estimates):
            rate = measured.get((it.task.name, it.cand.name))
            cost = rate[1] if rate is not None else estimate
            if not batch:
                first = cost
            if spent + planned + cost > self.limit:
                break
            batch.append(it)
            planned += cost
            if rate is None:
                break
        return batch, planned, first


def run_parts(items: list[Item], store: Store, options: RunOptions, progress: Callable[[], Any],
              counts: RunCounts, budget: Budget | None) -> None:
    """Execute items, within the budget when there is one."""
    if not items:
        return
    if budget is None:
        add_counts(counts, execute(Plan(items), store, options, progress()))
    else:
        budget.run(items, store, options, progress, counts)


class Pace:
    """Seconds per call made in this run's adaptive rounds so far: the next round's estimate."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def estimate(self, calls: int) -> str:
        if not self.calls:
            return ""
        secs = calls * self.seconds / self.calls
        shown = f"{secs:.0f} s" if secs < 120 else f"{secs / 60:.1f} min"
        return f", about {shown} at the pace so far ({self.seconds / self.calls:.2f} s a call)"

    @contextmanager
    def timing(self, counts: RunCounts):
        before, started = counts.called, time.monotonic()
        try:
            yield
        finally:
            if counts.called > before:  # a round served from the cache says nothing of the pace
                self.seconds += time.monotonic() - started
                self.calls += counts.called - before


def adaptive_rounds(plan: Plan, settings: dict[str, Any], store: Store, options: RunOptions,
                    progress: Callable[[], Any], counts: RunCounts, budget: Budget | None,
                    note: Callable[[str], None]) -> dict[str, dict[str, str]]:
    """Run the adaptive tasks round by round until every candidate is settled; returns the
    stops per task and candidate (the lines the report shows)."""
    from ..decide import adaptive_next

    tasks = {it.task.name: it.task for it in plan.items if it.task.name in settings}
    by_case: dict[tuple[str, str, str], list[Item]] = {}
    for it in plan.items:
        if it.task.name in settings:
            by_case.setdefault((it.task.name, it.cand.name, it.case.id), []).append(it)
    keys = plan.current_keys()
    last: list[str] | None = None
    rounds = 0
    pace = Pace()
    while True:
        frame = store.results_frame(sorted(tasks), current=keys)
        batch: list[Item] = []
        stops: dict[str, dict[str, str]] = {}
        for name, task in tasks.items():
            rows = frame[frame["task"] == name] if len(frame) else frame
            state_stops, wanted = adaptive_next(task, rows, settings[name], options.grade_timeout_s)
            stops[name] = state_stops
            for model, case_ids in wanted.items():
                for case_id in case_ids:
                    batch += by_case.get((name, model, case_id), [])
        ids = sorted(it.call_key for it in batch)
        if not batch or ids == last or counts.interrupted or (budget is not None and budget.stopped):
            return stops
        last = ids
        rounds += 1
        if rounds > 1:  # where each candidate stands before the next round (a settled one says why)
            for name, lines in stops.items():
                for model, line in lines.items():
                    note(f"  {name} × {model}: {line}")
        note(f"adaptive round {rounds}: {len(batch)} calls{pace.estimate(len(batch))}")
        with pace.timing(counts):
            run_parts(batch, store, options, progress, counts, budget)
