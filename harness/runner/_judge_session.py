"""One read's judge session outside a run: the judge a live read needs (shadow pairs, sampled live
calls), made ready for that read only and its calls made through the run's machinery (Judging).

A local (llama.cpp) judge's engine is started in this process as a run starts it (models.Engines,
`local_threads:` from tierwise.yaml) and stopped when the work is done; callers start a session only
once there is work, so a read with nothing to judge imports neither llama.cpp nor LiteLLM.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..errors import TierwiseError
from ..models import Candidate, Engines, fine_switching, served_models
from ..project import Project
from ..store import Store
from ._judging import Judging


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
class Judged:
    """What `judge_each` did."""

    judged: int = 0            # verdicts written
    failed: int = 0            # of them, judge failures
    cost: float | None = 0.0   # their judge calls' dollars (None: the judge is unpriced)
    calls: int = 0             # judge calls made (not answered from the cache)
    error: str | None = None   # why the judge could not start (then nothing was judged)


def judge_each(project: Project, name: str, cand: Candidate, store: Store, said: list[str],
               todo: list[dict[str, Any]], verdict_of: Callable[[Judging, dict[str, Any]], Awaitable[dict[str, Any]]],
               write: Callable[[list[dict[str, Any]]], Any], failed: Callable[[dict[str, Any]], bool]) -> Judged:
    """A judge session over `todo`: each row's verdict (`verdict_of`) written as soon as it is had."""
    done = Judged()

    async def one(judging: Judging, row: dict[str, Any]) -> None:
        verdict = await verdict_of(judging, row)
        await asyncio.to_thread(write, [verdict])
        done.judged += 1
        done.failed += failed(verdict)
        done.cost = None if done.cost is None or verdict["eval_cost"] is None else done.cost + verdict["eval_cost"]

    async def every(judging: Judging) -> None:
        await asyncio.gather(*(one(judging, r) for r in todo))

    done.calls, done.error = judge_session(project, name, cand, store, said, every)
    return done


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
