"""Cascade candidates in an eval spec: `{cascade: [cheap, …, dear], defer: [...]}`.

A cascade is a policy made of catalog models: the first stage answers unless one of its
deferral signals fires, then the next, and the last always answers. The spelling:

    candidates:
      - date-rule
      - {cascade: [date-rule, qwen-1.5b], defer: [abstain]}
      - {cascade: [qwen-0.5b, qwen-1.5b], defer: [contract, confidence], name: qwen-ladder}
      - cascade:
          - {model: date-rule, defer: [abstain]}
          - {model: qwen-0.5b, defer: [confidence, {check: "python:checks:plausible_date"}]}
          - qwen-1.5b

`defer:` beside `cascade:` applies to every stage but the last; a stage written as
`{model:, defer:}` has its own signals instead. The signals, and which stages can give them:

- `abstain`: a `python:` rule returned None (recorded as an abstention, not an error);
- `contract`: the output breaks the task's `output:` (not a choice, not valid against the
  schema); needs `output:` in the spec;
- `confidence`: the probability the model gives its answer is below a threshold the evaluation
  chooses from `grid:` (fixed in the spec, before any score is seen; decide/_cascade.py); not a
  `python:` rule, which has no probabilities;
- `{agreement: m}`: fewer than m of the task's `repeats` samples agree; needs `repeats >= m`;
- `{check: "python:module:fn"}`: a verifier `fn(vars, output) -> bool` returned False.

Pure validation: the structure here (pydantic, extra="forbid"), the cross-checks against the
catalog and the task in `check_cascades`, each error naming the file, the place and the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Callable, Literal, Union

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from ..errors import SpecError
from ..models import provider_for
from ..util import Strict as _Strict

if TYPE_CHECKING:
    from ._specs import TaskSpec

# The grid of confidence thresholds when a spec gives none, most deferring first. Fixed here,
# before any score is seen, as Learn-then-Test requires; dense near 1 because small models give
# their greedy answer a probability above 0.9 on most inputs.
DEFAULT_GRID = (0.999, 0.995, 0.99, 0.98, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.0)
MAX_GRID = 100  # the fixed-sequence test costs nothing per point, but a report draws each
MAX_STAGES = 8
# At most this many cascades `cascades: suggest` may add to a task's family: each is one more chain
# in Holm's step-down, so each makes every policy's test stricter. 20 is the most cascades per task
# the promise was checked for by simulation (benchmarks/cascades.py, docs/decisions.md).
MAX_SUGGESTED = 20
# The signals a suggested cascade's first stage defers on, when it can give them: those its stored
# results already carry, so suggesting cascades changes no call (docs/formats.md, "cascades: suggest").
SUGGESTED_SIGNALS = ("abstain", "contract")
_IMPORT_PATH = r"^python:[A-Za-z_][\w.]*:[A-Za-z_]\w*$"

# Which signals a catalog entry can give, and why not, is its provider's to say (Provider.signals,
# Provider.no_signal): a python: rule has no probabilities and is deterministic (its samples
# always agree); a model cannot return None.


class Agreement(_Strict):
    agreement: int = Field(ge=2, le=100)  # defer unless this many of the task's repeats agree


class Check(_Strict):
    check: str = Field(pattern=_IMPORT_PATH)  # python:module:fn(vars, output) -> bool


def _by_shape(plain: str, mapping: str, key: str | None = None):
    """A discriminator that picks a union's member by the value's shape, so an error is reported
    against the member the user meant (pydantic would otherwise report the first member's error:
    "input should be a valid string" for a mistyped mapping). Tags are written <…> so that
    pydantic_error leaves them out of the place it shows."""
    def pick(value: Any) -> str:
        if isinstance(value, dict) and key is not None:
            return "<check>" if "check" in value else "<agreement>"
        return mapping if isinstance(value, (dict, BaseModel)) else plain
    return Discriminator(pick)


Signal = Annotated[Union[Annotated[Literal["abstain", "contract", "confidence"], Tag("<name>")],
                         Annotated[Agreement, Tag("<agreement>")], Annotated[Check, Tag("<check>")]],
                   _by_shape("<name>", "<agreement>", key="check")]


def import_check(path: str) -> Callable[[dict[str, Any], str], Any]:
    """The verifier a `{check: "python:module:fn"}` signal names, imported from the project root
    (load_project puts it on sys.path). ValueError says what is wrong and the fix; the caller
    puts where in front (the client names the registry entry, the evaluation the spec)."""
    import importlib

    module_name, _, attr = path.removeprefix("python:").partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # noqa: BLE001 - whatever importing user code raises is bad configuration
        raise ValueError(f"cannot import {path} ({type(exc).__name__}: {exc}); fix: check the module path "
                         f"(relative to the project root) and the function's name") from None
    if not callable(fn):
        raise ValueError(f"{path} is not a function; fix: name a function fn(vars, output)")
    return fn


def signal_name(signal: Any) -> str:
    """abstain | contract | confidence | agreement | check."""
    if isinstance(signal, Agreement):
        return "agreement"
    if isinstance(signal, Check):
        return "check"
    return str(signal)


def signal_record(signal: Any) -> Any:
    """The signal as plain data (for identities and evidence): a name, or {agreement: m} / {check: path}."""
    return signal.model_dump() if isinstance(signal, (Agreement, Check)) else str(signal)


class Stage(_Strict):
    model: str
    defer: list[Signal] | None = None


class CascadeSpec(_Strict):
    cascade: list[Annotated[Union[Annotated[str, Tag("<model>")], Annotated[Stage, Tag("<stage>")]],
                            _by_shape("<model>", "<stage>")]] = Field(min_length=1, max_length=MAX_STAGES)
    defer: list[Signal] = Field(default_factory=list)
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.>+-]+$", max_length=200)
    grid: list[float] | None = Field(None, min_length=1, max_length=MAX_GRID)

    @field_validator("cascade")
    @classmethod
    def _two_stages(cls, stages: list[Any]) -> list[Any]:
        if len(stages) < 2:
            raise ValueError("a cascade needs at least two stages; fix: list a single model as a plain candidate")
        return stages

    @field_validator("grid")
    @classmethod
    def _grid_order(cls, grid: list[float] | None) -> list[float] | None:
        if grid is None:
            return grid
        if any(not 0.0 <= g <= 1.0 for g in grid):
            raise ValueError("grid thresholds are probabilities in [0, 1]")
        if any(a <= b for a, b in zip(grid, grid[1:])):
            raise ValueError("grid must be strictly decreasing (most deferring first), e.g. [0.99, 0.95, 0.9, 0.0]")
        return grid

    @model_validator(mode="after")
    def _signals(self) -> "CascadeSpec":
        last = self.cascade[-1]
        if isinstance(last, Stage) and last.defer:
            raise ValueError("the last stage always answers: remove its defer:")
        for i, stage in enumerate(self.cascade[:-1]):
            signals = stage.defer if isinstance(stage, Stage) and stage.defer is not None else self.defer
            if not signals:
                raise ValueError(f"stage {i} ({self.stage_model(i)}) has no deferral signal, so the stages after it "
                                 f"never answer; fix: give defer: [abstain | contract | confidence | "
                                 f"{{agreement: m}} | {{check: python:module:fn}}]")
            names = [signal_name(s) for s in signals]
            if len(set(names)) != len(names):
                raise ValueError(f"stage {i} ({self.stage_model(i)}) lists a signal twice")
        return self

    def stage_model(self, i: int) -> str:
        stage = self.cascade[i]
        return stage.model if isinstance(stage, Stage) else stage

    @property
    def models(self) -> list[str]:
        """The stages' catalog names, cheapest (first asked) first."""
        return [self.stage_model(i) for i in range(len(self.cascade))]

    def signals(self, i: int) -> list[Any]:
        """The deferral signals of stage i (none for the last, which always answers)."""
        if i == len(self.cascade) - 1:
            return []
        stage = self.cascade[i]
        return list(stage.defer) if isinstance(stage, Stage) and stage.defer is not None else list(self.defer)

    @property
    def uses_confidence(self) -> bool:
        return any(signal_name(s) == "confidence" for i in range(len(self.cascade)) for s in self.signals(i))

    @property
    def confidence_models(self) -> set[str]:
        """The stages' models whose answers this cascade reads a probability of (their calls ask
        for token log-probabilities; models/_contract.py)."""
        return {self.stage_model(i) for i in range(len(self.cascade))
                if any(signal_name(s) == "confidence" for s in self.signals(i))}

    @property
    def thresholds(self) -> tuple[float, ...]:
        """The confidence grid, most deferring first; () when no stage defers on confidence."""
        if not self.uses_confidence:
            return ()
        return tuple(self.grid) if self.grid is not None else DEFAULT_GRID

    @property
    def label(self) -> str:
        """The cascade's name: its `name:`, else its stages joined by '>' (qwen-0.5b>qwen-1.5b)."""
        return self.name or ">".join(self.models)


