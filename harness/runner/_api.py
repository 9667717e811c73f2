"""The library calls behind `tierwise run`: plan, execute, summarise, and read results back."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from ..decide import AdaptiveSettings, summarize
from ..errors import ConfigError
from ..models import Candidate, price_map_version, resolve_candidates
from ..project import Project
from ..store import Store, safe_url
from ..util import redact, tierwise_version
from ._plan import Plan, plan_run
from ._estimate import DryRun, dry_run
from ._progress import Progress
from ._rounds import Budget, adaptive_rounds, run_parts
from ._runner import RunCounts, RunOptions


@dataclass
class RunResult:
    run_id: str
    counts: RunCounts
    skipped: dict[str, str] = field(default_factory=dict)
    summary: Any = None  # pandas DataFrame, one row per task x model
    plan: Plan | None = None
    stops: dict[str, dict[str, str]] = field(default_factory=dict)  # adaptive: task -> model -> where it stands
    budget_stop: str | None = None  # --budget: the line saying where the run stopped


def candidates_for(project: Project, tasks: list, models: list[str] | None = None,
                   check_keys: bool = True) -> dict[str, Candidate]:
    """The candidates the selected tasks name, filtered by --models."""
    names: list[str] = []
    for task in tasks:
        names += [n for n in task.spec.candidates if n not in names]
    if models:
        unknown = [m for m in models if m not in project.config.models]
        if unknown:
            raise ConfigError(f"--models: unknown model {unknown[0]!r}; known: {', '.join(sorted(project.config.models))}")
        names = [n for n in names if n in models]
    return resolve_candidates(project.config, names, check_keys=check_keys)


def check(project: Project) -> None:
    """Everything `run` checks before a call: python: candidates import, every prompt renders."""
    tasks = project.select(None)
    plan_run(tasks, candidates_for(project, tasks, check_keys=False))


def run(project: Project, tasks: list[str] | None = None, models: list[str] | None = None,
        limit: int | None = None, store: str | None = None, no_cache: bool = False,
        shard: tuple[int, int] | None = None, progress: Progress | bool = True,
        argv: list[str] | None = None, adaptive: bool | None = None, repeats: int | None = None,
        budget: float | None = None) -> RunResult:
    """Evaluate tasks against their candidates; every finished call is stored at once.

    `adaptive`: run in rounds and stop candidates once settled (None: each spec's `adaptive:`);
    `repeats`: calls per case (None: each spec's `repeats:`); `budget`: stop before the run's
    spend would pass this many dollars.
    """
    selected = project.select(tasks)
    cands = candidates_for(project, selected, models)
    prog = progress if isinstance(progress, Progress) else Progress(enabled=bool(progress))
    skipped = {name: c.skip_reason for name, c in cands.items() if not c.available}
    for name, why in skipped.items():
        prog.line(f"skipped {name}: {why}")
    available = {name: c for name, c in cands.items() if c.available}
    plan = plan_run(selected, available, limit=limit, shard=shard, repeats=repeats)
    settings = _adaptive_settings(selected, plan, adaptive, limit, shard, prog)
    db = Store(project.store_url(store))
    try:
        from importlib.metadata import version

        info = {"tasks": [t.name for t in selected], "models": sorted(cands), "skipped": skipped,
                "limit": limit, "shard": list(shard) if shard else None,
                "repeats": {t.name: repeats or t.spec.repeats for t in selected},
                "adaptive": {name: s.to_info() for name, s in settings.items()}}
        if budget is not None:
            info["budget"] = budget
        run_id = db.start_run(
            tierwise_version=tierwise_version(),
            litellm_version=version("litellm"), price_map_version=price_map_version(),
            argv=_safe_argv(argv if argv is not None else sys.argv[1:]), info=info,
        )
        options = RunOptions(run_id=run_id, no_cache=no_cache, retries=project.config.retries,
                             backoff_s=project.config.retry_backoff_s,
                             local_threads=project.config.local_threads)
        limiter = Budget(budget, project.config.concurrency) if budget is not None else None
        counts = RunCounts(planned=len(plan.items))
        stops: dict[str, dict[str, str]] = {}
        status = "failed"

        def part_progress() -> Progress:  # a fresh display per part: its bars count that part
            return prog if limiter is None and not settings else Progress(enabled=prog.enabled, stream=prog.stream)

        try:
            fixed = [it for it in plan.items if it.task.name not in settings]
            run_parts(fixed, db, options, part_progress, counts, limiter)
            if settings and not counts.interrupted:
                stops = adaptive_rounds(plan, settings, db, options, part_progress, counts, limiter, prog.note)
            status = "interrupted" if counts.interrupted else "finished"
        except KeyboardInterrupt:
            counts.interrupted, status = True, "interrupted"
        finally:
            if stops:
                info["stops"] = stops
            if limiter is not None and limiter.stopped:
                info["budget_stop"] = limiter.stopped
            db.finish_run(run_id, status, info)
        frame = db.results_frame([t.name for t in selected], current=plan.current_keys())
        return RunResult(run_id, counts, skipped, summarize(frame), plan, stops,
                         limiter.stopped if limiter is not None else None)
    finally:
        db.close()


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
    from ._estimate import Estimator

    estimator = Estimator(None)  # spec and catalog only: the same ladder on every resume
    out = {}
    for task in wanted:
        first = {}
        for it in plan.items:
            if it.task.name == task.name and it.cand.name not in first:
                first[it.cand.name] = it
        price = {name: estimator.call(it).cost for name, it in first.items()}
        ladder = sorted(first, key=lambda n: (price[n] is None, price[n] or 0.0, n))
        reps = max((it.repeat for it in plan.items if it.task.name == task.name), default=0) + 1
        out[task.name] = AdaptiveSettings(tuple(ladder), len(task.spec.candidates), repeats=reps)
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
