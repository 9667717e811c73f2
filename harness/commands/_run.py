"""`tierwise run`: evaluate tasks against their candidates, and what the command says and exits with."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..project import Project
from ..runner import RunResult, estimate, run

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


@dataclass(frozen=True)
class RunRequest:
    """What `tierwise run` was asked for (each field as `harness.run` takes it)."""

    tasks: list[str] | None = None
    models: list[str] | None = None
    limit: int | None = None
    store: str | None = None
    no_cache: bool = False
    shard: tuple[int, int] | None = None
    max_errors: float | None = None
    run_group: str | None = None
    adaptive: bool | None = None
    repeats: int | None = None
    budget: float | None = None
    workers: int | None = None
    progress: bool = True


@dataclass
class RunOutcome:
    """The lines `tierwise run` prints (to stdout and to stderr) and its exit code."""

    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    result: RunResult | None = None


def run_command(project: Project, request: RunRequest, dry_run: bool = False) -> RunOutcome:
    """Run (or with `dry_run`, estimate) what `request` asks; the exit code follows docs/formats.md:
    130 when interrupted, 1 when a task × model pair passed its error limit or the run stopped at
    its budget (incomplete)."""
    r = request
    if dry_run:
        return RunOutcome([estimate(project, r.tasks, r.models, r.limit, r.store, r.no_cache, r.shard,
                                    r.repeats).text()])
    result = run(project, r.tasks, r.models, r.limit, r.store, r.no_cache, r.shard, progress=r.progress,
                 adaptive=r.adaptive, repeats=r.repeats, budget=r.budget, max_errors=r.max_errors,
                 run_group=r.run_group, workers=r.workers, warm=_import_report)
    return outcome_of(result)


def _import_report() -> None:
    """The summary's text (outcome_of) imports the report package (0.4-0.5 s): imported while the
    call workers import LiteLLM, not after the last response."""
    from .. import report  # noqa: F401


def outcome_of(result: RunResult) -> RunOutcome:
    """What a finished (or interrupted) run says, and its exit code."""
    from ..report import run_table

    c = result.counts
    out = RunOutcome(result=result)
    out.out.append(run_table(result.summary))
    out.out += [f"{task} × {model}: {line}" for task, stops in result.stops.items() for model, line in stops.items()]
    judged = f", {c.judge_calls} judge calls" if c.judge_calls else ""
    out.out.append(f"\nrun {result.run_id}: {c.called} called, {c.cached} from cache, {c.reused} already stored, "
                   f"{c.errors} errors{judged}; results in the store")
    out.err += [f"errors: {report.line()}" for report in result.errors]
    if result.budget_stop:
        out.out.append(result.budget_stop)
    if c.interrupted:
        out.err.append("interrupted: finished results are stored; run the same command again to resume")
        out.exit_code = EXIT_INTERRUPTED
    elif result.failed:
        out.err.append(f"run failed: {len(result.failed)} task × model pairs passed their error limit "
                       f"(see the errors above; --max-errors RATE sets the limit)")
        out.exit_code = EXIT_FAILED
    elif result.budget_stop:  # incomplete: what the budget left uncalled is not evaluated
        out.exit_code = EXIT_FAILED
    return out
