"""Deciding: the statistics (decide/stats.py: lower bounds, paired tests, sample sizes), the
figures per task × model, the decision rule (cheapest candidate that clears the bar), and the
recommendation over a project."""

from .._lazy import lazy_attributes

__all__ = ["AdaptiveSettings", "Against", "Agreement", "JSON_VERSION", "PPIBound", "SUMMARY_COLUMNS", "CandidateResult", "Comparison",
           "Decision", "Recommendation", "RunDiff", "adaptive_next", "agreement", "best_evaluated", "cohen_kappa", "compare",
           "corrected_lower_bound", "decide", "diff", "figures", "pick", "ppi_lower_bound", "projected_monthly",
           "recommend", "registry_options", "summarize", "task_judged"]

# Each name loads its module on first use: a run's summary table needs the figures, not the
# selection procedures and their SciPy routines (a second of imports).
_LAZY = {
    "RunDiff": "_diff", "diff": "_diff",
    "AdaptiveSettings": "_adaptive", "adaptive_next": "_adaptive",
    "SUMMARY_COLUMNS": "_figures", "figures": "_figures", "summarize": "_figures",
    **dict.fromkeys(["Agreement", "PPIBound", "agreement", "cohen_kappa", "corrected_lower_bound", "ppi_lower_bound",
                     "task_judged"], "_judged"),
    "Against": "_recommend", "JSON_VERSION": "_recommend", "Recommendation": "_recommend", "recommend": "_recommend",
    **dict.fromkeys(["CandidateResult", "Decision", "registry_options"], "_decision"),
    **dict.fromkeys(["Comparison", "compare"], "_noninferiority"),
    **dict.fromkeys(["best_evaluated", "decide", "pick", "projected_monthly"], "_rule"),
}


__getattr__ = lazy_attributes(__name__, _LAZY)
