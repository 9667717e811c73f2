"""`tierwise report`: the HTML report, the Markdown summary and the JSON document of the current
recommendation (and, in a CI job, the summary appended to its step summary)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..project import Project
from ..report import ReportFiles, append_step_summary, build_report
from ._recommend import recommend


@dataclass
class ReportOutcome:
    files: ReportFiles
    step_summary: Path | None = None  # the CI step summary the Markdown was appended to

    def text(self) -> str:
        lines = [f"wrote {path}" for path in (self.files.html, self.files.markdown, self.files.json)]
        if self.step_summary is not None:
            lines.append(f"appended the summary to {self.step_summary}")
        return "\n".join(lines)


def report(project: Project, tasks: list[str] | None = None, out_dir: str | Path | None = None,
           store: str | None = None, run_group: str | None = None) -> ReportOutcome:
    """Decide the tasks from the current results and write the report's files."""
    files = build_report(project, recommend(project, tasks, store, run_group=run_group), out_dir, store=store)
    return ReportOutcome(files, append_step_summary(files))
