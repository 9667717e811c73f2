"""Running evaluations: the plan of calls the specs ask for, the scheduler that makes them
(per-model concurrency, local models grouped), the writer that commits each result at once,
and progress."""

from ._api import RunResult, candidates_for, check, estimate, results, run, summary
from ._estimate import DryRun
from ._plan import Item, Plan, plan_run
from ._progress import Progress
from ._runner import RunCounts, RunOptions, execute

__all__ = ["DryRun", "Item", "Plan", "Progress", "RunCounts", "RunOptions", "RunResult", "candidates_for", "check",
           "estimate", "execute", "plan_run", "results", "run", "summary"]
