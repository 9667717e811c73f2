"""Running evaluations: the plan of calls the specs ask for, the scheduler that makes them
(per-model concurrency, local models grouped), the writer that commits each result at once,
and progress."""

from .._lazy import lazy_attributes

__all__ = ["DEFAULT_MAX_ERROR_RATE", "DryRun", "ErrorReport", "Item", "Plan", "Progress", "RunCounts", "RunOptions",
           "RunResult", "arun", "candidates_for", "check", "estimate", "execute", "plan_run", "results", "run", "summary",
           "PairJudging", "judge_shadow_pairs", "LiveJudging", "judge_grader", "judge_live_calls", "sampled"]

# Each name loads its module on first use: `tierwise validate` needs the plan and the
# candidates, not the store, the statistics or the scheduler (seconds of imports).
_LAZY = {
    "candidates_for": "_candidates", "check": "_candidates",
    "Item": "_plan", "Plan": "_plan", "plan_run": "_plan",
    "DryRun": "_estimate", "Progress": "_progress",
    "RunCounts": "_runner", "RunOptions": "_runner", "execute": "_runner",
    "DEFAULT_MAX_ERROR_RATE": "_api", "ErrorReport": "_api", "RunResult": "_api", "arun": "_api",
    "estimate": "_api", "results": "_api", "run": "_api", "summary": "_api",
    "PairJudging": "_shadow_judging", "judge_shadow_pairs": "_shadow_judging",
    "LiveJudging": "_live_judging", "judge_grader": "_live_judging", "judge_live_calls": "_live_judging",
    "sampled": "_live_judging",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
