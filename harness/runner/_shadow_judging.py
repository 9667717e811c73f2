"""Judging live shadow pairs: the task's `pairwise` grader, blind and in both orders, on each stored
pair (the incumbent's answer, the challenger's) not judged yet.

Where it runs. Never on the application's call path: the client only stores the pair (with
capture on, client/_shadow.py). `tierwise recommend` (and `tierwise audit`, which shows the
recommendation) calls `judge_shadow_pairs` when it reads a judged task's live evidence, before
decide/_live_pairwise.py bounds it. Verdicts are written in batches (store shadow_verdicts,
keyed by the shadow row and the grader's fingerprint, fingerprint.live_judge_hash), one transaction
each: what waits is written every FLUSH_S seconds, at once when store.VERDICT_BATCH wait, and
when the read ends or is interrupted, so a crash loses at most the verdicts of its last second
(however slow the judge). A re-read resumes: a pair with a verdict is never judged again,
and a pair whose judge failed is recorded as failed (it counts against the challenger) and judged
again on the next read. The judge calls go through the run's own machinery (runner/_judging.py:
timeouts, retries, the response cache, the judge's price), with the offline grader's prompts and
verdict contract (graders/_judge.py), never a second judge.

The judge sees the task's input (the incumbent's rendered prompt, from the template variables the
ledger captured for the call) and the two answers labelled A and B, never a model's name. A local
(llama.cpp) judge is started in this process for the read, as a run starts it (models.Engines,
`local_threads:` from tierwise.yaml), only once there are pairs to judge, and stopped when they are
judged: a read with nothing to judge imports neither llama.cpp nor LiteLLM. An engine that cannot
start is a judge failure of every pair it was to judge: recorded with the reason, counted against
the challenger, and judged again by the next read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..decide import live_grader
from ..errors import TierwiseError
from ..fingerprint import live_judge_hash
from ..models import Engines, fine_switching, served_models
from ..project import Case, Project, Task
from ..store import VERDICT_BATCH, Store
from ._candidates import judges_for
from ._judging import Judging

MAX_PAIRS_PER_READ = 2000  # a backlog beyond this is judged by the next reads, never all at once
FLUSH_S = 1.0              # a verdict waits at most about this long for its batch to be written
NO_INPUT = "the call's input is not in the usage ledger; fix: run the client with ledger on and capture=True"


@dataclass
class PairJudging:
    """What one read judged of a task's shadow pairs."""

    task: str
    judge: str = ""          # the grader's fingerprint its verdicts are stored under ("" without one)
    judged: int = 0          # new verdicts
    failed: int = 0          # of them, judge failures
    left: int = 0            # pairs left for the next read (over MAX_PAIRS_PER_READ)
    calls: int = 0           # judge calls made (not answered from the cache)
    cost: float | None = 0.0  # what the new verdicts' judge calls cost (None: the judge is unpriced)
    note: str = ""           # why nothing was judged, when nothing could be
    said: list[str] = field(default_factory=list)  # what a local judge's engine told the user, or why it failed

    def notes(self) -> list[str]:
        """The lines `recommend` shows about this read's judging."""
        out = [f"live pairs not judged: {self.note}"] if self.note else []
        out += self.said
        if self.judged:
            cost = f", ${self.cost:.4f}" if self.cost is not None else ", cost unknown"
            out.append(f"judged {self.judged} new shadow pairs ({self.calls} judge calls{cost})"
                       + (f"; {self.failed} judge failures, counted against the challenger until judged again"
                          if self.failed else ""))
        if self.left:
            out.append(f"{self.left} shadow pairs left for the next `tierwise recommend` (at most "
                       f"{MAX_PAIRS_PER_READ} a read)")
        return out


