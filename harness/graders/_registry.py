"""The grader registry: named factories, option checking, and the one Grade record."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import GraderError
from ..fingerprint import GoldenCase as Case

_OUTPUT_SPEC = "output_spec"  # a factory parameter filled from the task, never by the user
_PROJECT_ROOT = "project_root"  # likewise: the project's folder, for options that name a file
_INJECTED = (_OUTPUT_SPEC, _PROJECT_ROOT)


@dataclass(frozen=True)
class Grade:
    """What every grader returns: a score in [0, 1], pass/fail, and a human reason.

    `applies` is False only for a grader with `expected_key:` on a case that gives no value
    under that key (a promptfoo test without that assertion): `combine` leaves it out.

    `detail` is what a grader that calls a model records beside the grade (a judge: its votes,
    their spread, its own tokens and dollars as `eval_cost`, `eval_prompt_tokens`,
    `eval_completion_tokens`, and `judge_error` when no verdict could be had). Stored with
    the grade; the recommender reads only score and passed.
    """

    score: float
    passed: bool
    reason: str = ""
    applies: bool = True
    detail: Mapping[str, Any] | None = field(default=None, compare=False)

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
_RECORDED_IF_SET: dict[str, frozenset[str]] = {}

# Options every grader takes, handled here rather than by its factory:
#   not: true          -> the grade is negated (pass <-> fail, score 1 or 0), its reason says so
#   expected_key: NAME -> the grader compares with case.expected[NAME] instead of case.expected;
#                         a case without that key is not graded by it (see Grade.applies)
NEGATE, EXPECTED_KEY = "not", "expected_key"
_COMMON = (NEGATE, EXPECTED_KEY)


def grader(name: str, *, aliases: Sequence[str] = (), recorded_if_set: Sequence[str] = ()
           ) -> Callable[[Factory], Factory]:
    """Register a grader factory under `name` (and any aliases).

    `recorded_if_set` names options that are stored with a grade only when given a value other
    than their default, so adding an option to a grader leaves the identity (and the registry
    evidence) of every grader that does not use it unchanged.
    """

    def register(factory: Factory) -> Factory:
        params = inspect.signature(factory).parameters
        for option in (*recorded_if_set, *_COMMON):
            if option in _COMMON and option in params:
                raise ValueError(f"grader {name!r}: option {option!r} is reserved for every grader")
            if option not in _COMMON and option not in params:
                raise ValueError(f"grader {name!r}: recorded_if_set names unknown option {option!r}")
        for each in (name, *aliases):
            if not isinstance(each, str) or not each:
                raise ValueError(f"grader names must be non-empty strings, got {each!r}")
            taken = _CANONICAL.get(each)
            if taken is not None and _FACTORIES[taken] is not factory:
                raise ValueError(f"grader {each!r} is already registered")
            _CANONICAL[each] = name
        _FACTORIES[name] = factory
        _RECORDED_IF_SET[name] = frozenset(recorded_if_set)
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
    # What else decides this grader's scores, for the grader hash (a judge's prompt version,
    # a rubric file's digest); see fingerprint.grader_hash.
    identity: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def calls_models(self) -> bool:
        """Whether grading calls a model (a judge): such graders grade through `agrade` in a run."""
        return hasattr(self.fn, "agrade")

    def grade(self, output: str, case: Case) -> Grade:
        """Grade one output; never raises (a crash is a 0 with the error as its reason)."""
        text = output if isinstance(output, str) else ("" if output is None else str(output))
        try:
            result = self.fn(text, case)
            if not isinstance(result, Grade):
                raise TypeError(f"returned {type(result).__name__}, not a Grade")
            return result
        except Exception as exc:  # noqa: BLE001 - one bad output must not stop a run
            return _error_grade(exc)

    async def agrade(self, output: str, case: Case, ctx: Any) -> Grade:
        """Grade one output inside a run; a judge grader calls its judge through `ctx` (the
        runner's judging context). Never raises: a judge that gives no verdict is a recorded
        judge error, a failed grade, never a pass."""
        agrade = getattr(self.fn, "agrade", None)
        if agrade is None:
            return self.grade(output, case)
        text = output if isinstance(output, str) else ("" if output is None else str(output))
        try:
            result = await agrade(text, case, ctx)
            if not isinstance(result, Grade):
                raise TypeError(f"returned {type(result).__name__}, not a Grade")
            return result
        except Exception as exc:  # noqa: BLE001 - one bad verdict must not stop a run
            return _error_grade(exc)


def _error_grade(exc: Exception) -> Grade:
    """A failed grade for a grader that raised; a judge error keeps what the judge cost."""
    detail = getattr(exc, "detail", None)
    if detail is not None:
        return Grade(0.0, False, f"judge error: {exc}", detail={**detail, "judge_error": str(exc)})
    message = str(exc) or type(exc).__name__
    if len(message) > 200:
        message = message[:199] + "…"
    return Grade(0.0, False, f"grader error: {type(exc).__name__}: {message}")


def build_grader(config: dict[str, Any], where: str, output_spec: dict[str, Any] | None = None,
                 project_root: Path | None = None) -> GraderInstance:
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
    negate = options.pop(NEGATE, False)
    if not isinstance(negate, bool):
        raise GraderError(f"{where}.not: must be true or false, got {negate!r}")
    expected_key = options.pop(EXPECTED_KEY, None)
    if expected_key is not None and (not isinstance(expected_key, str) or not expected_key):
        raise GraderError(f"{where}.expected_key: must be a non-empty string (a key of each case's "
                          f"expected mapping), got {expected_key!r}")
    factory = _FACTORIES[name]
    params = _option_params(factory)
    _check_names(options, params, name, where)

    kwargs = dict(options)
    wanted = inspect.signature(factory).parameters
    if _OUTPUT_SPEC in wanted:
        kwargs[_OUTPUT_SPEC] = output_spec
    if _PROJECT_ROOT in wanted:
        kwargs[_PROJECT_ROOT] = project_root
    try:
        fn = factory(**kwargs)
    except BadOption as exc:
        raise GraderError(f"{where}.{exc.option}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise GraderError(f"{where}: grader {name!r}: {exc}") from None
    if not callable(fn):
        raise TypeError(f"grader factory {name!r} returned {type(fn).__name__}, not a callable")
    quiet = _RECORDED_IF_SET.get(name, frozenset())
    resolved = {k: p.default for k, p in params.items()
                if p.default is not inspect.Parameter.empty and k not in quiet}
    resolved.update({k: v for k, v in options.items() if k not in quiet or v != params[k].default})
    identity = dict(getattr(fn, "identity", None) or {})
    if expected_key is not None:
        fn = _keyed(fn, expected_key)
        resolved[EXPECTED_KEY] = expected_key
    if negate:
        fn = _negated(fn)
        resolved[NEGATE] = True
    return GraderInstance(name, _jsonable(resolved), weight, fn, identity)


def _keyed(fn: GradeFn, key: str) -> GradeFn:
    """Grade against case.expected[key]; a case without that key is not graded by this grader."""

    def narrowed(case: Case) -> Case | Grade:
        expected = case.expected
        if expected is None or (isinstance(expected, dict) and key not in expected):
            return Grade(1.0, True, f"not applicable: case has no expected {key!r}", applies=False)
        if not isinstance(expected, dict):
            raise ValueError(f"case {case.id!r}: expected_key {key!r} needs expected to be a mapping, "
                             f"got {type(expected).__name__}")
        return replace(case, expected=expected[key])

    def grade(output: str, case: Case) -> Grade:
        inner = narrowed(case)
        return inner if isinstance(inner, Grade) else fn(output, inner)

    inner_async = getattr(fn, "agrade", None)
    if inner_async is not None:
        async def agrade(output: str, case: Case, ctx: Any) -> Grade:
            inner = narrowed(case)
            return inner if isinstance(inner, Grade) else await inner_async(output, inner, ctx)

        grade.agrade = agrade  # type: ignore[attr-defined]
    return grade


def _negated(fn: GradeFn) -> GradeFn:
    """`not: true`: pass when the grader fails. Pass/fail only (score 1 or 0), as promptfoo's not-
    assertions; a grader error stays an error (score 0), never a pass (a judge error raises
    through here, so it is never negated either)."""

    def flip(inner: Grade) -> Grade:
        if not inner.applies:
            return inner
        passed = not inner.passed
        return Grade(float(passed), passed, f"negated (not: true): {inner.reason}", detail=inner.detail)

    def grade(output: str, case: Case) -> Grade:
        return flip(fn(output, case))

    inner_async = getattr(fn, "agrade", None)
    if inner_async is not None:
        async def agrade(output: str, case: Case, ctx: Any) -> Grade:
            return flip(await inner_async(output, case, ctx))

        grade.agrade = agrade  # type: ignore[attr-defined]
    return grade


def build_graders(
    configs: list[dict[str, Any]], where_prefix: str, output_spec: dict[str, Any] | None = None,
    project_root: Path | None = None,
) -> list[GraderInstance]:
    """Build every grader of a task; entries are located as `where_prefix[i]`."""
    if not isinstance(configs, list):
        raise GraderError(f"{where_prefix}: must be a list of graders like - {{type: exact}}")
    if not configs:
        raise GraderError(f"{where_prefix}: a task needs at least one grader; fix: add e.g. - {{type: exact}}")
    return [build_grader(c, f"{where_prefix}[{i}]", output_spec, project_root) for i, c in enumerate(configs)]


def combine(instances: Sequence[GraderInstance], grades: Sequence[Grade]) -> Grade:
    """Weighted mean score over the graders that apply to the case; passed only when every one
    of them passed. A case no grader applies to passes with score 1 (as a promptfoo test
    without assertions does), and its reason says so."""
    if len(instances) != len(grades) or not grades:
        raise ValueError(f"need one grade per grader, got {len(grades)} grades for {len(instances)} graders")
    pairs = [(i, g) for i, g in zip(instances, grades) if g.applies]
    if not pairs:
        return Grade(1.0, True, "no grader applies to this case")
    total = sum(i.weight for i, _ in pairs)
    score = sum(i.weight * g.score for i, g in pairs) / total
    if len(pairs) == 1:
        reason = pairs[0][1].reason
    else:
        reason = "; ".join(f"{i.name}: {g.reason}" for i, g in pairs)
    # Float rounding can leave a mean of ones at 1.0000000000000002.
    return Grade(min(1.0, max(0.0, score)), all(g.passed for _, g in pairs), reason)


def _weight(value: Any, where: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise GraderError(f"{where}.weight: must be a number > 0, got {value!r}; fix: e.g. weight: 2")
    return float(value)


def _option_params(factory: Factory) -> dict[str, inspect.Parameter]:
    return {
        n: p
        for n, p in inspect.signature(factory).parameters.items()
        if n not in _INJECTED and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def _check_names(options: dict[str, Any], params: dict[str, inspect.Parameter], name: str, where: str) -> None:
    unknown = sorted(set(options) - set(params), key=str)
    if unknown:
        known = ", ".join(sorted(params)) or "(none)"
        raise GraderError(f"{where}: unknown option {unknown[0]!r} for grader {name!r}; known: {known} "
                          f"(and for every grader: weight, not, expected_key)")
    for option, p in params.items():
        if p.default is inspect.Parameter.empty and option not in options:
            raise GraderError(f"{where}: grader {name!r} needs option {option!r}; fix: add {option}: <value>")


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    # Round-trip so tuples become lists and odd YAML values (dates) become strings, as stored.
    return json.loads(json.dumps(options, default=str))
