"""Running a plan: calls with per-model concurrency, grading, and a durable write per result.

Every finished call goes to the writer thread (run/_writer.py), which commits at once, so a
crash loses no committed result and a re-run calls nothing already stored: stored results
are skipped, cached responses reused.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from ..deadline import DeadlineExceeded, UserExit, run_with_deadline
from ..graders import Grade, combine
from ..models import ABSTAINED, CallResult, call_kwargs, complete, cost_of, provider_for, secret_label, served_models
from ..store import ResultRow, Store
from ._plan import Item, Plan
from ._writer import CacheOnly, Writer


@dataclass
class RunOptions:
    run_id: str = ""
    no_cache: bool = False
    retries: int = 3
    backoff_s: float = 0.5
    local_threads: int | None = None
    grade_timeout_s: float = 30.0  # per grader and output; past it, a recorded grader error
    judges: dict[str, Any] = field(default_factory=dict)  # models the graders call, for every part of a run
    workers: int | None = None  # processes making API calls (1: this one); None: by the number of calls
    pool: Any = None  # the running part's worker processes (set by the runner)
    early_pool: Any = None  # workers started before the first part (start_workers_early), for it to use
    local: Any = None  # SharedLocal: the engines (llama.cpp) for every part of a run (None: one per part)


@dataclass
class RunCounts:
    planned: int = 0
    reused: int = 0      # already stored and valid: nothing done
    cached: int = 0      # answered from the response cache (e.g. regraded after a grader change)
    called: int = 0
    errors: int = 0
    written: int = 0
    judge_calls: int = 0  # judge calls made (not answered from the cache)
    interrupted: bool = False
    workers: int = 1     # processes that made the API calls (the most any part used)
    lag_ms: list[float] = field(default_factory=list)  # event-loop lag samples where calls were made


class SharedLocal:
    """The engines serving a run's models (llama.cpp for local: models) for all the parts of a
    run (adaptive rounds, budget batches): started by the first part that needs them, kept
    between parts (no new thread, no reload of the model left loaded), restarted with more
    models only when a part needs one they lack, and stopped by the run. Models are assembled
    and verified only when a part first needs them."""

    def __init__(self) -> None:
        self.engines: Any = None  # models.Engines

    def get(self, models: dict[str, dict[str, str]], threads: int | None, note: Any) -> Any:
        """Engines serving `models` (kind -> alias -> what its engine loads), and those kept."""
        if self.engines is not None and self.engines.serves(models):
            return self.engines
        from ..models import Engines

        kept = self.engines.models if self.engines is not None else {}
        self.stop()
        # Name the models this part needs: an engine also keeps those earlier parts used
        # (loaded on demand), which this line would otherwise present as starting now.
        for kind, served in models.items():
            note(f"starting {provider_for(kind).engine} for {', '.join(served)} …")
        self.engines = Engines.start({kind: {**kept.get(kind, {}), **models.get(kind, {})}
                                      for kind in [*kept, *(k for k in models if k not in kept)]}, threads, note=note)
        return self.engines

    def stop(self) -> None:
        if self.engines is not None:
            engines, self.engines = self.engines, None
            engines.stop()


def execute(plan: Plan, store: Store, options: RunOptions, progress: Any) -> RunCounts:
    """Run every pending item of the plan; returns what was done. Ctrl-C keeps finished work."""
    counts = RunCounts(planned=len(plan.items))
    judges = plan.judges or options.judges  # a round or budget batch is a part of the run's plan
    pending = _pending(plan.items, store, options, counts)
    cache = {} if options.no_cache else store.cached_responses([it.call_key for it in pending])
    pool, options.early_pool = options.early_pool, None
    if pool is None:
        pool = _pool(pending, cache, options)
    elif not _workers_for(pending, cache, options):
        pool.stop()
        pool = None
    counts.workers = len(pool.workers) if pool is not None else 1
    progress.start(pending)
    writer = Writer(store, progress.advance)
    local = options.local or SharedLocal()  # the run's engine, else one for this part alone
    server = judging = None
    try:
        called = {it.cand.name: it.cand for it in pending if it.call_key not in cache}
        judged = [it for it in pending if _judged(it)]
        if judged:
            from ._judging import Judging

            called.update({name: c for name, c in judges.items() if c.available and _uses_judge(judged, name)})
        served = served_models(called.values())  # the models an engine must serve (llama.cpp for local:)
        if served:
            server = local.get(served, options.local_threads, progress.note)
        if judged:
            judging = Judging(judges, store, options.no_cache, options.retries, options.backoff_s, server)
        from ..models import fine_switching

        with fine_switching():
            asyncio.run(_run_all(pending, cache, writer, options, counts, server, judging, pool))
    except KeyboardInterrupt:
        counts.interrupted = True
    finally:
        if pool is not None:
            pool.stop()
        writer.close()
        if options.local is None:
            local.stop()
        progress.stop()
    if judging is not None:
        counts.judge_calls = judging.calls
    counts.written = writer.written
    if writer.error is not None:
        raise writer.error
    return counts


def _pool(pending: list[Item], cache: dict[str, dict], options: RunOptions) -> Any:
    """Worker processes for the run's API calls, or None to make them in this process."""
    from ._workers import WorkerPool

    n = _workers_for(pending, cache, options)
    if n <= 1:
        return None
    if options.local is not None:  # fork with no llama.cpp thread in this process (restarted on demand)
        options.local.stop()
    return WorkerPool(n)


