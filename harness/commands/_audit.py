"""`tierwise audit`: where the money goes, from the usage ledger or a usage export, what the
current recommendation would change, and real inputs sampled as golden-set candidates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..audit import (
    AuditResult,
    UsageError,
    from_ledger,
    live_monitors,
    pricer,
    project_spend,
    read_usage,
    summarise,
    write_sample,
)
from ..errors import ConfigError, TierwiseError
from ..models import resolve_candidates
from ..project import Project, load_project
from ._recommend import current_results, recommend

if TYPE_CHECKING:
    import pandas as pd

EXIT_OK, EXIT_ALARM = 0, 1


@dataclass
class AuditOutcome:
    """What `tierwise audit` prints and exits with: with `check` (a scheduled CI job), exit 1
    and one stderr line per alarm when a live monitor is in alarm."""

    result: AuditResult
    check: bool = False

    def text(self) -> str:
        return self.result.text()

    def to_json(self) -> str:
        return json.dumps(self.result.to_dict(), indent=2)

    @property
    def err(self) -> list[str]:
        return [f"alarm: {alarm.line()}" for alarm in self.result.alarms] if self.check else []

    @property
    def exit_code(self) -> int:
        return EXIT_ALARM if self.check and self.result.alarms else EXIT_OK


def audit_command(project: Project | str | Path = ".", source: str | Path | None = None, store: str | None = None,
                  sample: tuple[str, int] | None = None, out: str | Path | None = None, skip_bad: bool = False,
                  check: bool = False, task_attribute: str | None = None) -> AuditOutcome:
    """`tierwise audit` (see `audit`); `check`: the exit code says whether a live monitor is in alarm."""
    return AuditOutcome(audit(project, source=source, store=store, sample=sample, out=out, skip_bad=skip_bad,
                              task_attribute=task_attribute), check)


def audit(project: Project | str | Path = ".", source: str | Path | None = None, store: str | None = None,
          sample: tuple[str, int] | None = None, out: str | Path | None = None,
          recommendation: bool = True, skip_bad: bool = False, task_attribute: str | None = None) -> AuditResult:
    """Audit the usage ledger (or a usage export) of a project folder; `sample=(task, n)` also
    writes n recent captured inputs as unlabelled golden-set candidates. `skip_bad`: an export's
    bad rows are skipped and counted (a note) instead of an error. `task_attribute`: the span
    attribute naming the task in an OTLP trace export (default tierwise.task)."""
    proj = _load(project, required=source is None or sample is not None)
    skipped: list[str] = []
    if task_attribute is not None and source is None:
        raise UsageError("--task-attribute names the task in an OTLP export: pass the export with --from FILE")
    if source is not None:
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"{path}: not found; fix: pass a ledger export, LiteLLM spend logs, an OTLP/JSON trace "
                             f"export or a CSV/JSONL file")
        usage = read_usage(path, pricer(proj), skip_bad, task_attribute)
        rows, shown, skipped = usage.rows, str(path), usage.notes()
    else:
        rows, shown = from_ledger(proj.store_url(store)), "the usage ledger"
    result = summarise(rows, shown)
    result.notes.extend(skipped)
    decisions: dict = {}
    frame = None  # the results the recommendation read: the pairwise monitors match human verdicts to them
    if proj is not None and rows and recommendation:
        decisions, cands, frame = _decisions(proj, result, store)
        project_spend(proj, result, decisions, cands)
    if proj is not None and source is None:
        loaded = proj

        def current(task: str) -> pd.DataFrame:
            if frame is not None and task in decisions:
                return frame[frame["task"] == task]
            return current_results(loaded, [task], store)

        result.monitors = live_monitors(proj, proj.store_url(store), rows, current)
    if sample is not None:
        task, n = sample
        result.sample = write_sample(proj, task, n, store, out)
    return result


def _decisions(project: Project, result: AuditResult, store: str | None) -> tuple[dict, dict, pd.DataFrame | None]:
    """The current recommendation for the audited tasks, every candidate of the project, and the
    results the recommendation read."""
    try:
        rec = recommend(project, [t.task for t in result.tasks if t.task in project.tasks] or None, store)
        names = sorted({n for t in project.tasks.values() for n in t.spec.candidates})
        return ({d.task: d for d in rec.decisions}, resolve_candidates(project.config, names, check_keys=False),
                rec.frame)
    except TierwiseError as exc:
        result.notes.append(f"no recommendation to project ({exc})")
        return {}, {}, None


def _load(project: Project | str | Path, required: bool) -> Project | None:
    if not isinstance(project, (str, Path)):
        return project
    try:
        return load_project(project)
    except ConfigError:
        if required:
            raise
        return None  # an export can be audited before there is a Tierwise project
