"""Running a plan: calls with per-model concurrency, grading, and a durable write per result.

Every finished call goes to the writer thread (run/_writer.py), which commits at once, so a
crash loses no committed result and a re-run calls nothing already stored: stored results
are skipped, cached responses reused.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..deadline import DeadlineExceeded, UserExit, run_with_deadline
from ..graders import Grade, combine
from ..models import CallResult, complete, cost_of
from ..store import ResultRow, Store
from ._plan import Item, Plan
from ._writer import Writer


@dataclass
class RunOptions:
    run_id: str = ""
    no_cache: bool = False
    retries: int = 3
    backoff_s: float = 0.5
    local_threads: int | None = None
    grade_timeout_s: float = 30.0  # per grader and output; past it, a recorded grader error


@dataclass
class RunCounts:
    planned: int = 0
    reused: int = 0      # already stored and valid: nothing done
    cached: int = 0      # answered from the response cache (e.g. regraded after a grader change)
    called: int = 0
    errors: int = 0
    written: int = 0
    interrupted: bool = False


def execute(plan: Plan, store: Store, options: RunOptions, progress: Any) -> RunCounts:
    """Run every pending item of the plan; returns what was done. Ctrl-C keeps finished work."""
    counts = RunCounts(planned=len(plan.items))
    pending = _pending(plan, store, options, counts)
    cache = {} if options.no_cache else store.cached_responses([it.call_key for it in pending])
    progress.start(pending)
    writer = Writer(store, progress.advance)
    server = None
    try:
        local_models = {it.cand.name: it.cand.entry.local for it in pending
                        if it.cand.kind == "local" and it.call_key not in cache}
        if local_models:
            from ..models import start_local

            progress.note(f"starting llama.cpp for {', '.join(local_models)} …")
            server = start_local(local_models, threads=options.local_threads)
        asyncio.run(_run_all(pending, cache, writer, options, counts, server))
    except KeyboardInterrupt:
        counts.interrupted = True
    finally:
        writer.close()
        if server is not None:
            server.stop()
        progress.stop()
    counts.written = writer.written
    if writer.error is not None:
        raise writer.error
    return counts


def _pending(plan: Plan, store: Store, options: RunOptions, counts: RunCounts) -> list[Item]:
    """Items that still need a call or a regrade; stored, valid, equally graded ones are skipped."""
    pending: list[Item] = []
    stored: dict[tuple[str, str], dict] = {}
    for it in plan.items:
        group = (it.task.name, it.cand.name)
        if group not in stored:
            stored[group] = store.existing(*group)
        row = stored[group].get((it.case.id, it.call_key))
        if (not options.no_cache and row is not None and row["error"] is None
                and (row["call_key"], row["case_hash"], row["grader_hash"]) == it.fingerprint):
            counts.reused += 1
            continue
        pending.append(it)
    return pending


async def _run_all(items: list[Item], cache: dict[str, dict], writer: Writer, options: RunOptions,
                   counts: RunCounts, server: Any) -> None:
    by_model: dict[str, list[Item]] = {}
    for it in items:
        by_model.setdefault(it.cand.name, []).append(it)
    remote = [group for group in by_model.values() if group[0].cand.kind != "local"]
    local = [group for group in by_model.values() if group[0].cand.kind == "local"]
    jobs = [_run_model(group, cache, writer, options, counts, None) for group in remote]
    jobs.append(_run_local(local, cache, writer, options, counts, server))
    await asyncio.gather(*jobs)


async def _run_local(groups: list[list[Item]], cache, writer, options, counts, server) -> None:
    # The server holds one model at a time: finish one model before the next, and load it
    # with a throwaway call first so the load time is not counted as a case's latency.
    for group in groups:
        if any(it.call_key not in cache for it in group):
            cand, where = server.route(group[0].cand)
            await complete(cand, [{"role": "user", "content": "hi"}], {"max_tokens": 1}, retries=1, **where)
        await _run_model(group, cache, writer, options, counts, server)


async def _run_model(items: list[Item], cache, writer, options, counts, server) -> None:
    limit = asyncio.Semaphore(items[0].cand.concurrency)

    async def one(it: Item) -> None:
        async with limit:
            row = await _process(it, cache.get(it.call_key), options, counts, server)
            writer.put(row)

    await asyncio.gather(*(one(it) for it in items))


async def _process(it: Item, cached: dict | None, options: RunOptions, counts: RunCounts, server: Any) -> ResultRow:
    if cached is not None:
        result = CallResult(output=cached["output"], finish_reason=cached.get("finish_reason"),
                            prompt_tokens=cached.get("prompt_tokens"), completion_tokens=cached.get("completion_tokens"),
                            latency_ms=cached.get("latency_ms"), attempts=0)
        counts.cached += 1
    else:
        if it.cand.kind == "local" and _death(server):  # every further call would fail the same way
            counts.called += 1
            counts.errors += 1
            return _row(it, CallResult(attempts=0, error=_death(server), error_type="LocalServerDied"), False,
                        options.run_id)
        cand, where = (server.route(it.cand) if it.cand.kind == "local" else (it.cand, {}))
        result = await complete(cand, it.messages, it.params, it.extra, retries=options.retries,
                                backoff_base_s=options.backoff_s, variables=it.case.vars, **where)
        counts.called += 1
        if result.error is not None and it.cand.kind == "local" and _death(server):
            result.error, result.error_type = _death(server), "LocalServerDied"
    if result.error is not None:
        counts.errors += 1
        return _row(it, result, cached is not None, options.run_id, [])
    records = [await _grade(g, result.output or "", it, options.grade_timeout_s) for g in it.task.graders]
    return _row(it, result, cached is not None, options.run_id, records)


async def _grade(g: Any, output: str, it: Item, timeout_s: float) -> Grade:
    """One grader on one output, in a worker with a deadline: a grader that hangs (a
    backtracking pattern, a custom grader's endless loop) is a recorded grader error and the
    run goes on; finished results are committed meanwhile and a SIGTERM is handled at once."""
    try:
        return await run_with_deadline(lambda: g.grade(output, it.case), timeout_s)
    except DeadlineExceeded:
        return Grade(0.0, False, f"grader error: {g.name} timed out after {timeout_s:g} s "
                                 f"(grade_timeout_s in tierwise.yaml)")
    except UserExit as exc:  # GraderInstance.grade turns every Exception into a Grade already
        return Grade(0.0, False, f"grader error: {g.name} {exc}")


def _row(it: Item, result: CallResult, cached: bool, run_id: str, records: list[Grade]) -> ResultRow:
    grades: list[dict[str, Any]] = []
    score: float | None = 0.0
    passed: bool | None = False
    if result.error is None:
        combined = combine(it.task.graders, records)
        score, passed = combined.score, combined.passed
        grades = [{"grader": g.name, "options": g.options, "weight": g.weight, "score": r.score,
                   "passed": r.passed, "reason": r.reason} for g, r in zip(it.task.graders, records)]
    latency_s = result.latency_ms / 1000 if result.latency_ms is not None else None
    cost = cost_of(it.cand, result.prompt_tokens, result.completion_tokens, latency_s)
    response = None
    if result.error is None:
        response = {"output": result.output, "finish_reason": result.finish_reason,
                    "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                    "latency_ms": result.latency_ms}
    return ResultRow(
        run_id=run_id, task=it.task.name, model=it.cand.name, case_id=it.case.id, call_key=it.call_key,
        spec_hash=it.spec_hash, golden_hash=it.task.golden.sha256, case_hash=it.fingerprint[1],
        grader_hash=it.task.grader_hash(), messages=it.messages, params=it.stored_params, output=result.output,
        error=result.error, error_type=result.error_type, finish_reason=result.finish_reason,
        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens, cost=cost,
        latency_ms=result.latency_ms, attempts=result.attempts, cached=cached, score=score, passed=passed,
        grades=grades, cache_key=it.call_key if result.error is None and not cached else None,
        cache_response=response,
    )


def _death(server: Any) -> str | None:
    """Why the local model server died during the run (a separate process can; in-process models
    cannot die without the run)."""
    death = getattr(server, "death", None)
    return death() if death is not None else None
