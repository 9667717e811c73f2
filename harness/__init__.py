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

__all__ = [
    "Client", "ConfigError", "GoldenSetError", "Grade", "GraderError", "Project", "RegistryError", "SpecError",
    "StoreError", "TierwiseError", "arun", "build_report", "gate", "grader", "load_project", "recommend", "results",
    "run", "summary",
    "write_registry",
]

# Every module loads when one of its names is first used (pydantic for specs, pandas and
# SQLAlchemy for results, LiteLLM for calls), so `tierwise --help` and `validate` start fast.
_LAZY = {
    "Grade": "graders", "grader": "graders",
    "Project": "project", "load_project": "project",
    "run": "runner", "arun": "runner", "results": "runner", "summary": "runner",
    "recommend": "commands", "gate": "commands",
    "write_registry": "registry",
    "build_report": "report",
    "Client": "client",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
