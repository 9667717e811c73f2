"""Deciding: the statistics (decide/stats.py: lower bounds, paired tests, sample sizes), the
figures per task × model, the decision rule (cheapest candidate that clears the bar), and the
recommendation over a project."""

from ._diff import RunDiff, diff
from ._adaptive import AdaptiveSettings, adaptive_next
from ._figures import SUMMARY_COLUMNS, figures, summarize
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

__all__ = ["AdaptiveSettings", "JSON_VERSION", "SUMMARY_COLUMNS", "CandidateResult", "Comparison", "Decision",
           "Recommendation", "RunDiff", "adaptive_next", "compare", "decide", "diff", "figures", "pick",
           "projected_monthly", "recommend", "registry_options", "summarize"]
