"""The output contract a task sets (a label set or a JSON schema), as call arguments that
constrain a model's answer where the model can: a llama.cpp grammar or schema for local
models, a provider's structured output for API models that support it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ._local import choices_grammar

if TYPE_CHECKING:
    from ._catalog import Candidate


class _Output(Protocol):
    choices: list[str] | None
    json_schema: dict[str, Any] | None


class _Params(Protocol):
    max_tokens: int | None


class _Spec(Protocol):
    output: _Output | None
    params: _Params


class Task(Protocol):
    """What the contract reads of a task (harness.project.Task is one): its name, output and params."""

    name: str
    spec: _Spec


def constraint(task: "Task", cand: "Candidate") -> dict[str, Any]:
    """Extra call arguments that constrain output to the spec's contract, where the model can."""
    out = task.spec.output
    if out is None or cand.kind == "python":
        return {}
    if cand.kind == "local":
        if out.choices:
            extra: dict[str, Any] = {"extra_body": {"grammar": choices_grammar(out.choices)}}
            # Grammar-constrained sampling may spell a label a character at a time, so a
            # max_tokens tuned for API tokenizers would cut labels short; the grammar itself
            # bounds the answer, so allow the longest label in the worst case.
            needed = max(len(c) for c in out.choices) + 1
            if (task.spec.params.max_tokens or needed) < needed:
                extra["max_tokens"] = needed
            return extra
        return {"extra_body": {"response_format": {"type": "json_object", "schema": out.json_schema}}}
    if out.json_schema and _supports_schema(cand.litellm_model or ""):
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": task.name[:64], "schema": out.json_schema}}}
    return {}


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
    (or the schema) for a local model, structured output for an API model that supports it.
    A python: model gets nothing (its answer is parsed strictly all the same)."""
    if cand.kind == "python":
        return {}
    if cand.kind == "local":
        if grammar is not None:
            return {"extra_body": {"grammar": grammar}}
        return {"extra_body": {"response_format": {"type": "json_object", "schema": schema}}}
    if _supports_schema(cand.litellm_model or ""):
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": name[:64], "schema": schema, "strict": True}}}
    return {}


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
