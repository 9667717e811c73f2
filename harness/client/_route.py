"""A task's route at run time: the registry entry's model and fallbacks, each mapped back to
the catalog entry that earned the evidence, with the prompt variant, params and output
constraint that model was evaluated with."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import RegistryError, SpecError
from ._cascade import stages_of

if TYPE_CHECKING:
    from ..models import Candidate
    from ..project import Project, Task


@dataclass
class Hop:
    """One model in a task's chain, ready to call."""

    name: str            # catalog name (the target itself when the catalog has no such entry)
    target: str          # the registry string
    cand: "Candidate"
    params: dict[str, Any]
    extra: dict[str, Any]


@dataclass
class Route:
    task: "Task"
    hops: list[Hop]      # a model entry: the model, then its fallbacks; a cascade: its stages, then the fallbacks
    contract: Any  # Contract
    entry: dict[str, Any] = field(default_factory=dict)
    stages: list[Any] = field(default_factory=list)  # a cascade entry's stages (_cascade.Stage); [] for a model

    def messages(self, hop: Hop, variables: dict[str, Any]) -> list[dict[str, str]]:
        """The evaluated prompt for this model: its variant, else the task's default."""
        try:
            return self.task.render(hop.name, variables)
        except Exception as exc:  # noqa: BLE001 - jinja's UndefinedError and whatever a filter raises
            raise SpecError(f"{self.task.path}: prompt: cannot render for {hop.name} ({exc}); "
                            f"fix: pass the template's variables to complete()") from None


def build_routes(project: "Project", registry: dict[str, dict[str, Any]], timeout_s: float | None = None,
                 checks: dict[str, Any] | None = None) -> dict[str, Route]:
    """A route for every registry entry whose task has a spec in evals/."""
    from ..models import constraint, resolve_candidates
    from ..project import Contract
    from ..registry import stage_targets

    checks = checks or {}
    unknown = sorted(set(checks) - set(project.tasks))
    if unknown:
        raise SpecError(f"checks: unknown task {unknown[0]!r}; known: {', '.join(sorted(project.tasks))}")
    routes: dict[str, Route] = {}
    for task_name, entry in registry.items():
        task = project.tasks.get(task_name)
        if task is None:
            continue  # an entry without a spec cannot be rendered; complete() says so if asked
        targets = stage_targets(entry)
        names = [_catalog_name(project, task, t) for t in targets]
        config = _with_adhoc(project, names, targets)
        cands = resolve_candidates(config, list(dict.fromkeys(names)), check_keys=False)
        params = task.params()
        for key in ("max_tokens", "temperature"):
            if entry.get(key) is not None:
                params[key] = entry[key]
        hops = []
        for name, target in zip(names, targets):
            cand = cands[name]
            if timeout_s is not None:
                cand.timeout_s = timeout_s
            hops.append(Hop(name, target, cand, params, constraint(task, cand)))
        stages = stages_of(entry, hops, f"{project.config.registry}: tasks.{task_name}",
                           project.config.grade_timeout_s) if "cascade" in entry else []
        routes[task_name] = Route(task, hops, Contract(task, checks.get(task_name)), entry, stages)
    return routes


def challenger_hop(project: "Project", task_name: str, name: str, timeout_s: float | None = None) -> Hop:
    """A catalog model ready to call for a task as it was evaluated (its variant, the spec's params)."""
    from ..models import constraint, resolve_candidates

    task = project.tasks[task_name]
    cand = resolve_candidates(project.config, [name], check_keys=False)[name]
    if timeout_s is not None:
        cand.timeout_s = timeout_s
    return Hop(name, cand.entry.target, cand, task.params(), constraint(task, cand))


def missing_route(project: "Project", registry: dict[str, Any], task: str) -> Exception:
    """The error for a task the client has no route for, naming the fix."""
    if task not in project.tasks:
        return SpecError(f"unknown task {task!r}; known: {', '.join(sorted(project.tasks)) or '(none)'}; "
                         f"fix: add evals/{task}.yaml or correct the name")
    return RegistryError(f"{project.config.registry}: tasks.{task}: no entry; fix: run `tierwise recommend "
                         f"{task} --write` (or add the entry by hand)")


def _catalog_name(project: "Project", task: "Task", target: str) -> str:
    """The catalog entry a registry target stands for: the task's own candidate first (its
    variant is the one the evidence was earned with), else any catalog entry, else the target."""
    models = project.config.models
    for name in task.spec.candidates:
        if models[name].target == target:
            return name
    for name, entry in models.items():
        if entry.target == target:
            return name
    return target


def _with_adhoc(project: "Project", names: list[str], targets: list[str]):
    """The project's config plus an entry for each target the catalog does not name."""
    from ..models import entry_for_target

    adhoc = {}
    for name, target in zip(names, targets):
        if name not in project.config.models:
            adhoc[name] = entry_for_target(target)  # `<kind>:<ref>`, else a LiteLLM model string
    if not adhoc:
        return project.config
    return project.config.model_copy(update={"models": {**project.config.models, **adhoc}})


# Error types (LiteLLM's exception names, and ours) after which a model is rested: the provider
# is failing, not this one request (a bad request or a crashing rule is not cooled down).
COOLDOWN_ON = {
    "RateLimitError", "InternalServerError", "ServiceUnavailableError", "APIConnectionError", "Timeout",
    "TimeoutError", "BadGatewayError", "APIError", "AuthenticationError", "PermissionDeniedError",
    "MalformedResponse", "JSONDecodeError", "APIResponseValidationError",
}


class Cooldowns:
    """Per-model rest after a provider failure, shared by every thread and task of a client."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def fail(self, model: str, error_type: str | None) -> None:
        if self.seconds <= 0 or error_type not in COOLDOWN_ON:
            return
        with self._lock:
            self._until[model] = time.monotonic() + self.seconds

    def rests(self, hop: Hop) -> bool:
        """Whether this model is resting now."""
        with self._lock:
            return self._until.get(hop.name, 0.0) > time.monotonic()

    def usable(self, hops: list[Hop]) -> list[Hop]:
        """The hops not resting, in order; when all rest, the one whose rest ends first (a probe)."""
        now = time.monotonic()
        with self._lock:
            until = {h.name: self._until.get(h.name, 0.0) for h in hops}
        ready = [h for h in hops if until[h.name] <= now]
        return ready or [min(hops, key=lambda h: until[h.name])]

    def resting(self) -> dict[str, float]:
        """Models resting now, with the seconds left."""
        now = time.monotonic()
        with self._lock:
            return {m: round(t - now, 3) for m, t in self._until.items() if t > now}
