"""Eval specs (evals/<task>.yaml): strict models, prompt templates, and cross-file checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Discriminator, Field, PrivateAttr, Tag, ValidationError, model_validator

from ..errors import SpecError
from ..fingerprint import cascade_hash, case_hash, grader_hash, spec_hash
from ..graders import build_graders, expected_problem
from ..models import candidate_identity, provider_for
from ..util import Strict as _Strict
from ..util import shown_path
from ._cascade_spec import CascadeSpec, check_cascades, signal_record, suggest_cascades
from ._yaml import pydantic_error, read_yaml
from ._sandbox import prompt_env


class PromptVariant(_Strict):
    system: str | None = None
    user: str | None = None


class Prompt(_Strict):
    system: str | None = None
    user: str
    variants: dict[str, PromptVariant] = Field(default_factory=dict)


class Output(_Strict):
    choices: list[str] | None = Field(None, min_length=1)
    json_schema: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Output":
        if (self.choices is None) == (self.json_schema is None):
            raise ValueError("give exactly one of choices: or json_schema:, or omit output: for free text")
        if self.choices is not None and len(set(self.choices)) != len(self.choices):
            raise ValueError("choices must be distinct")
        return self


class Params(_Strict):
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: list[str] | str | None = None
    seed: int | None = None


class JudgePolicy(_Strict):
    """How far judge evidence is trusted: human verdicts to measure the judge against, and the
    agreement a judge must reach before its grades may qualify a model."""

    labels: str | None = None
    min_agreement: float | None = Field(None, ge=0, le=1)
    agreement: Literal["accuracy", "kappa"] = "accuracy"
    # the corrected bound: exact (finite-sample, decide/_judged.corrected_lower_bound) or ppi
    # (the CLT estimator of the PPI papers; needs many labels to keep its promise)
    bound: Literal["exact", "ppi"] = "exact"


class TaskSpec(_Strict):
    task: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=200)  # MAX_KEY_CHARS
    description: str = ""
    golden_set: str
    prompt: Prompt
    output: Output | None = None
    params: Params = Field(default_factory=Params)
    graders: list[dict[str, Any]]
    threshold: float = Field(ge=0, le=1)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    max_p95_latency_ms: float | None = Field(None, gt=0)
    max_error_rate: float | None = Field(None, ge=0, le=1)
    # A change against the current registry model must be shown non-inferior by this margin.
    max_regression: float | None = Field(None, ge=0, lt=1)
    adaptive: bool = False        # run in rounds and stop candidates once settled (docs/decisions.md)
    repeats: int = Field(1, ge=1, le=100)  # run each case this many times; the case is the unit
    # Plain model names and cascades ({cascade: [...], defer: [...]}, _cascade_spec.py), as written.
    policies: list[Annotated[Union[Annotated[str, Tag("<model>")], Annotated[CascadeSpec, Tag("<cascade>")]],
                             Discriminator(lambda v: "<cascade>" if isinstance(v, (dict, BaseModel)) else "<model>")]] \
        = Field(alias="candidates")  # at least one: checked at load with the fix (an import may leave it empty)
    judge: JudgePolicy | None = None
    # `cascades: suggest`: also try the cascades the ladder suggests (_cascade_spec.suggest_cascades);
    # `listed` (the default): only those under candidates:.
    cascade_mode: Literal["listed", "suggest"] = Field("listed", alias="cascades")
    _suggested: list[CascadeSpec] = PrivateAttr(default_factory=list)  # set by load_task from the catalog

    @property
    def single_candidates(self) -> list[str]:
        """The models listed on their own."""
        return [p for p in self.policies if isinstance(p, str)]

    @property
    def candidates(self) -> list[str]:
        """Every model the task evaluates: those listed on their own, then each cascade stage not
        listed (a cascade is decided from its stages' results on the same cases, so every stage
        is run, and each is a policy of its own in the decision's family)."""
        names = self.single_candidates
        for cascade in self.cascades:
            names += [m for m in cascade.models if m not in names]
        return names

    @property
    def cascades(self) -> list[CascadeSpec]:
        """Every cascade the task decides: those listed under candidates:, then those the ladder
        suggests (`cascades: suggest`); both go through the same decision, evidence and gate."""
        return self.listed_cascades + self._suggested

    @property
    def listed_cascades(self) -> list[CascadeSpec]:
        return [p for p in self.policies if isinstance(p, CascadeSpec)]

    @property
    def suggested_cascades(self) -> list[CascadeSpec]:
        return list(self._suggested)

    @property
    def family_size(self) -> int:
        """The policies the decision's family counts: every model and every cascade, listed or
        suggested, fixed by the spec before any score is seen (decide/_cascade.py)."""
        return len(self.candidates) + len(self.cascades)

    def cascade_entries(self) -> list[tuple[int, CascadeSpec]]:
        """(place in candidates:, cascade) for error messages."""
        return [(i, p) for i, p in enumerate(self.policies) if isinstance(p, CascadeSpec)]


@dataclass
class Task:
    """A loaded, validated task: spec, golden set, graders, and where they came from."""

    spec: TaskSpec
    path: str
    golden: Any  # GoldenSet
    graders: list[Any]  # list[GraderInstance]
    # the catalog entries of its candidates (name -> ModelEntry)
    models: dict[str, Any] = field(default_factory=dict)
    # the catalog entries its graders call or compare with: judges, pairwise `against:` models
    judges: dict[str, Any] = field(default_factory=dict)
    labels: Any = None  # Labels: human verdicts on outputs (judge.labels), or None

    @property
    def name(self) -> str:
        return self.spec.task

    @property
    def uses_judge(self) -> bool:
        """Whether grading calls a model (an llm_judge, a pairwise comparison): its scores are a judge's."""
        return any(g.calls_models for g in self.graders)

    @cached_property
    def _templates(self) -> dict[tuple[str, str], Any]:
        return {}

    @cached_property
    def case_hashes(self) -> dict[str, str]:
        """Each case's hash by id, computed once."""
        return {c.id: case_hash(c) for c in self.golden.cases}

    def prompt_for(self, model: str) -> dict[str, str | None]:
        """The system and user templates this model gets (its variant, else the default)."""
        p = self.spec.prompt
        variant = p.variants.get(model)
        system = variant.system if variant and variant.system is not None else p.system
        user = variant.user if variant and variant.user is not None else p.user
        return {"system": system, "user": user}

    def render(self, model: str, variables: dict[str, Any]) -> list[dict[str, str]]:
        """Render the chat messages for one case and model (undefined variables are errors)."""
        from jinja2.exceptions import SecurityError

        messages = []
        for role, source in self.prompt_for(model).items():
            if source is None:
                continue
            key = (model, role)
            template = self._templates.get(key)
            if template is None:
                template = self._templates[key] = source if _literal(source) else prompt_env().from_string(source)
            if isinstance(template, str):  # no Jinja syntax: it renders as itself
                messages.append({"role": role, "content": template})
                continue
            try:
                content = template.render(**variables)
            except SecurityError as exc:
                place = f"prompt.variants.{model}.{role}" if _from_variant(self.spec.prompt, model, role) else f"prompt.{role}"
                raise SpecError(f"{self.path}: {place}: {exc} Prompts render in a sandbox (docs/security.md); "
                                f"fix: use only the case's variables, filters and tests") from None
            messages.append({"role": role, "content": content})
        return messages

    def params(self) -> dict[str, Any]:
        return self.spec.params.model_dump(exclude_none=True)

    def identity(self, model: str) -> dict[str, Any]:
        """What decides the answers of a catalog model this task names (a candidate, a judge or a
        pairwise `against:` model): its provider's identity of the entry, never secrets."""
        return candidate_identity(self._entry(model))

    def takes_vars(self, model: str) -> bool:
        """Whether that model is sent the case's variables, not the rendered prompt (its provider's
        to say: a python: rule is)."""
        return provider_for(self._entry(model).kind).takes_vars

    def _entry(self, model: str) -> Any:
        return self.models[model] if model in self.models else self.judges[model]

    def spec_hash(self, model: str) -> str:
        """Everything in the spec and the catalog that decides this model's outputs and scores."""
        return spec_hash(self, model, self.identity(model))

    def cascade_hash(self, cascade: CascadeSpec) -> str:
        """A cascade's identity: its stages' spec hashes, signals and grid (fingerprint.py)."""
        stages = [(self.spec_hash(model), [signal_record(s) for s in cascade.signals(i)])
                  for i, model in enumerate(cascade.models)]
        return cascade_hash(stages, list(cascade.thresholds))

    def grader_hash(self) -> str:
        """Hash of the graders and the output contract (cached: it is asked for every result)."""
        cached = self.__dict__.get("_grader_hash")
        if cached is None:
            cached = self.__dict__["_grader_hash"] = grader_hash(self)
        return cached


def _literal(source: str) -> bool:
    """Whether a template is plain text that Jinja renders unchanged: no tag, no comment, no
    expression, and no carriage return (Jinja turns line endings into newlines)."""
    return not any(mark in source for mark in ("{{", "{%", "{#", "\r"))


def _from_variant(prompt: Prompt, model: str, role: str) -> bool:
    variant = prompt.variants.get(model)
    return variant is not None and getattr(variant, role) is not None


def load_task(path: Path, root: Path, models: dict[str, Any]) -> Task:
    """Load and fully validate one eval spec against the catalog and its golden set."""
    from ._golden import load_golden_set

    shown = shown_path(path, root)
    data = read_yaml(path, shown, SpecError)
    if not isinstance(data, dict):
        raise SpecError(f"{shown}: must be a mapping (task, golden_set, prompt, graders, ...)")
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, shown, TaskSpec, SpecError) from None

    _check_models(spec, shown, models)
    _check_schema(spec, shown)
    golden_path = (root / spec.golden_set) if not Path(spec.golden_set).is_absolute() else Path(spec.golden_set)
    if not golden_path.is_file():
        raise SpecError(f"{shown}: golden_set: {spec.golden_set} does not exist; fix: create it or correct the path")
    golden = load_golden_set(golden_path, shown_as=spec.golden_set)
    output_spec = spec.output.model_dump(exclude_none=True) if spec.output else None
    graders = build_graders(spec.graders, f"{shown}: graders", output_spec, root)
    judges = _judge_models(graders, shown, models)
    task = Task(spec, shown, golden, graders, {n: models[n] for n in spec.candidates}, judges)
    _check_templates(task, shown)
    _check_expected(task, shown, output_spec)
    if spec.judge is not None and spec.judge.labels is not None:
        from ._labels import load_labels

        labels_path = root / spec.judge.labels if not Path(spec.judge.labels).is_absolute() else Path(spec.judge.labels)
        task.labels = load_labels(labels_path, spec.judge.labels, {c.id for c in golden.cases}, set(spec.candidates))
    return task


