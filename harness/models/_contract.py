"""The output contract a task sets (a label set or a JSON schema), as call arguments that
constrain a model's answer where the model can: a llama.cpp grammar or schema for local
models, a provider's structured output for API models that support it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ._structured import MODES, choice_args, schema_args

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
    schema_form, choice_form = _forms(cand)
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
    when the candidate is a provider API, python: rule or embedded model."""
    out = task.spec.output
    if out is None or cand.kind != "litellm" or cand.structured is None or cand.structured == "auto":
        return None
    if _contract(task, cand):
        return None
    return "choices" if out.choices else "a JSON schema"


def _forms(cand: "Candidate") -> tuple[str | None, str | None]:
    """(schema form, choice form) for a candidate: an embedded model's llama.cpp grammar, a
    self-hosted endpoint's stated or probed mode, a provider's schema support per LiteLLM."""
    if cand.kind == "local":
        return MODES["grammar"]
    if cand.structured is not None:
        return MODES.get(cand.structured, (None, None))  # "auto" not probed yet: nothing
    return ("json_schema" if _supports_schema(cand.litellm_model or "") else None), None


def _supports_schema(model: str) -> bool:
    from ._price_map import supports

    known = supports(model, "supports_response_schema")
    if known is not None:
        return known
    from ._litellm import litellm

    try:
        return bool(litellm().supports_response_schema(model=model))
    except Exception:
        return False


def structured(cand: "Candidate", name: str, schema: dict[str, Any], grammar: str | None = None) -> dict[str, Any]:
    """Extra call arguments that hold a model to a JSON schema where it can: a llama.cpp grammar
    (or the schema) for a local model or a grammar-taking endpoint, the endpoint's or provider's
    structured output otherwise. A python: model gets nothing (its answer is parsed strictly all the same)."""
    if cand.kind == "python":
        return {}
    schema_form, choice_form = _forms(cand)
    if grammar is not None and choice_form == "grammar":
        return {"extra_body": {"grammar": grammar}}
    return schema_args(schema_form, name, schema, strict=cand.kind == "litellm" and cand.structured is None)


def takes_seed(cand: "Candidate") -> bool:
    """Whether a call to this model may carry a `seed` (llama.cpp and OpenAI-style APIs do;
    Anthropic's does not, and LiteLLM refuses a parameter the provider lacks)."""
    if cand.kind != "litellm":
        return True
    if cand.call_options.get("api_base"):
        return True  # an OpenAI-compatible server
    from ._litellm import litellm

    try:
        return "seed" in (litellm().get_supported_openai_params(model=cand.litellm_model) or [])
    except Exception:
        return False
