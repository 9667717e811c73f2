"""`tierwise report`: the HTML page a reviewer reads, a Markdown summary for pull requests, JSON.

    from harness.decisions import recommend
    from harness.report import build_report

    files = build_report(project, recommend(project), "reports")
"""

from ._build import ReportFiles, append_step_summary, build_report

__all__ = ["ReportFiles", "append_step_summary", "build_report"]
