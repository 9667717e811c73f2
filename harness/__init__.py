"""Tierwise: per-task model selection from graded evidence.

The public surface; everything the CLI does is one of these calls first:

    import harness
    project = harness.load_project(".")
    harness.run(project)                       # evaluate every task against its candidates
    harness.results(project)                   # the current results, a DataFrame per case × model
    rec = harness.recommend(project)           # the decision rule, per task
    harness.write_registry(project, rec)       # registry.yaml and its evidence
    harness.build_report(project, rec)         # reports/index.html, summary.md, report.json
    harness.gate(project)                      # is every registry entry backed by current evidence?
"""

from ._lazy import lazy_attributes
from .errors import (
    ConfigError,
    GoldenSetError,
    GraderError,
    RegistryError,
    SpecError,
    StoreError,
    TierwiseError,
)
from .graders import Grade, grader
from .project import Project, load_project

__all__ = [
    "Client", "ConfigError", "GoldenSetError", "Grade", "GraderError", "Project", "RegistryError", "SpecError",
    "StoreError", "TierwiseError", "arun", "build_report", "gate", "grader", "load_project", "recommend", "results",
    "run", "summary",
    "write_registry",
]

# Heavy modules (pandas, SQLAlchemy, litellm) load only when these are first used, so
# `tierwise --help` and `tierwise validate` stay fast.
_LAZY = {
    "run": "runner", "arun": "runner", "results": "runner", "summary": "runner",
    "recommend": "decide",
    "write_registry": "registry", "gate": "registry",
    "build_report": "report",
    "Client": "client",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
