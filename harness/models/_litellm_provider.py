"""The `litellm:` provider: any model LiteLLM reaches, by its model string, with the call options
beside it (api_base, reasoning_effort, …; never a key), priced from LiteLLM's price map."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..fingerprint import SECRET_OPTIONS
from ._calls import litellm_call
from ._provider import Provider, provider, skip
from ._structured import FIX, MODES, stated_mode

if TYPE_CHECKING:
    from ._catalog import Candidate, Catalog
    from ._entry import ModelEntry

# Call options a catalog entry may set beside `litellm:`; each is passed to the call as it is.
# Anything else goes under `extra:` (passed through verbatim), so a typo is an error at load,
# never a parameter silently sent to a provider.
CALL_OPTIONS = frozenset({
    "api_base", "api_version", "api_key", "api_key_env", "organization", "custom_llm_provider",
    "extra_headers", "extra_body", "reasoning_effort", "thinking", "top_k", "seed", "user",
    "deployment_id", "region_name", "aws_region_name", "vertex_project", "vertex_location",
    "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
})


@provider("litellm")
class LiteLLM(Provider):
    options = CALL_OPTIONS
    takes_structured = True
    pooled = True
    bare_targets = True  # registry.yaml holds the LiteLLM model string itself
    price_list = "LiteLLM"

    def check(self, entry: "ModelEntry") -> None:
        api_key = (entry.model_extra or {}).get("api_key")
        if api_key is not None and str(api_key).lower() != "none":
            raise ValueError("api_key must not be written in tierwise.yaml; set the provider's environment variable "
                             "(or api_key_env: NAME), or write api_key: none for an endpoint that needs no key")

    def identity(self, entry: "ModelEntry") -> dict[str, Any]:
        options = {k: v for k, v in sorted(entry.call_options.items()) if k not in SECRET_OPTIONS}
        return {"kind": "litellm", "model": entry.ref, "options": options}

    def resolve(self, cand: "Candidate", config: "Catalog", check_keys: bool) -> None:
        cand.litellm_model = cand.entry.ref
        cand.call_options = cand.entry.call_options
        cand.structured = stated_mode(cand.entry, config.root)
        if check_keys:
            _check_keys(cand)

    def family(self, cand: "Candidate") -> str:
        return (cand.litellm_model or "").split("/", 1)[0]

    def list_cost(self, cand: "Candidate", prompt_tokens: int, completion_tokens: int) -> float | None:
        from ._pricing import litellm_cost

        return litellm_cost(cand.litellm_model or "", prompt_tokens, completion_tokens)

    def list_price(self, cand: "Candidate") -> tuple[float, float] | None:
        from ._pricing import listed_prices

        prices = listed_prices(cand.litellm_model or "")
        return None if prices is None else (prices[0] * 1e6, prices[1] * 1e6)

    def prompt_tokens(self, cand: "Candidate", messages: list[dict[str, str]]) -> int:
        """Counted with the model's tokenizer, else LiteLLM's default one."""
        from ._litellm import litellm

        if cand.litellm_model:
            try:
                return int(litellm().token_counter(model=cand.litellm_model, messages=messages))
            except Exception:  # noqa: BLE001 - no tokenizer for this model: fall back to the default
                pass
        return super().prompt_tokens(cand, messages)

    def forms(self, cand: "Candidate") -> tuple[str | None, str | None]:
        """A self-hosted endpoint's stated or probed mode; a provider's schema support per LiteLLM."""
        if cand.structured is not None:
            return MODES.get(cand.structured, (None, None))  # "auto" not probed yet: nothing
        return ("json_schema" if _supports_schema(cand.litellm_model or "") else None), None

    def describe_constraints(self, cand: "Candidate") -> str:
        mode = cand.structured
        if mode is None:
            from ._price_map import supports

            known = supports(cand.litellm_model or "", "supports_response_schema")
            return {True: "schemas (json_schema, per LiteLLM's map); choices unconstrained",
                    False: "none (LiteLLM's map: no schema support)"}.get(known, "schemas if LiteLLM says so at run time")
        if mode == "auto":
            return "auto: probed at the first run"
        how = "probed" if cand.entry.structured == "auto" else "stated" if cand.entry.structured else "not stated"
        if mode == "none":
            return f"NONE ({how}): choices and schemas reach it unconstrained" + (
                "" if cand.entry.structured else "; fix: " + FIX)
        schema, choices = MODES[mode]
        sent = "schemas and choices" if schema and choices else "schemas only" if schema else "choices only"
        return f"{sent} ({mode}, {how})"

    def takes_seed(self, cand: "Candidate") -> bool:
        """llama.cpp and OpenAI-style APIs take a seed; Anthropic's does not, and LiteLLM refuses
        a parameter the provider lacks."""
        if cand.call_options.get("api_base"):
            return True  # an OpenAI-compatible server
        from ._litellm import litellm

        try:
            return "seed" in (litellm().get_supported_openai_params(model=cand.litellm_model) or [])
        except Exception:
            return False

    async def call(self, cand, messages, params, extra, *, retries, backoff_base_s, variables, api_base, api_key):
        return await litellm_call(cand, messages, params, extra, retries, backoff_base_s, api_base, api_key)

    def router_params(self, cand: "Candidate", served_at: str | None) -> tuple[dict[str, Any] | None, str]:
        return {"model": cand.litellm_model}, ""


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


def _check_keys(cand: "Candidate") -> None:
    """What can be known offline about a LiteLLM entry's credentials: a key is needed unless the
    entry says `api_key: none`; it comes from `api_key_env:` or the provider's variable."""
    if str((cand.entry.model_extra or {}).get("api_key", "")).lower() == "none":
        return
    key_env = cand.call_options.get("api_key_env")
    if key_env:
        from ..util import register_secret

        register_secret(os.environ.get(key_env), key_env)
        if not os.environ.get(key_env):
            skip(cand, f"{key_env} is not set")
        return
    from ._litellm import litellm
    from ._price_map import key_check

    try:
        env = key_check(cand.litellm_model or "") or litellm().validate_environment(cand.litellm_model)
    except Exception as exc:  # an unknown provider string
        skip(cand, f"LiteLLM cannot use {cand.litellm_model!r}: {str(exc)[:120]}")
        return
    if env.get("keys_in_environment"):
        return
    missing = env.get("missing_keys") or []
    if not missing:
        cand.status, cand.note = "unknown", "LiteLLM cannot tell which key this provider needs"
        return
    why = f"{' or '.join(missing)} is not set"
    if cand.call_options.get("api_base"):
        why += "; for a server that needs no key, add api_key: none to its tierwise.yaml entry"
    skip(cand, why)
