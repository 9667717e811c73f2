"""A catalog entry of tierwise.yaml's `models:`: which provider answers (exactly one of `litellm`,
`local`, `python`), its price, and the call options passed beside it."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..util import Strict as _Strict


class Price(_Strict):
    """Prices in US dollars; any of them may be set, they add up."""

    input_per_mtok: float | None = Field(None, ge=0)
    output_per_mtok: float | None = Field(None, ge=0)
    per_call: float | None = Field(None, ge=0)
    per_hour: float | None = Field(None, ge=0)
    # The throughput a per_hour price charges at (tokens a second on the machine that serves the
    # model): a self-hosted endpoint's calls are then priced on their tokens, not on wall time
    # that moves with the server's load; on a local: model it replaces the reference rate.
    output_tokens_per_s: float | None = Field(None, gt=0, allow_inf_nan=False)
    prompt_tokens_per_s: float | None = Field(None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _rates_together(self) -> "Price":
        rates = (self.output_tokens_per_s, self.prompt_tokens_per_s)
        if any(r is not None for r in rates):
            if None in rates:
                missing = "prompt_tokens_per_s" if self.prompt_tokens_per_s is None else "output_tokens_per_s"
                raise ValueError(f"set {missing} too: a stated throughput needs both the prompt and the output rate "
                                 "(tokens a second on the serving machine)")
            if self.per_hour is None:
                raise ValueError("output_tokens_per_s / prompt_tokens_per_s price a per_hour price; "
                                 "add per_hour: (dollars an hour of the serving machine)")
        return self

    @property
    def stated_rate(self) -> bool:
        return self.output_tokens_per_s is not None and self.prompt_tokens_per_s is not None


# Call options a catalog entry may set beside `litellm:`; each is passed to the call as it is.
# Anything else goes under `extra:` (passed through verbatim), so a typo is an error at load,
# never a parameter silently sent to a provider.
CALL_OPTIONS = frozenset({
    "api_base", "api_version", "api_key", "api_key_env", "organization", "custom_llm_provider",
    "extra_headers", "extra_body", "reasoning_effort", "thinking", "top_k", "seed", "user",
    "deployment_id", "region_name", "aws_region_name", "vertex_project", "vertex_location",
    "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
})


class ModelEntry(BaseModel):
    """One catalog entry: exactly one of `litellm`, `local`, `python`.

    Beside `litellm:`, the call options in CALL_OPTIONS (api_base, reasoning_effort, …) and an
    `extra:` mapping are passed to the call. `api_key: none` says the endpoint needs no key;
    any other key is read from the environment (`api_key_env: NAME`, or the provider's variable).
    """

    model_config = ConfigDict(extra="allow")

    litellm: str | None = None
    local: str | None = None
    python: str | None = None
    price: Price | None = None
    concurrency: int | None = Field(None, ge=1)
    timeout_s: float | None = Field(None, gt=0, le=86400, allow_inf_nan=False)
    extra: dict[str, Any] | None = None
    # What structured output the endpoint accepts (models/_structured.py; docs/formats.md).
    structured: Literal["json_schema", "json_object", "grammar", "guided", "structured_outputs", "tgi",
                        "none", "auto"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "ModelEntry":
        kinds = [k for k in ("litellm", "local", "python") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("needs exactly one of litellm:, local:, python:")
        options = sorted(self.model_extra or {})
        known = sorted(ModelEntry.model_fields) + sorted(CALL_OPTIONS)
        for key in options:
            if key in CALL_OPTIONS:
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            hint = f"did you mean {close[0]!r}?" if close else \
                f"known call options: {', '.join(sorted(CALL_OPTIONS))}; put any other under extra: {{{key}: …}}"
            raise ValueError(f"unknown key {key!r}; {hint}")
        if self.structured is not None and kinds[0] != "litellm":
            raise ValueError("structured: is for litellm: entries (an embedded local: model is always held by a grammar)")
        if (options or self.extra) and kinds[0] != "litellm":
            first = options[0] if options else "extra"
            raise ValueError(f"unknown key {first!r}; call options are only allowed beside litellm:")
        api_key = (self.model_extra or {}).get("api_key")
        if api_key is not None and str(api_key).lower() != "none":
            raise ValueError("api_key must not be written in tierwise.yaml; set the provider's environment variable "
                             "(or api_key_env: NAME), or write api_key: none for an endpoint that needs no key")
        return self

    @property
    def kind(self) -> Literal["litellm", "local", "python"]:
        return "litellm" if self.litellm else "local" if self.local else "python"

    @property
    def target(self) -> str:
        """The string registry.yaml's `model:` holds for this entry."""
        if self.kind == "litellm":
            return self.litellm or ""
        if self.kind == "local":
            return f"local:{self.local}"
        return f"python:{self.python}"

    @property
    def call_options(self) -> dict[str, Any]:
        """What is passed to the call beside the model: the known options, then `extra:`."""
        return {**(self.model_extra or {}), **(self.extra or {})}

    @property
    def needs_no_key(self) -> bool:
        return str((self.model_extra or {}).get("api_key", "")).lower() == "none"