def check_cascades(spec: "TaskSpec", shown: str, models: dict[str, Any]) -> None:
    """Cross-checks a cascade needs beyond its own structure: catalog names, which stage can give
    which signal, what the task provides (an output contract, repeats), and unique names."""
    known = ", ".join(sorted(models)) or "(none: add models to tierwise.yaml)"
    singles = set(spec.single_candidates)
    labels: dict[str, int] = {}
    for i, entry in spec.cascade_entries():
        place = f"{shown}: candidates[{i}]"
        if entry.grid is not None and not entry.uses_confidence:
            raise SpecError(f"{place}.grid: no stage defers on confidence, so there is no threshold to choose; "
                            f"fix: remove grid: or add confidence to a stage's defer:")
        for j, name in enumerate(entry.models):
            where = f"{place}.cascade[{j}]" + (".model" if isinstance(entry.cascade[j], Stage) else "")
            if name not in models:
                raise SpecError(f"{where}: unknown model {name!r}; known: {known}; "
                                f"fix: add it to tierwise.yaml models: or correct the name")
            if entry.models.index(name) != j:
                raise SpecError(f"{where}: {name!r} is already stage {entry.models.index(name)} of this cascade; "
                                f"fix: list each model once")
            kind = models[name].kind
            for signal in entry.signals(j):
                _check_signal(spec, f"{where.removesuffix('.model')}: defer {signal_name(signal)!r}",
                              signal, kind)
        label = entry.label
        if label in singles or label in models:
            raise SpecError(f"{place}: the cascade's name {label!r} is a model's name; fix: give it a name: of its own")
        if label in labels:
            raise SpecError(f"{place}: a cascade named {label!r} is already candidates[{labels[label]}]; "
                            f"fix: give one of them a name:")
        labels[label] = i


