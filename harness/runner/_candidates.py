"""Which catalog models a run uses, and `tierwise validate`'s check; light, so that command
starts fast (no store, no statistics, no LiteLLM)."""

from __future__ import annotations

from ..errors import ConfigError
from ..models import Candidate, resolve_candidates
from ..project import Project
from ._plan import plan_run


def candidates_for(project: Project, tasks: list, models: list[str] | None = None,
                   check_keys: bool = True) -> dict[str, Candidate]:
    """The candidates the selected tasks name, filtered by --models."""
    names: list[str] = []
    for task in tasks:
        names += [n for n in task.spec.candidates if n not in names]
    if models:
        unknown = [m for m in models if m not in project.config.models]
        if unknown:
            raise ConfigError(f"--models: unknown model {unknown[0]!r}; known: {', '.join(sorted(project.config.models))}")
        names = [n for n in names if n in models]
    return resolve_candidates(project.config, names, check_keys=check_keys)


def judges_for(project: Project, tasks: list, check_keys: bool = True) -> dict[str, Candidate]:
    """The models the tasks' graders call (judges) or compare with (pairwise `against:`)."""
    names: list[str] = []
    for task in tasks:
        names += [n for n in getattr(task, "judges", {}) if n not in names]
    return resolve_candidates(project.config, names, check_keys=check_keys)


def check(project: Project) -> None:
    """Everything `run` checks before a call: python: candidates import, every prompt renders."""
    tasks = project.select(None)
    plan_run(tasks, candidates_for(project, tasks, check_keys=False))
