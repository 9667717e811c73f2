"""`tierwise report`: the HTML page a reviewer reads, a Markdown summary for pull requests, JSON.

    from harness import build_report, load_project, recommend

    project = load_project(".")
    files = build_report(project, recommend(project), "reports")

Also the terminal text of a run and of `tierwise recommend` (report/_text.py).
"""

from ._build import ReportFiles, append_step_summary, build_report
from ._text import against_text, recommendation_text, run_table

__all__ = ["ReportFiles", "against_text", "append_step_summary", "build_report", "recommendation_text", "run_table"]
