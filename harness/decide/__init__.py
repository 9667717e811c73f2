"""Deciding: the statistics (decide/stats.py: lower bounds, paired tests, sample sizes), the
figures per task × model, the decision rule (cheapest candidate that clears the bar), and the
recommendation over a project."""

from ._figures import SUMMARY_COLUMNS, figures, summarize
from ._judged import Agreement, PPIBound, agreement, cohen_kappa, corrected_lower_bound, ppi_lower_bound, task_judged
from ._recommend import JSON_VERSION, Recommendation, recommend
from ._rule import (
           CandidateResult,
           Comparison,
           Decision,
           compare,
           decide,
           pick,
           projected_monthly,
)

__all__ = ["Agreement", "PPIBound", "agreement", "cohen_kappa", "corrected_lower_bound", "ppi_lower_bound", "task_judged", "JSON_VERSION", "SUMMARY_COLUMNS", "CandidateResult", "Comparison", "Decision", "Recommendation", "compare",
           "decide", "figures", "pick", "projected_monthly", "recommend", "summarize"]
