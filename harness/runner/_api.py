"""The library calls behind `tierwise run`: plan, execute, summarise, and read results back."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from ..decide import summarize
from ..errors import ConfigError
from ..models import Candidate, price_map_version, resolve_candidates
from ..project import Project
from ..store import Store, safe_url
from ..util import redact, tierwise_version
from ._plan import Plan, plan_run
from ._progress import Progress
from ._runner import RunCounts, RunOptions, execute


@dataclass
class RunResult:
    run_id: str
    counts: RunCounts
    skipped: dict[str, str] = field(default_factory=dict)
    summary: Any = None  # pandas DataFrame, one row per task x model
    plan: Plan | None = None


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


def judges_for(project: Project, tasks: list, check_keys: bool = True) -> dict[str, Candidate]:
    """The models the tasks' graders call (judges) or compare with (pairwise `against:`)."""
    names: list[str] = []
    for task in tasks:
        names += [n for n in getattr(task, "judges", {}) if n not in names]
    return resolve_candidates(project.config, names, check_keys=check_keys)


def check(project: Project) -> None:
    """Everything `run` checks before a call: python: candidates import, every prompt renders."""
    tasks = project.select(None)
    plan_run(tasks, candidates_for(project, tasks, check_keys=False))


def run(project: Project, tasks: list[str] | None = None, models: list[str] | None = None,
        limit: int | None = None, store: str | None = None, no_cache: bool = False,
        shard: tuple[int, int] | None = None, progress: Progress | bool = True,
        argv: list[str] | None = None) -> RunResult:
    """Evaluate tasks against their candidates; every finished call is stored at once."""
    selected = project.select(tasks)
    cands = candidates_for(project, selected, models)
    prog = progress if isinstance(progress, Progress) else Progress(enabled=bool(progress))
    skipped = {name: c.skip_reason for name, c in cands.items() if not c.available}
    for name, why in skipped.items():
        prog.line(f"skipped {name}: {why}")
    available = {name: c for name, c in cands.items() if c.available}
    plan = plan_run(selected, available, limit=limit, shard=shard)
    plan.judges = judges_for(project, selected)
    for name, c in plan.judges.items():
        if not c.available and name not in skipped:
            prog.line(f"judge {name} cannot run here: {c.skip_reason}; its grades will be judge errors")
    db = Store(project.store_url(store))
    try:
        from importlib.metadata import version

        run_id = db.start_run(
            tierwise_version=tierwise_version(),
            litellm_version=version("litellm"), price_map_version=price_map_version(),
            argv=_safe_argv(argv if argv is not None else sys.argv[1:]),
            info={"tasks": [t.name for t in selected], "models": sorted(cands), "skipped": skipped,
                  "limit": limit, "shard": list(shard) if shard else None},
        )
        options = RunOptions(run_id=run_id, no_cache=no_cache, retries=project.config.retries,
                             backoff_s=project.config.retry_backoff_s,
                             local_threads=project.config.local_threads)
        status = "failed"
        try:
            counts = execute(plan, db, options, prog)
            status = "interrupted" if counts.interrupted else "finished"
        finally:
            db.finish_run(run_id, status)
        frame = db.results_frame([t.name for t in selected], current=plan.current_keys())
        return RunResult(run_id, counts, skipped, summarize(frame), plan)
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
