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


def check(project: Project) -> list[str]:
    """Everything `run` checks before a call: python: candidates import, every prompt renders.
    Returns the warnings `run` would give (self-hosted models a task's contract reaches unconstrained)."""
    tasks = project.select(None)
    cands = candidates_for(project, tasks, check_keys=False)
    plan_run(tasks, cands)
    return unconstrained_warnings(tasks, cands)


def unconstrained_warnings(tasks: list, cands: dict[str, Candidate]) -> list[str]:
    """One line per self-hosted candidate that a task with choices or a JSON schema reaches
    with no constraint, naming the tasks and the fix (a silent miss scored 0.067 against 0.925
    constrained on a real schema task)."""
    from ..models import STRUCTURED_FIX, unconstrained

    lost: dict[str, list[str]] = {}
    for task in tasks:
        for name in task.spec.candidates:
            cand = cands.get(name)
            what = unconstrained(task, cand) if cand is not None else None
            if what:
                lost.setdefault(name, []).append(f"{task.name} ({what})")
    lines = []
    for name, where in lost.items():
        mode = cands[name].structured
        why = ("it states no structured: mode" if cands[name].entry.structured is None
               else f"structured: {mode} has no form for that")
        verb = "reaches" if len(where) == 1 else "reach"
        lines.append(f"{name}: {', '.join(where)} {verb} this self-hosted model unconstrained ({why}); "
                     f"fix: {STRUCTURED_FIX}")
    return lines
