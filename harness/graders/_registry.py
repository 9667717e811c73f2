"""The grader registry: named factories, option checking, and the one Grade record."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import GraderError
from ..project import Case

_OUTPUT_SPEC = "output_spec"  # a factory parameter filled from the task, never by the user


@dataclass(frozen=True)
class Grade:
    """What every grader returns: a score in [0, 1], pass/fail, and a human reason."""

    score: float
    passed: bool
    reason: str = ""

    def __post_init__(self) -> None:
        score = self.score
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be a number in [0, 1], got {score!r}")
        object.__setattr__(self, "score", float(score))
        object.__setattr__(self, "passed", bool(self.passed))


GradeFn = Callable[[str, Case], Grade]
Factory = Callable[..., GradeFn]


class BadOption(ValueError):
    """Raised by a factory for one bad option; build_grader prefixes `where.option:`."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


_FACTORIES: dict[str, Factory] = {}
_CANONICAL: dict[str, str] = {}  # every accepted name (aliases too) -> canonical name


def grader(name: str, *, aliases: Sequence[str] = ()) -> Callable[[Factory], Factory]:
    """Register a grader factory under `name` (and any aliases)."""

    def register(factory: Factory) -> Factory:
        for each in (name, *aliases):
            if not isinstance(each, str) or not each:
                raise ValueError(f"grader names must be non-empty strings, got {each!r}")
            taken = _CANONICAL.get(each)
            if taken is not None and _FACTORIES[taken] is not factory:
                raise ValueError(f"grader {each!r} is already registered")
            _CANONICAL[each] = name
        _FACTORIES[name] = factory
        return factory

    return register


def known_graders() -> list[str]:
    """Every registered grader name, aliases included, sorted."""
    return sorted(_CANONICAL)


@dataclass(frozen=True)
class GraderInstance:
    """A configured grader: its name and resolved options (as stored with a run) and weight."""

    name: str
    options: dict[str, Any]
    weight: float
    fn: GradeFn = field(repr=False, compare=False)

    def grade(self, output: str, case: Case) -> Grade:
        """Grade one output; never raises (a crash is a 0 with the error as its reason)."""
        text = output if isinstance(output, str) else ("" if output is None else str(output))
        try:
            result = self.fn(text, case)
            if not isinstance(result, Grade):
                raise TypeError(f"returned {type(result).__name__}, not a Grade")
            return result
        except Exception as exc:  # noqa: BLE001 - one bad output must not stop a run
            message = str(exc) or type(exc).__name__
            if len(message) > 200:
                message = message[:199] + "…"
            return Grade(0.0, False, f"grader error: {type(exc).__name__}: {message}")


def build_grader(config: dict[str, Any], where: str, output_spec: dict[str, Any] | None = None) -> GraderInstance:
    """Build one grader from its YAML entry, e.g. `{type: exact, normalize: [lower], weight: 2}`."""
    if not isinstance(config, dict):
        raise GraderError(f"{where}: a grader must be a mapping like {{type: exact}}, got {type(config).__name__}")
    options = dict(config)
    known = ", ".join(known_graders())
    if "type" not in options:
        raise GraderError(f"{where}: missing 'type'; fix: add e.g. type: exact (known: {known})")
    given = options.pop("type")
    if not isinstance(given, str) or given not in _CANONICAL:
        raise GraderError(f"{where}.type: unknown grader {given!r}; known: {known}")
    name = _CANONICAL[given]
    weight = _weight(options.pop("weight", 1.0), where)
    factory = _FACTORIES[name]
    params = _option_params(factory)
    _check_names(options, params, name, where)

    kwargs = dict(options)
    if _OUTPUT_SPEC in inspect.signature(factory).parameters:
        kwargs[_OUTPUT_SPEC] = output_spec
    try:
        fn = factory(**kwargs)
    except BadOption as exc:
        raise GraderError(f"{where}.{exc.option}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise GraderError(f"{where}: grader {name!r}: {exc}") from None
    if not callable(fn):
        raise TypeError(f"grader factory {name!r} returned {type(fn).__name__}, not a callable")
    resolved = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    resolved.update(options)
    return GraderInstance(name, _jsonable(resolved), weight, fn)


def build_graders(
    configs: list[dict[str, Any]], where_prefix: str, output_spec: dict[str, Any] | None = None
) -> list[GraderInstance]:
    """Build every grader of a task; entries are located as `where_prefix[i]`."""
    if not isinstance(configs, list):
        raise GraderError(f"{where_prefix}: must be a list of graders like - {{type: exact}}")
    if not configs:
        raise GraderError(f"{where_prefix}: a task needs at least one grader; fix: add e.g. - {{type: exact}}")
    return [build_grader(c, f"{where_prefix}[{i}]", output_spec) for i, c in enumerate(configs)]


def combine(instances: Sequence[GraderInstance], grades: Sequence[Grade]) -> Grade:
    """Weighted mean score; passed only when every grader passed."""
    if len(instances) != len(grades) or not grades:
        raise ValueError(f"need one grade per grader, got {len(grades)} grades for {len(instances)} graders")
    total = sum(i.weight for i in instances)
    score = sum(i.weight * g.score for i, g in zip(instances, grades)) / total
    if len(grades) == 1:
        reason = grades[0].reason
    else:
        reason = "; ".join(f"{i.name}: {g.reason}" for i, g in zip(instances, grades))
    # Float rounding can leave a mean of ones at 1.0000000000000002.
    return Grade(min(1.0, max(0.0, score)), all(g.passed for g in grades), reason)


def _weight(value: Any, where: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise GraderError(f"{where}.weight: must be a number > 0, got {value!r}; fix: e.g. weight: 2")
    return float(value)


def _option_params(factory: Factory) -> dict[str, inspect.Parameter]:
    return {
        n: p
        for n, p in inspect.signature(factory).parameters.items()
        if n != _OUTPUT_SPEC and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def _check_names(options: dict[str, Any], params: dict[str, inspect.Parameter], name: str, where: str) -> None:
    unknown = sorted(set(options) - set(params), key=str)
    if unknown:
        known = ", ".join(sorted(params)) or "(none)"
        raise GraderError(f"{where}: unknown option {unknown[0]!r} for grader {name!r}; known: {known}")
    for option, p in params.items():
        if p.default is inspect.Parameter.empty and option not in options:
            raise GraderError(f"{where}: grader {name!r} needs option {option!r}; fix: add {option}: <value>")


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    # Round-trip so tuples become lists and odd YAML values (dates) become strings, as stored.
    return json.loads(json.dumps(options, default=str))
