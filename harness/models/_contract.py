"""The output contract a task sets (a label set or a JSON schema), as call arguments that
constrain a model's answer where the model can: a llama.cpp grammar or schema for local
models, a provider's structured output for API models that support it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._local import choices_grammar

if TYPE_CHECKING:
    from ..project import Task
    from ._catalog import Candidate


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
    from ._litellm import litellm

    try:
        return bool(litellm().supports_response_schema(model=model))
    except Exception:
        return False
