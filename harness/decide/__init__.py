"""Deciding: the statistics (decide/stats.py: lower bounds, paired tests, sample sizes), the
figures per task × model, the decision rule (cheapest candidate that clears the bar), and the
recommendation over a project."""

from ._diff import RunDiff, diff
from ._adaptive import AdaptiveSettings, adaptive_next
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
           registry_options,
)

__all__ = ["AdaptiveSettings", "Agreement", "JSON_VERSION", "PPIBound", "SUMMARY_COLUMNS", "CandidateResult", "Comparison",
           "Decision", "Recommendation", "RunDiff", "adaptive_next", "agreement", "cohen_kappa", "compare",
           "corrected_lower_bound", "decide", "diff", "figures", "pick", "ppi_lower_bound", "projected_monthly",
           "recommend", "registry_options", "summarize", "task_judged"]