def _check_schema(spec: TaskSpec, shown: str) -> None:
    """An output.json_schema must itself be a valid JSON Schema, whoever reads it."""
    if spec.output is None or spec.output.json_schema is None:
        return
    import jsonschema

    try:
        jsonschema.validators.validator_for(spec.output.json_schema).check_schema(spec.output.json_schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise SpecError(f"{shown}: output.json_schema{'.' + where if where else ''}: not a valid JSON Schema "
                        f"({exc.message}); fix the schema") from None


def _check_expected(task: Task, shown: str, output_spec: dict[str, Any] | None) -> None:
    """Every case gives each grader what it needs to score it (graders/_expected.py)."""
    for case in task.golden.cases:
        for i, grader in enumerate(task.graders):
            problem = expected_problem(grader, case.expected, output_spec)
            if problem:
                raise SpecError(f"{task.spec.golden_set}:{case.line}: case {case.id!r} {problem} "
                                f"(graders[{i}] in {shown}); fix the case or the grader")


def _judge_models(graders: list[Any], shown: str, models: dict[str, Any]) -> dict[str, Any]:
    """The catalog entries that graders call (`judge:`) or compare with (`against:`), checked."""
    known = ", ".join(sorted(models)) or "(none: add models to tierwise.yaml)"
    out: dict[str, Any] = {}
    for i, g in enumerate(graders):
        for option in ("judge", "against"):
            name = g.options.get(option)
            if not name or (option == "against" and name == "reference"):
                continue
            if name not in models:
                raise SpecError(f"{shown}: graders[{i}].{option}: unknown model {name!r}; known: {known}; "
                                f"fix: add it to tierwise.yaml models: or correct the name")
            out[name] = models[name]
    return out


def _check_models(spec: TaskSpec, shown: str, models: dict[str, Any]) -> None:
    known = ", ".join(sorted(models)) or "(none: add models to tierwise.yaml)"
    if not spec.policies:
        raise SpecError(f"{shown}: candidates: empty, and a task needs at least one model to evaluate; known models: "
                        f"{known}; fix: name one here (candidates: [NAME]), adding it to tierwise.yaml models: first "
                        "if it is not there (e.g. NAME: {litellm: openai/gpt-4o-mini})")
    for i, name in enumerate(spec.policies):
        if isinstance(name, str) and name not in models:
            raise SpecError(f"{shown}: candidates[{i}]: unknown model {name!r}; known: {known}; "
                            f"fix: add it to tierwise.yaml models: or correct the name")
    singles = spec.single_candidates
    if len(set(singles)) != len(singles):
        dup = next(n for n in singles if singles.count(n) > 1)
        raise SpecError(f"{shown}: candidates: {dup!r} is listed twice")
    check_cascades(spec, shown, models)
    spec._suggested = suggest_cascades(spec, shown, models)
    for name in spec.prompt.variants:
        if name not in models:
            raise SpecError(f"{shown}: prompt.variants.{name}: unknown model {name!r}; known: {known}")


def _check_templates(task: Task, shown: str) -> None:
    """Every variable a template uses must be provided by every case, before any call."""
    import jinja2
    from jinja2 import meta

    env = prompt_env()
    sources: dict[str, str] = {}
    p = task.spec.prompt
    if p.system is not None:
        sources["prompt.system"] = p.system
    sources["prompt.user"] = p.user
    for model, variant in p.variants.items():
        for role in ("system", "user"):
            text = getattr(variant, role)
            if text is not None:
                sources[f"prompt.variants.{model}.{role}"] = text
    for place, source in sources.items():
        try:
            names = meta.find_undeclared_variables(env.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            raise SpecError(f"{shown}: {place}: template syntax error on its line {exc.lineno}: {exc.message}") from None
        _check_sandbox(env.parse(source), shown, place)
        for case in task.golden.cases:
            missing = sorted(n for n in names if n not in case.vars)
            if missing:
                raise SpecError(
                    f"{shown}: {place}: variable {missing[0]!r} is not provided by case {case.id!r} "
                    f"({task.spec.golden_set}:{case.line}); fix: add it to that case's vars or change the template"
                )


def _check_sandbox(tree: Any, shown: str, place: str) -> None:
    """Refuse, before any case renders, what the sandbox would refuse on any value: an
    attribute or item whose name starts with `_` (`x.__class__`, `x['__globals__']`,
    `x|attr('__init__')`). The sandbox refuses the rest (computed names, format strings)
    when validate renders every case."""
    from jinja2 import nodes

    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args and isinstance(node.args[0], nodes.Const):
            name = node.args[0].value
        else:
            continue
        if isinstance(name, str) and name.startswith("_"):
            raise SpecError(f"{shown}: {place}: on its line {node.lineno}: {name!r} is not allowed in a prompt "
                            f"(prompts render in a sandbox, docs/security.md); fix: use only the case's variables, "
                            f"filters and tests")
