"""The output contract a task sets (a label set or a JSON schema), as call arguments that
constrain a model's answer where the model can: a llama.cpp grammar or schema for local
models, a provider's structured output for API models that support it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ._provider import provider_for
from ._structured import choice_args, schema_args

if TYPE_CHECKING:
    from ._catalog import Candidate


class _Output(Protocol):
    choices: list[str] | None
    json_schema: dict[str, Any] | None


class _Params(Protocol):
    max_tokens: int | None


class _Cascade(Protocol):
    @property
    def confidence_models(self) -> set[str]: ...


class _Spec(Protocol):
    output: _Output | None
    params: _Params

    @property
    def cascades(self) -> list[_Cascade]: ...


class Task(Protocol):
    """What the contract reads of a task (harness.project.Task is one): its name, output and params."""

    name: str
    spec: _Spec


# What a call adds to learn the probability of its answer (CallResult.confidence): OpenAI's
# `logprobs`, which LiteLLM passes to providers that have it and the in-process engine maps onto
# llama.cpp's (models/_inprocess.py).
PROBABILITIES = {"logprobs": True}


def constraint(task: "Task", cand: "Candidate") -> dict[str, Any]:
    """Extra call arguments of a task's calls to a model: the output held to the spec's contract
    where the model can, and token log-probabilities where a cascade of the task defers on this
    model's confidence.

    The log-probabilities are asked for only there: on a local model they cost the whole
    vocabulary's logits at every position (SmolLM2: about 400 MB of n_ctx x vocabulary floats,
    and a label call measured 35 % slower, 2.95 s against 2.18 s on a busy 2-core machine), and a
    call that does not ask keeps the call key it always had."""
    if cand.kind == "python":
        return {}
    wanted = dict(PROBABILITIES) if wants_probability(task, cand) else {}
    return {**_contract(task, cand), **wanted}


def wants_probability(task: "Task", cand: "Candidate") -> bool:
    """Whether a cascade of the task defers on this model's confidence (its `confidence` signal)."""
    return cand.kind != "python" and any(cand.name in c.confidence_models for c in task.spec.cascades)


def _contract(task: "Task", cand: "Candidate") -> dict[str, Any]:
    out = task.spec.output
    if out is None:
        return {}
    schema_form, choice_form = provider_for(cand.kind).forms(cand)
    if out.choices:
        extra = choice_args(choice_form, out.choices)
        if choice_form == "grammar":
            # Grammar-constrained sampling may spell a label a character at a time, so a
            # max_tokens tuned for API tokenizers would cut labels short; the grammar itself
            # bounds the answer, so allow the longest label in the worst case.
            needed = max(len(c) for c in out.choices) + 1
            if (task.spec.params.max_tokens or needed) < needed:
                extra["max_tokens"] = needed
        return extra
    return schema_args(schema_form, task.name, out.json_schema or {})


def unconstrained(task: "Task", cand: "Candidate") -> str | None:
    """What a task's contract (a label set or a schema) loses at a self-hosted candidate that
    is sent no constraint for it ("choices", "a JSON schema"); None when it is sent one, or
    when the candidate states no structured: mode (a provider API, python: rule or embedded
    model: only a self-hosted litellm: entry has one, stated or "none" by default)."""
    out = task.spec.output
    if out is None or cand.structured is None or cand.structured == "auto":
        return None
    if _contract(task, cand):
        return None
    return "choices" if out.choices else "a JSON schema"


def structured(cand: "Candidate", name: str, schema: dict[str, Any], grammar: str | None = None) -> dict[str, Any]:
    """Extra call arguments that hold a model to a JSON schema where it can: a llama.cpp grammar
    (or the schema) for a local model or a grammar-taking endpoint, the endpoint's or provider's
    structured output otherwise. A python: model gets nothing (its answer is parsed strictly all the same)."""
    schema_form, choice_form = provider_for(cand.kind).forms(cand)
    if grammar is not None and choice_form == "grammar":
        return {"extra_body": {"grammar": grammar}}
    # strict: a provider's own json_schema support (LiteLLM's map), not a self-hosted server's stated mode
    return schema_args(schema_form, name, schema, strict=cand.structured is None)


def takes_seed(cand: "Candidate") -> bool:
    """Whether a call to this model may carry a `seed` (llama.cpp and OpenAI-style APIs do;
    Anthropic's does not, and LiteLLM refuses a parameter the provider lacks)."""
    return provider_for(cand.kind).takes_seed(cand)
