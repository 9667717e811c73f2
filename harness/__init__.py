"""Tierwise: per-task model selection from graded evidence.

The public surface; everything the CLI does is one of these calls first.
"""

from .errors import ConfigError, GoldenSetError, GraderError, RegistryError, SpecError, StoreError, TierwiseError
from .project import Project, load_project

__all__ = [
    "ConfigError", "GoldenSetError", "GraderError", "Project", "RegistryError", "SpecError", "StoreError",
    "TierwiseError", "load_project", "results", "run", "summary",
]


def __getattr__(name: str):
    # Heavy modules (pandas, litellm) load only when these are first used, so `tierwise --help` stays fast.
    if name in ("run", "results", "summary"):
        from . import evaluate

        return getattr(evaluate, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