def _workers_for(pending: list[Item], cache: dict[str, dict], options: RunOptions) -> int:
    """How many call workers these pending items take: 0 with no API call to make."""
    from ._workers import default_workers

    api_calls = sum(1 for it in pending if provider_for(it.cand.kind).pooled and it.call_key not in cache)
    if not api_calls:
        return 0
    return options.workers if options.workers is not None else default_workers(api_calls)


def start_workers_early(items: list[Item], store: Store, options: RunOptions) -> None:
    """Fork the call workers now, before this process imports LiteLLM, when running these items
    will take workers: each imports LiteLLM (seconds) while this process finishes its start; the
    first part of the run uses them (options.early_pool). Whether it will is decided as execute
    decides it (stored, cached and local work calls no worker), so a run that makes no API call
    starts no worker and imports no LiteLLM anywhere. Call it before any thread of the run starts."""
    pooled = [it for it in items if provider_for(it.cand.kind).pooled]
    if not pooled or options.workers == 1:
        return
    pending = _pending(pooled, store, options, RunCounts())
    cache = {} if options.no_cache else store.cached_responses([it.call_key for it in pending])
    n = _workers_for(pending, cache, options)
    if n > 1:
        from ._workers import WorkerPool

        options.early_pool = WorkerPool(n, import_here=False)


def _pending(items: list[Item], store: Store, options: RunOptions, counts: RunCounts) -> list[Item]:
    """Items that still need a call or a regrade; stored, valid, equally graded ones are skipped."""
    pending: list[Item] = []
    stored: dict[tuple[str, str], set[tuple[str, str, str, str]]] = {}
    for it in items:
        group = (it.task.name, it.cand.name)
        if group not in stored:
            stored[group] = set() if options.no_cache else store.reusable(*group)
        if (it.case.id, *it.fingerprint) in stored[group]:
            counts.reused += 1
            continue
        pending.append(it)
    return pending


def _judged(it: Item) -> bool:
    """Whether grading this item calls a judge (or needs another model's output)."""
    return it.task.uses_judge


def _uses_judge(items: list[Item], name: str) -> bool:
    return any(g.options.get("judge") == name for it in items for g in it.task.graders if g.calls_models)


async def _run_all(items: list[Item], cache: dict[str, dict], writer: Writer, options: RunOptions,
                   counts: RunCounts, server: Any, judging: Any = None, pool: Any = None) -> None:
    from ._lag import LagMonitor

    monitor = LagMonitor().start()
    if pool is not None:
        await pool.open()
        options = replace(options, pool=pool)
    try:
        await _run_groups(items, cache, writer, options, counts, server, judging)
        if pool is not None:
            await pool.aclose()  # not when interrupted: the workers are ended at once then
    finally:
        counts.lag_ms += monitor.stop() + (pool.lag_samples if pool is not None else [])


