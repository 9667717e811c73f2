"""One read's judge session outside a run: the judge a live read needs (shadow pairs, sampled live
calls), made ready for that read only and its calls made through the run's machinery (Judging).

A local (llama.cpp) judge's engine is started in this process as a run starts it (models.Engines,
`local_threads:` from tierwise.yaml) and stopped when the work is done; callers start a session only
once there is work, so a read with nothing to judge imports neither llama.cpp nor LiteLLM.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from ..errors import TierwiseError
from ..models import Candidate, Engines, fine_switching, served_models
from ..project import Project, Task
from ..store import VERDICT_BATCH, Store
from ._candidates import judges_for
from ._judging import Judging

FLUSH_S = 1.0  # a verdict waits at most about this long for its batch to be written


def judge_session(project: Project, name: str, cand: Candidate, store: Store, said: list[str],
                  work: Callable[[Judging], Awaitable[None]]) -> tuple[int, str | None]:
    """Await `work(judging)` with the judge `name` ready; (judge calls made, None), or (0, why) when
    a local judge's engine could not start (nothing was judged). What the engine says goes to `said`."""
    served = served_models([cand])
    engines = None
    if served:
        try:
            engines = Engines.start(served, project.config.local_threads, note=said.append)
        except (TierwiseError, OSError) as exc:  # weights missing, corrupt or unreadable
            return 0, f"judge {name} could not start: {exc}"
    judging = Judging({name: cand}, store, no_cache=False, retries=project.config.retries,
                      backoff_s=project.config.retry_backoff_s, server=engines)
    try:
        with fine_switching():
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(work(judging))
            else:  # called from a running loop (a notebook): judge on a worker thread, as `run` does
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(1, thread_name_prefix="tierwise-judge") as pool:
                    pool.submit(asyncio.run, work(judging)).result()
    finally:
        if engines is not None:
            died = engines.death()
            engines.stop()
            if died:
                said.append(f"judge {name}'s engine died: {died}")
    return judging.calls, None


@dataclass
class ReadJudging:
    """What one read judged of a task's live evidence (shadow pairs, sampled live calls)."""

    task: str
    judge: str = ""           # the grader's fingerprint its verdicts are stored under ("" without one)
    judged: int = 0           # new verdicts this read
    failed: int = 0           # of them, judge failures
    left: int = 0             # rows left for the next read (over the read's cap)
    calls: int = 0            # judge calls made (not answered from the cache)
    cost: float | None = 0.0  # what this read's judge calls cost (None: the judge is unpriced)
    note: str = ""            # why nothing could be judged
    said: list[str] = field(default_factory=list)  # what a local judge's engine said, or why it failed

    def took(self, done: "Judged") -> "ReadJudging":
        """This read with what `judge_each` did."""
        self.judged, self.failed, self.cost, self.calls = done.judged, done.failed, done.cost, done.calls
        return self


def ready_judge(project: Project, task: Task, name: str) -> tuple[Candidate | None, str]:
    """The catalog's judge `name` for the task, or None and why it cannot run here."""
    cand = judges_for(project, [task]).get(name)
    if cand is None or not cand.available:
        return None, f"judge {name or '(none)'} cannot run here: {cand.skip_reason if cand else 'not in the catalog'}"
    return cand, ""


@dataclass
class Judged:
    """What `judge_each` did."""

    judged: int = 0            # verdicts written
    failed: int = 0            # of them, judge failures
    cost: float | None = 0.0   # their judge calls' dollars (None: the judge is unpriced)
    calls: int = 0             # judge calls made (not answered from the cache)
    error: str | None = None   # why the judge could not start (then nothing was judged)