def judge_shadow_pairs(project: Project, task: Task, store: Store, rows: list[dict[str, Any]],
                       max_pairs: int = MAX_PAIRS_PER_READ) -> PairJudging:
    """Judge the task's stored shadow pairs that have no verdict yet (module docstring)."""
    out = PairJudging(task.name)
    grader = live_grader(task)
    if grader is None or task.spec.max_regression is None:
        return out
    out.judge = live_judge_hash(task, grader)
    name = grader.options.get("judge") or ""
    judges = judges_for(project, [task])
    cand = judges.get(name)
    if cand is None or not cand.available:
        out.note = f"judge {name or '(none)'} cannot run here: {cand.skip_reason if cand else 'not in the catalog'}"
        return out
    done = store.shadow_verdicts(task.name, out.judge)
    todo = [r for r in rows if r["task"] == task.name and r["outcome"] == "ok" and r.get("output") is not None
            and r.get("incumbent_output") is not None
            and (r["id"] not in done or done[r["id"]]["outcome"] is None)]
    out.left = max(0, len(todo) - max_pairs)
    todo = todo[:max_pairs]
    if not todo:
        return out
    inputs = store.call_inputs(r["call_id"] for r in todo)
    served = served_models([cand])  # a local judge's engine (llama.cpp), started for this read only
    engines = None
    if served:
        try:
            engines = Engines.start(served, project.config.local_threads, note=out.said.append)
        except (TierwiseError, OSError) as exc:  # weights missing, corrupt or unreadable: every pair a failure
            return _engine_failed(out, task, store, todo, f"judge {name} could not start: {exc}")
    judging = Judging({name: cand}, store, no_cache=False, retries=project.config.retries,
                      backoff_s=project.config.retry_backoff_s, server=engines)

    written = _Batches(store)

    async def one(row: dict[str, Any]) -> None:
        verdict = await _judge_pair(task, grader, judging, row, inputs.get(row["call_id"]), out.judge)
        await written.add(verdict)
        out.judged += 1
        out.failed += verdict["outcome"] is None
        out.cost = None if out.cost is None or verdict["eval_cost"] is None else out.cost + verdict["eval_cost"]

    async def every() -> None:
        done = asyncio.Event()
        ticking = asyncio.create_task(written.every(FLUSH_S, done))
        try:
            await asyncio.gather(*(one(r) for r in todo))
        finally:  # interrupted or not, every verdict had is written
            done.set()
            try:
                await ticking
            finally:
                await written.flush()

    try:
        with fine_switching():
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(every())
            else:  # called from a running loop (a notebook): judge on a worker thread, as `run` does
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(1, thread_name_prefix="tierwise-judge") as pool:
                    pool.submit(asyncio.run, every()).result()
    finally:
        if engines is not None:
            died = engines.death()
            engines.stop()
            if died:
                out.said.append(f"judge {name}'s engine died: {died}")
    out.calls = judging.calls
    return out


class _Batches:
    """Verdicts waiting to be written: a batch as soon as VERDICT_BATCH wait, and what waits every
    few seconds (`every`), one transaction each."""

    def __init__(self, store: Store):
        self.store = store
        self.waiting: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()  # one write at a time: batches in the order they were had

    async def add(self, verdict: dict[str, Any]) -> None:
        self.waiting.append(verdict)
        if len(self.waiting) >= VERDICT_BATCH:
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            batch, self.waiting = self.waiting, []
            if not batch:
                return
            try:
                await asyncio.to_thread(self.store.write_shadow_verdicts, batch)
            except BaseException:  # not written: kept for the final flush, which raises if the store still fails
                self.waiting[:0] = batch
                raise

    async def every(self, seconds: float, done: asyncio.Event) -> None:
        """Write what waits every `seconds` until `done` is set, then once more."""
        while not done.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), seconds)
            await self.flush()


def _engine_failed(out: PairJudging, task: Task, store: Store, todo: list[dict[str, Any]], why: str) -> PairJudging:
    """Every pair of this read a recorded judge failure (counted against the challenger until judged again)."""
    now = time.time()
    store.write_shadow_verdicts([{"shadow_id": r["id"], "task": task.name, "judge": out.judge, "judged_at": now,
                                  "outcome": None, "orders": None, "error": why, "eval_cost": 0.0} for r in todo])
    out.judged = out.failed = len(todo)
    out.said.append(why)
    return out


async def _judge_pair(task: Task, grader: Any, judging: Judging, row: dict[str, Any],
                      values: dict[str, Any] | None, judge: str) -> dict[str, Any]:
    """One pair's verdict row: the grader's outcome (win | tie | loss for the challenger), or a failure."""
    verdict = {"shadow_id": row["id"], "task": task.name, "judge": judge, "judged_at": time.time(),
               "outcome": None, "orders": None, "error": None, "eval_cost": 0.0}
    if values is None:
        return {**verdict, "error": NO_INPUT}
    try:
        users = [m["content"] for m in task.render(row["incumbent"], values) if m["role"] == "user"]
    except Exception as exc:  # noqa: BLE001 - a prompt that no longer renders these values fails this pair only
        return {**verdict, "error": f"the task's prompt does not render the call's input: {exc}"}
    ctx = _PairContext(judging, row["challenger"], users[-1] if users else "", row["incumbent_output"])
    case = Case(f"shadow-{row['id']}", values, row["incumbent_output"])
    grade = await grader.agrade(row["output"], case, ctx)
    detail = grade.detail or {}
    verdict["eval_cost"] = detail.get("eval_cost")
    if "judge_error" in detail or "outcome" not in detail:
        return {**verdict, "error": grade.reason}
    return {**verdict, "outcome": detail["outcome"], "orders": json.dumps(detail.get("votes"), ensure_ascii=False)}


class _PairContext:
    """The judging context of one shadow pair (graders/_judge.py's JudgeContext): the other answer
    is the incumbent's live one, whatever the grader's `against:` names offline."""

    def __init__(self, judging: Judging, model: str, task_input: str, other: str):
        self.judging, self.model, self.task_input, self.other = judging, model, task_input, other
        self.new_cache: list[dict[str, Any]] = []

    async def call(self, judge: str, messages, params, contract, variables):
        reply = await self.judging.call(self, judge, messages, params, contract, variables)
        if self.new_cache:  # a judge answer is cached at once: a crash later re-asks nothing
            await asyncio.to_thread(self.judging.store.put_cache, self.new_cache)
            self.new_cache = []
        return reply

    async def output_of(self, model: str, case: Case) -> str:
        return self.other