async def _run_groups(items: list[Item], cache: dict[str, dict], writer: Writer, options: RunOptions,
                      counts: RunCounts, server: Any, judging: Any) -> None:
    by_model: dict[str, list[Item]] = {}
    for it in items:
        by_model.setdefault(it.cand.name, []).append(it)
    remote = [group for group in by_model.values() if not _engine_served(group[0].cand)]
    local = [group for group in by_model.values() if _engine_served(group[0].cand)]
    deferred: list[tuple[Item, CallResult, bool]] = []
    jobs = [_run_model(group, cache, writer, options, counts, None, deferred) for group in remote]
    jobs.append(_run_local(local, cache, writer, options, counts, server, deferred))
    await asyncio.gather(*jobs)
    if deferred:
        await _judge_all(deferred, judging, writer, options, server)


def _engine_served(cand: Any) -> bool:
    """Whether an engine of this run serves the candidate (llama.cpp for local:)."""
    return provider_for(cand.kind).engine is not None


async def _run_local(groups: list[list[Item]], cache, writer, options, counts, server, deferred) -> None:
    # An engine holds one model at a time: finish one model before the next, and load it
    # with a throwaway call first so the load time is not counted as a case's latency.
    for group in groups:
        if any(it.call_key not in cache for it in group):
            # loaded as a confidence stage's calls need it, if any does: one load, not two
            await _warm(group[0].cand, server, {k: v for it in group for k, v in it.extra.items() if k == "logprobs"})
        await _run_model(group, cache, writer, options, counts, server, deferred)


async def _warm(cand: Any, server: Any, extra: dict[str, Any] | None = None) -> None:
    routed, where = server.route(cand)
    await complete(routed, [{"role": "user", "content": "hi"}], {"max_tokens": 1}, extra, retries=1, **where)


async def _run_model(items: list[Item], cache, writer, options, counts, server, deferred) -> None:
    limit = asyncio.Semaphore(items[0].cand.concurrency)

    async def one(it: Item) -> None:
        async with limit:
            cached = cache.get(it.call_key)
            result = await _call(it, cached, options, counts, server)
            if result.error is None and _judged(it):
                # Graded once every candidate has answered (a judge may compare with another
                # candidate's answer, and a local judge should load once); cached now, so a
                # crash before the judge is done loses no call.
                deferred.append((it, result, cached is not None))
                if cached is None:
                    writer.put(CacheOnly([{"key": it.call_key, "model": it.cand.name, "response": _response(result)}]))
                return
            writer.put(await _graded_row(it, result, cached is not None, options))

    await asyncio.gather(*(one(it) for it in items))


async def _judge_all(deferred: list[tuple[Item, CallResult, bool]], judging: Any, writer: Writer,
                     options: RunOptions, server: Any) -> None:
    """Grade the outputs whose graders call a judge, then write their rows."""
    for it, result, _ in deferred:
        judging.outputs[(it.task.name, it.cand.name, it.case.id)] = result.output or ""
    for name, cand in judging.judges.items():  # load each local judge once, before its first case
        if _engine_served(cand) and cand.available and server is not None and _uses_judge([d[0] for d in deferred], name):
            await _warm(cand, server)

    async def one(it: Item, result: CallResult, cached: bool) -> None:
        ctx = judging.context(it)
        records = [await g.agrade(result.output or "", it.case, ctx) for g in it.task.graders]
        writer.put(_row(it, result, cached, options.run_id, records, ctx.new_cache))

    # Case by case: a judge's prompt for one case is the same for every candidate up to the
    # output it grades, so a local judge reuses the evaluated prefix (llama.cpp's prompt cache).
    ordered = sorted(deferred, key=lambda d: (d[0].task.name, d[0].case.id, d[0].repeat, d[0].cand.name))
    await asyncio.gather(*(one(*d) for d in ordered))


async def _call(it: Item, cached: dict | None, options: RunOptions, counts: RunCounts, server: Any) -> CallResult:
    if cached is not None:
        result = CallResult(output=cached["output"], finish_reason=cached.get("finish_reason"),
                            prompt_tokens=cached.get("prompt_tokens"), completion_tokens=cached.get("completion_tokens"),
                            latency_ms=cached.get("latency_ms"), attempts=0, confidence=cached.get("confidence"))
        counts.cached += 1
    else:
        served = _engine_served(it.cand)
        if served and _death(server):  # every further call would fail the same way
            result = CallResult(attempts=0, error=_death(server), error_type="LocalServerDied")
        else:
            cand, where = (server.route(it.cand) if served else (it.cand, {}))
            if options.pool is not None and provider_for(cand.kind).pooled:
                result = await options.pool.call(call_kwargs(cand, it.messages, it.params, it.extra), cand.timeout_s,
                                                 options.retries, options.backoff_s, secret_label(cand))
            else:
                result = await complete(cand, it.messages, it.params, it.extra, retries=options.retries,
                                        backoff_base_s=options.backoff_s, variables=it.case.vars, **where)
        counts.called += 1
        if result.error is not None and served and _death(server):
            result.error, result.error_type = _death(server), "LocalServerDied"
    if result.error is not None:
        counts.errors += 1
    return result


