"""Deciding: the statistics (decide/stats.py: every lower bound and its dual p-value), the
figures per task × model, when a candidate qualifies (decide/_qualify.py: the rule `recommend`
and `tierwise gate` share), the decision rule (cheapest candidate that qualifies), and the
recommendation over a project."""

from .._lazy import lazy_attributes

__all__ = ["AdaptiveSettings", "Against", "Agreement", "JSON_VERSION", "PPIBound", "SUMMARY_COLUMNS", "CandidateResult",
           "Comparison", "Decision", "Measured", "MonitorState", "LiveEvidence", "Promotion", "Qualification", "Recommendation",
           "adaptive_next", "agreement", "cascade_result", "cohen_kappa", "entry_cascade", "entry_label",
           "compare", "corrected_lower_bound", "best_evaluated", "decide", "disagreement_upper", "figures", "label_monitor", "pick",
           "ppi_lower_bound", "projected_against", "projected_monthly", "promotion", "promote", "live_evidence", "pairwise_evidence", "pairwise_shortfall", "live_shortfalls", "limit_shortfalls",
           "offline_upper", "FRESH_DAYS", "CLAIM_LIVE", "CLAIM_OFFLINE", "METHOD", "iso", "qualification", "rate_monitor",
           "recorded_settings", "registry_options", "summarize", "task_judged", "labels_needed", "cases_needed",
           "live_grader", "Misses", "PairTally", "PairwiseBound", "pair_labels_needed", "pairwise_bound", "tally",
           "PAIRWISE_METHOD", "MIN_MISS_LABELS"]

# Each name loads its module on first use: a run's summary table needs the figures, not the
# selection procedures and their SciPy routines (a second of imports).
_LAZY = {
    "AdaptiveSettings": "_adaptive", "adaptive_next": "_adaptive", "recorded_settings": "_adaptive",
    "SUMMARY_COLUMNS": "_figures", "figures": "_figures", "summarize": "_figures",
    **dict.fromkeys(["Agreement", "PPIBound", "agreement", "cohen_kappa", "corrected_lower_bound", "ppi_lower_bound",
                     "task_judged", "labels_needed"], "_judged"),
    "cases_needed": "_sample_size",
    "Against": "_recommend", "JSON_VERSION": "_recommend", "Recommendation": "_recommend",
    "projected_against": "_recommend",
    **dict.fromkeys(["CandidateResult", "Decision", "entry_cascade", "entry_label", "registry_options"], "_decision"),
    "cascade_result": "_cascade_policy",
    **dict.fromkeys(["Comparison", "compare"], "_noninferiority"),
    **dict.fromkeys(["best_evaluated", "decide", "pick", "projected_monthly"], "_rule"),
    **dict.fromkeys(["Measured", "Qualification", "qualification"], "_qualify"),
    **dict.fromkeys(["Promotion", "disagreement_upper", "promotion"], "_live"),
    **dict.fromkeys(["LiveEvidence", "promote", "live_evidence", "pairwise_evidence", "pairwise_shortfall", "live_shortfalls", "limit_shortfalls", "offline_upper",
                     "FRESH_DAYS", "CLAIM_LIVE", "CLAIM_OFFLINE", "METHOD", "iso"], "_promote"),
    **dict.fromkeys(["live_grader", "Misses", "PairTally", "PairwiseBound", "pair_labels_needed", "pairwise_bound",
                     "tally", "PAIRWISE_METHOD", "MIN_MISS_LABELS"], "_live_pairwise"),
    **dict.fromkeys(["MonitorState", "label_monitor", "rate_monitor"], "_drift"),
}


__getattr__ = lazy_attributes(__name__, _LAZY)
