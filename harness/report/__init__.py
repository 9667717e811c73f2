"""`tierwise report`: the HTML page a reviewer reads, a Markdown summary for pull requests, JSON.

    from harness import build_report, load_project, recommend

    project = load_project(".")
    files = build_report(project, recommend(project), "reports")

Also the terminal text of a run and of `tierwise recommend` (report/_text.py).
"""

from ._build import ReportFiles, append_step_summary, build_report, stylesheet
from ._cases import case_payload, load_reasons, script_json
from ._data import task_views
from ._fmt import FILTERS
from ._text import against_text, recommendation_text, run_table

# The report's pieces `tierwise view` shows live: the task views (with the cost-quality chart),
# the case records, the graders' reasons, JSON that is inert in a <script>, the filters, the CSS.
__all__ = ["FILTERS", "ReportFiles", "against_text", "append_step_summary", "build_report", "case_payload",
           "load_reasons", "recommendation_text", "run_table", "script_json", "stylesheet", "task_views"]