async def _graded_row(it: Item, result: CallResult, cached: bool, options: RunOptions) -> ResultRow:
    """The row of one answered (or failed) call, graded in workers with a deadline."""
    if result.error is not None:
        return _row(it, result, cached, options.run_id, [])
    if result.finish_reason == ABSTAINED:
        return _row(it, result, cached, options.run_id, _abstained(it))
    records = [await _grade(g, result.output or "", it, options.grade_timeout_s) for g in it.task.graders]
    return _row(it, result, cached, options.run_id, records)


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


def _abstained(it: Item) -> list[Grade]:
    """A rule that returned None gave no answer: every grader scores it 0 without seeing an output
    (grading "" would score it as if it had answered ""). A cascade defers on it (`abstain`)."""
    return [Grade(0.0, False, "abstained: the rule returned None") for _ in it.task.graders]


def _response(result: CallResult) -> dict[str, Any]:
    return {"output": result.output, "finish_reason": result.finish_reason, "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens, "latency_ms": result.latency_ms,
            **({"confidence": result.confidence} if result.confidence is not None else {})}


def _row(it: Item, result: CallResult, cached: bool, run_id: str, records: list[Grade] | None = None,
         judge_cache: list[dict[str, Any]] | None = None) -> ResultRow:
    grades: list[dict[str, Any]] = []
    score: float | None = 0.0
    passed: bool | None = False
    eval_cost: float | None = None
    judge_errors: int | None = None
    if result.error is None:
        if records is None:
            records = _abstained(it) if result.finish_reason == ABSTAINED else \
                [g.grade(result.output or "", it.case) for g in it.task.graders]
        combined = combine(it.task.graders, records)
        score, passed = combined.score, combined.passed
        grades = [{"grader": g.name, "options": g.options, "weight": g.weight, "score": r.score,
                   "passed": r.passed, "reason": r.reason, "detail": dict(r.detail) if r.detail else None,
                   "eval_cost": (r.detail or {}).get("eval_cost")} for g, r in zip(it.task.graders, records)]
        judged = [g for g in grades if g["detail"] is not None and "eval_cost" in g["detail"]]
        if judged:
            costs = [g["eval_cost"] for g in judged]
            eval_cost = None if any(c is None for c in costs) else float(sum(costs))
            judge_errors = sum(1 for g in judged if g["detail"].get("judge_error"))
    latency_s = result.latency_ms / 1000 if result.latency_ms is not None else None
    cost = cost_of(it.cand, result.prompt_tokens, result.completion_tokens, latency_s)
    response = _response(result) if result.error is None else None
    return ResultRow(
        run_id=run_id, task=it.task.name, model=it.cand.name, case_id=it.case.id, call_key=it.call_key,
        spec_hash=it.spec_hash, golden_hash=it.task.golden.sha256, case_hash=it.fingerprint[1],
        grader_hash=it.task.grader_hash(), messages=it.messages, params=it.stored_params, output=result.output,
        error=result.error, error_type=result.error_type, finish_reason=result.finish_reason,
        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens, cost=cost,
        latency_ms=result.latency_ms, attempts=result.attempts, cached=cached, score=score, passed=passed,
        grades=grades, cache_key=it.call_key if result.error is None and not cached else None,
        cache_response=response, eval_cost=eval_cost, judge_errors=judge_errors, judge_cache=judge_cache,
        confidence=result.confidence,
    )


def _death(server: Any) -> str | None:
    """Why a model engine died during the run (a llama.cpp server in a separate process can;
    in-process models cannot die without the run)."""
    death = getattr(server, "death", None)
    return death() if death is not None else None
