"""The library calls behind `tierwise run`: plan, execute, summarise, and read results back."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..errors import ConfigError
from ..models import price_map_version, probe_structured
from ..project import Project
from ..store import RunStatus, Store, safe_url
from ..util import redact, tierwise_version
from ._candidates import candidates_for, judges_for, unconstrained_warnings
from ._plan import Plan, plan_run
from ._estimate import DryRun, dry_run
from ._progress import Progress
from ._rounds import Budget, adaptive_rounds, run_parts
from ._runner import RunCounts, RunOptions, SharedLocal, start_workers_early

if TYPE_CHECKING:
    from ..decide import AdaptiveSettings


# A run exits 1 when a task × model's error rate passes this, unless the spec's max_error_rate
# or --max-errors says otherwise: a run whose calls mostly failed must not look like a success.
DEFAULT_MAX_ERROR_RATE = 0.10


# What the run's summary (decide/_figures.py) and error reports read of the current results.
RUN_COLUMNS = ["task", "model", "case_id", "run_id", "error", "score", "latency_ms", "prompt_tokens",
               "completion_tokens", "cost", "finish_reason", "eval_cost", "judge_errors"]


@dataclass
class ErrorReport:
    """The failed calls of one task × model in the current results."""

    task: str
    model: str
    errors: int
    n: int
    limit: float
    first_error: str

    @property
    def over_limit(self) -> bool:
        return self.n > 0 and self.errors / self.n > self.limit

    def line(self) -> str:
        verdict = "over" if self.over_limit else "within"
        return (f"{self.task} × {self.model}: {self.errors}/{self.n} calls failed ({verdict} the limit "
                f"{self.limit:.0%}); first: {self.first_error}")


@dataclass(repr=False)
class RunResult:
    run_id: str
    counts: RunCounts
    skipped: dict[str, str] = field(default_factory=dict)
    summary: Any = None  # pandas DataFrame, one row per task x model
    plan: Plan | None = None
    stops: dict[str, dict[str, str]] = field(default_factory=dict)  # adaptive: task -> model -> where it stands
    budget_stop: str | None = None  # --budget: the line saying where the run stopped
    errors: list[ErrorReport] = field(default_factory=list)

    @property
    def failed(self) -> list[ErrorReport]:
        """The task × model pairs whose error rate passed its limit (the run then exits 1)."""
        return [e for e in self.errors if e.over_limit]

    def __repr__(self) -> str:
        c = self.counts
        return (f"RunResult(run_id={self.run_id!r}, planned={c.planned}, called={c.called}, cached={c.cached}, "
                f"reused={c.reused}, errors={c.errors}, over_limit={len(self.failed)}, "
                f"interrupted={c.interrupted})")


def run(project: Project, tasks: list[str] | None = None, models: list[str] | None = None,
        limit: int | None = None, store: str | None = None, no_cache: bool = False,
        shard: tuple[int, int] | None = None, progress: Progress | bool = True,
        argv: list[str] | None = None, adaptive: bool | None = None, repeats: int | None = None,
        budget: float | None = None, max_errors: float | None = None, run_group: str | None = None,
        workers: int | None = None, warm: Callable[[], Any] | None = None) -> RunResult:
    """Evaluate tasks against their candidates; every finished call is stored at once.

    `adaptive`: run in rounds and stop candidates once settled (None: each spec's `adaptive:`);
    `repeats`: calls per case (None: each spec's `repeats:`); `budget`: stop before the run's
    spend would pass this many dollars; `max_errors` (a rate in [0, 1]) overrides each spec's
    max_error_rate for `RunResult.failed`; `shard` (i, n) evaluates only the cases whose case hash
    falls in shard i of n, and the runs of shard jobs sharing a `run_group` are read as one.
    `workers`: processes making the API calls (1: this one; None: tierwise.yaml's `workers:`,
    else one per core when there are many calls to make). `warm`: what the caller will need once
    the run has ended (an import, say), done while the call workers start up, when they start
    before the calls (else not at all): this process would only wait then.

    Works inside a running event loop too (a notebook): the run then goes on in a worker
    thread with its own loop, and this call waits for it. `await arun(...)` is the async form.
    """
    kwargs = dict(tasks=tasks, models=models, limit=limit, store=store, no_cache=no_cache, shard=shard,
                  progress=progress, argv=argv, adaptive=adaptive, repeats=repeats, budget=budget,
                  max_errors=max_errors, run_group=run_group, workers=workers, warm=warm)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(project, **kwargs)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="tierwise-run") as pool:
        return pool.submit(_run, project, **kwargs).result()


async def arun(project: Project, **kwargs: Any) -> RunResult:
    """`run`, awaitable (same arguments): the evaluation goes on in a worker thread, the
    caller's loop stays free."""
    return await asyncio.to_thread(_run, project, **kwargs)


def _error_reports(tasks: list, frame: Any, max_errors: float | None) -> list[ErrorReport]:
    """Per task × model with failed calls in the current results: how many, the limit, the first."""
    if frame is None or frame.empty:
        return []
    limits = {t.name: (max_errors if max_errors is not None else
                       t.spec.max_error_rate if t.spec.max_error_rate is not None else DEFAULT_MAX_ERROR_RATE)
              for t in tasks}
    out = []
    for (task, model), group in frame.groupby(["task", "model"], sort=False):
        failed = group[group["error"].notna()]
        if len(failed):
            out.append(ErrorReport(task, model, len(failed), len(group), limits.get(task, DEFAULT_MAX_ERROR_RATE),
                                   str(failed["error"].iloc[0])))
    return out


def _run(project: Project, tasks: list[str] | None = None, models: list[str] | None = None,
         limit: int | None = None, store: str | None = None, no_cache: bool = False,
         shard: tuple[int, int] | None = None, progress: Progress | bool = True,
         argv: list[str] | None = None, adaptive: bool | None = None, repeats: int | None = None,
         budget: float | None = None, max_errors: float | None = None, run_group: str | None = None,
         workers: int | None = None, warm: Callable[[], Any] | None = None) -> RunResult:
    selected = project.select(tasks)
    cands = candidates_for(project, selected, models)
    prog = progress if isinstance(progress, Progress) else Progress(enabled=bool(progress))
    skipped = {name: c.skip_reason for name, c in cands.items() if not c.available}
    for name, why in skipped.items():
        prog.line(f"skipped {name}: {why}")
    available = {name: c for name, c in cands.items() if c.available}
    probe_structured(available, project.root, prog.line)
    for line in unconstrained_warnings(selected, available):
        prog.line(f"warning: {line}")
    plan = plan_run(selected, available, limit=limit, shard=shard, repeats=repeats)
    settings = _adaptive_settings(selected, plan, adaptive, limit, shard, prog)
    plan.judges = judges_for(project, selected)
    for name, c in plan.judges.items():
        if not c.available and name not in skipped:
            prog.line(f"judge {name} cannot run here: {c.skip_reason}; its grades will be judge errors")
    db = Store(project.store_url(store))
    try:
        from importlib.metadata import version

        info = {"tasks": [t.name for t in selected], "models": sorted(cands), "skipped": skipped,
                "limit": limit, "shard": list(shard) if shard else None,
                "repeats": {t.name: repeats or t.spec.repeats for t in selected},
                "adaptive": {name: s.to_info() for name, s in settings.items()}, "state": plan.state(selected)}
        if budget is not None:
            info["budget"] = budget
        run_id = db.start_run(
            tierwise_version=tierwise_version(),
            litellm_version=version("litellm"), price_map_version=price_map_version(),
            argv=_safe_argv(argv if argv is not None else sys.argv[1:]), run_group=run_group, info=info,
        )
        options = RunOptions(run_id=run_id, no_cache=no_cache, retries=project.config.retries,
                             backoff_s=project.config.retry_backoff_s,
                             local_threads=project.config.local_threads,
                             grade_timeout_s=project.config.grade_timeout_s, judges=plan.judges,
                             workers=workers if workers is not None else project.config.workers)
        start_workers_early(plan.items, db, options)
        if options.early_pool is not None:
            # What the run's end needs (pandas to read the results, the summary's statistics) is
            # imported now, while the workers import LiteLLM, not after the last response.
            import pandas  # noqa: F401

            from ..decide import summarize  # noqa: F401

            if warm is not None:
                warm()
        limiter = Budget(budget, project.config.concurrency) if budget is not None else None
        options.local = SharedLocal()
        counts = RunCounts(planned=len(plan.items))
        stops: dict[str, dict[str, str]] = {}
        status: RunStatus = "failed"

        def part_progress() -> Progress:  # a fresh display per part: its bars count that part
            return prog if limiter is None and not settings else Progress(enabled=prog.enabled, stream=prog.stream)

        try:
            fixed = [it for it in plan.items if it.task.name not in settings]
            run_parts(fixed, db, options, part_progress, counts, limiter)
            if settings and not counts.interrupted:
                stops = adaptive_rounds(plan, settings, db, options, part_progress, counts, limiter, prog.note)
            status = "interrupted" if counts.interrupted else \
                "budget_stopped" if limiter is not None and limiter.stopped else "finished"
        except KeyboardInterrupt:
            counts.interrupted, status = True, "interrupted"
        finally:
            if options.early_pool is not None:  # interrupted before the first part took them
                options.early_pool.stop()
            options.local.stop()
            if stops:
                info["stops"] = stops
            if limiter is not None and limiter.stopped:
                info["budget_stop"] = limiter.stopped
            _note_lag(counts, info, prog)
            frame = errors = None
            if status != "failed":
                frame = db.results_frame([t.name for t in selected], current=plan.current_keys(), columns=RUN_COLUMNS)
                errors = _error_reports(selected, frame, max_errors)
                info["errors"] = {f"{e.task} × {e.model}": {"errors": e.errors, "n": e.n, "limit": e.limit,
                                                            "first": e.first_error} for e in errors}
                if status == "finished" and any(e.over_limit for e in errors):
                    status = "finished_with_errors"
            db.finish_run(run_id, status, info)
            for line in db.rejected:
                prog.line(f"not stored (the store refused it): {line}")
        from ..decide import summarize

        return RunResult(run_id, counts, skipped, summarize(frame), plan, stops,
                         limiter.stopped if limiter is not None else None, errors or [])
    finally:
        db.close()


def _note_lag(counts: RunCounts, info: dict[str, Any], prog: Progress) -> None:
    """Keep the run's event-loop lag (and its worker count) with the run; one line when it was large."""
    from ._lag import lag_summary, lag_warning

    lag = lag_summary(counts.lag_ms)
    if lag is not None:
        info["loop_lag_ms"] = lag
        info["workers"] = counts.workers
    warning = lag_warning(lag)
    if warning:
        prog.line(warning)


def _adaptive_settings(tasks: list, plan: Plan, adaptive: bool | None, limit: int | None,
                       shard: tuple[int, int] | None, prog: Progress) -> dict[str, AdaptiveSettings]:
    """Per adaptive task: its ladder (estimated price per call, cheapest first) and family size."""
    wanted = [t for t in tasks if (adaptive if adaptive is not None else t.spec.adaptive)]
    if not wanted:
        return {}
    if limit or shard:
        if adaptive:
            raise ConfigError("--adaptive runs the whole golden set in rounds decided from the results; "
                              "fix: drop --limit/--shard, or drop --adaptive")
        prog.line(f"--limit/--shard: running {', '.join(t.name for t in wanted)} in full, not adaptively")
        return {}
    from ..decide import AdaptiveSettings
    from ._estimate import Estimator

    # Spec and catalog only: the same ladder on every resume. Prompt tokens as characters / 4:
    # an order needs no tokenizer, and a resumed run that calls nothing then never imports LiteLLM.
    estimator = Estimator(None, approximate=True)
    out = {}
    for task in wanted:
        first = {}
        for it in plan.items:
            if it.task.name == task.name and it.cand.name not in first:
                first[it.cand.name] = it
        price = {name: estimator.call(it).cost for name, it in first.items()}
        ladder = sorted(first, key=lambda n: (price[n] is None, price[n] or 0.0, n))
        reps = max((it.repeat for it in plan.items if it.task.name == task.name), default=0) + 1
        # Holm's family: the spec's candidates and cascades (listed or suggested), fixed before any
        # score is seen (as in a full run): one this run does not evaluate (--models, no key here)
        # is counted, never qualified.
        out[task.name] = AdaptiveSettings(tuple(ladder), max(len(ladder), task.spec.family_size), repeats=reps)
    return out


def estimate(project: Project, tasks: list[str] | None = None, models: list[str] | None = None,
             limit: int | None = None, store: str | None = None, no_cache: bool = False,
             shard: tuple[int, int] | None = None, repeats: int | None = None) -> DryRun:
    """What `run` would call and cost (`tierwise run --dry-run`); calls nothing. An adaptive
    run makes at most these calls."""
    selected = project.select(tasks)
    cands = candidates_for(project, selected, models)
    available = {name: c for name, c in cands.items() if c.available}
    plan = plan_run(selected, available, limit=limit, shard=shard, repeats=repeats)
    db = Store(project.store_url(store))
    try:
        return dry_run(plan, db, no_cache)
    finally:
        db.close()


def results(project: Project, tasks: list[str] | None = None, store: str | None = None,
            current_only: bool = True):
    """Stored results as a DataFrame (one row per case x model); by default only the rows the
    current specs, prompts and golden sets ask for."""
    selected = project.select(tasks)
    db = Store(project.store_url(store))
    try:
        current = None
        if current_only:
            cands = candidates_for(project, selected, check_keys=False)
            current = plan_run(selected, cands).current_keys()
        return db.results_frame([t.name for t in selected], current=current)
    finally:
        db.close()


def summary(project: Project, tasks: list[str] | None = None, store: str | None = None):
    """The per task x model summary of the current results."""
    from ..decide import summarize

    return summarize(results(project, tasks, store))


def _safe_argv(argv: list[str]) -> str:
    """The command line for the run record, with any store URL's password hidden."""
    out, hide_next = [], False
    for arg in argv:
        if hide_next:
            arg, hide_next = safe_url(arg), False
        elif arg == "--store":
            hide_next = True
        elif arg.startswith("--store="):
            arg = "--store=" + safe_url(arg.split("=", 1)[1])
        out.append(arg)
    return redact(" ".join(out))
