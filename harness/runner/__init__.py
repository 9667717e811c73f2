"""Running evaluations: the plan of calls the specs ask for, the scheduler that makes them
(per-model concurrency, local models grouped), the writer that commits each result at once,
and progress."""

__all__ = ["DEFAULT_MAX_ERROR_RATE", "DryRun", "ErrorReport", "Item", "Plan", "Progress", "RunCounts", "RunOptions",
           "RunResult", "arun", "candidates_for", "check", "estimate", "execute", "plan_run", "results", "run", "summary"]

# Each name loads its module on first use: `tierwise validate` needs the plan and the
# candidates, not the store, the statistics or the scheduler (seconds of imports).
_LAZY = {
    "candidates_for": "_candidates", "check": "_candidates",
    "Item": "_plan", "Plan": "_plan", "plan_run": "_plan",
    "DryRun": "_estimate", "Progress": "_progress",
    "RunCounts": "_runner", "RunOptions": "_runner", "execute": "_runner",
    "DEFAULT_MAX_ERROR_RATE": "_api", "ErrorReport": "_api", "RunResult": "_api", "arun": "_api",
    "estimate": "_api", "results": "_api", "run": "_api", "summary": "_api",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