def judge_each(project: Project, name: str, cand: Candidate, store: Store, said: list[str],
               todo: list[dict[str, Any]], verdict_of: Callable[[Judging, dict[str, Any]], Awaitable[dict[str, Any]]],
               write: Callable[[list[dict[str, Any]]], Any], failed: Callable[[dict[str, Any]], bool],
               failure: Callable[[dict[str, Any], str], dict[str, Any]]) -> Judged:
    """A judge session over `todo`: each row's verdict (`verdict_of`) written in batches by `write`, one
    transaction each: at once when VERDICT_BATCH wait, what waits every FLUSH_S seconds, and the rest
    when the session ends or is interrupted (a crash loses at most its last second of verdicts).
    A judge that cannot start fails every row: `failure(row, why)` is written for each (counted
    against it until a later read judges it) and `why` is said."""
    done = Judged()
    written = _Batches(write)

    async def one(judging: Judging, row: dict[str, Any]) -> None:
        verdict = await verdict_of(judging, row)
        await written.add(verdict)
        done.judged += 1
        done.failed += failed(verdict)
        done.cost = None if done.cost is None or verdict["eval_cost"] is None else done.cost + verdict["eval_cost"]

    async def every(judging: Judging) -> None:
        stop = asyncio.Event()
        ticking = asyncio.create_task(written.every(FLUSH_S, stop))
        try:
            await asyncio.gather(*(one(judging, r) for r in todo))
        finally:  # interrupted or not, every verdict had is written
            stop.set()
            try:
                await ticking
            finally:
                await written.flush()

    done.calls, done.error = judge_session(project, name, cand, store, said, every)
    if done.error is not None:
        write([failure(row, done.error) for row in todo])
        done.judged = done.failed = len(todo)
        said.append(done.error)
    return done


class _Batches:
    """Verdicts waiting to be written: a batch as soon as VERDICT_BATCH wait, and what waits every
    few seconds (`every`), one transaction each."""

    def __init__(self, write: Callable[[list[dict[str, Any]]], Any]):
        self.write = write
        self.waiting: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()  # one write at a time: batches in the order they were had

    async def add(self, verdict: dict[str, Any]) -> None:
        self.waiting.append(verdict)
        if len(self.waiting) >= VERDICT_BATCH:
            await self.flush(full_only=True)

    async def flush(self, full_only: bool = False) -> None:
        """Write what waits, VERDICT_BATCH at most a transaction (verdicts had while an earlier batch
        was being written wait here, so a flush may find more than one batch); `full_only`: full
        batches only, the rest waits for the timer or the session's end."""
        async with self.lock:
            while len(self.waiting) >= (VERDICT_BATCH if full_only else 1):
                batch, self.waiting = self.waiting[:VERDICT_BATCH], self.waiting[VERDICT_BATCH:]
                try:
                    await asyncio.to_thread(self.write, batch)
                except BaseException:  # not written: kept for the final flush, which raises if the store still fails
                    self.waiting[:0] = batch
                    raise

    async def every(self, seconds: float, done: asyncio.Event) -> None:
        """Write what waits every `seconds` until `done` is set, then once more."""
        while not done.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), seconds)
            await self.flush()


class LiveContext:
    """The judging context of one live output (graders/_judge.py's JudgeContext): `task_input` is
    the call's own rendered input; `other` the answer a pairwise grader compares with (the
    incumbent's live one, whatever the grader's `against:` names offline)."""

    def __init__(self, judging: Judging, model: str, task_input: str, other: str | None = None):
        self.judging, self.model, self.task_input, self.other = judging, model, task_input, other
        self.new_cache: list[dict[str, Any]] = []

    async def call(self, judge: str, messages, params, contract, variables):
        reply = await self.judging.call(self, judge, messages, params, contract, variables)
        if self.new_cache:  # a judge answer is cached at once: a crash later re-asks nothing
            await asyncio.to_thread(self.judging.store.put_cache, self.new_cache)
            self.new_cache = []
        return reply

    async def output_of(self, model: str, case: Any) -> str:
        if self.other is None:
            raise ValueError(f"case {case.id!r}: a live call has no stored output of {model} to compare with")
        return self.other