def _check_signal(spec: "TaskSpec", where: str, signal: Any, kind: str) -> None:
    name = signal_name(signal)
    given = provider_for(kind)
    if name not in given.signals:
        raise SpecError(f"{where}: a {kind} model cannot give this signal ({given.no_signal.get(name, 'not supported')}); "
                        f"fix: remove it from this stage's defer:")
    if name == "contract" and spec.output is None:
        raise SpecError(f"{where}: the task has no output: contract to break; "
                        f"fix: add output: {{choices: [...]}} or {{json_schema: ...}}, or remove the signal")
    if name == "agreement" and spec.repeats < signal.agreement:
        raise SpecError(f"{where}: needs {signal.agreement} samples per case but the task has repeats: {spec.repeats}; "
                        f"fix: set repeats: {signal.agreement} or more")


def suggest_cascades(spec: "TaskSpec", shown: str, models: dict[str, Any]) -> list[CascadeSpec]:
    """The cascades the ladder suggests (`cascades: suggest`): [C, D] for each single candidate D
    and each candidate C listed before it (the ladder: `candidates:` as written, cheapest first)
    that can defer by a signal its stored results carry (abstain for a python: rule, contract for
    a task with output:). Every pair is in the family, fixed here from the spec and the catalog
    before any score is seen; the decision tries those whose D qualifies, or whose D is the dearest
    when none does (decide/_cascade_data.py). A pair already listed (same name) is not suggested
    again. More than MAX_SUGGESTED is an error naming the fix."""
    if spec.cascade_mode != "suggest":
        return []
    listed = {c.label for c in spec.listed_cascades}
    ladder = spec.single_candidates
    out: list[CascadeSpec] = []
    for j, dear in enumerate(ladder):
        for cheap in ladder[:j]:
            given = provider_for(models[cheap].kind).signals
            signals = [s for s in SUGGESTED_SIGNALS if s in given and (s != "contract" or spec.output is not None)]
            if not signals or f"{cheap}>{dear}" in listed:
                continue
            out.append(CascadeSpec(cascade=[cheap, dear], defer=signals))
    if len(out) > MAX_SUGGESTED:
        raise SpecError(f"{shown}: cascades: suggest: the ladder of {len(ladder)} candidates suggests {len(out)} "
                        f"cascades, more than {MAX_SUGGESTED} (each one makes every policy's test stricter); "
                        f"fix: list fewer candidates, or list the cascades you want under candidates: and "
                        f"remove cascades: suggest")
    return out
