"""Running evaluations: the plan of calls the specs ask for, the scheduler that makes them
(per-model concurrency, local models grouped), the writer that commits each result at once,
and progress."""

from ._api import DEFAULT_MAX_ERROR_RATE, ErrorReport, RunResult, arun, candidates_for, check, estimate, results, run, \
    summary
from ._estimate import DryRun
from ._plan import Item, Plan, plan_run
from ._progress import Progress
from ._runner import RunCounts, RunOptions, execute

__all__ = ["DEFAULT_MAX_ERROR_RATE", "DryRun", "ErrorReport", "Item", "Plan", "Progress", "RunCounts", "RunOptions",
           "RunResult", "arun", "candidates_for", "check", "estimate", "execute", "plan_run", "results", "run", "summary"]
