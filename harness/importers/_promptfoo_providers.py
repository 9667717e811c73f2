"""promptfoo provider ids -> LiteLLM model strings and Tierwise catalog entries."""

from __future__ import annotations

import re
from typing import Any

# promptfoo's provider prefix -> LiteLLM's provider prefix
_PROVIDERS = {
    "openai": "openai", "anthropic": "anthropic", "azure": "azure", "azureopenai": "azure",
    "bedrock": "bedrock", "vertex": "vertex_ai", "google": "gemini", "gemini": "gemini",
    "mistral": "mistral", "groq": "groq", "deepseek": "deepseek", "xai": "xai", "cohere": "cohere",
    "perplexity": "perplexity", "openrouter": "openrouter", "togetherai": "together_ai",
    "fireworks": "fireworks_ai", "huggingface": "huggingface", "cloudflare-ai": "cloudflare",
    "replicate": "replicate", "cerebras": "cerebras", "databricks": "databricks", "watsonx": "watsonx",
    "ollama": "ollama", "vllm": "hosted_vllm", "llama": "llamafile",
}
# Middle segments promptfoo uses to pick an API flavour: openai:chat:X, anthropic:messages:X, ...
_FLAVOURS = {"chat", "messages", "completion", "text-generation", "converse", "responses"}
_NOT_CHAT = {"embedding", "embeddings", "image", "moderation", "assistant", "realtime", "transcription"}

# provider config keys that are a task's call parameters in Tierwise
PARAM_KEYS = {"temperature": "temperature", "max_tokens": "max_tokens", "max_completion_tokens": "max_tokens",
              "max_output_tokens": "max_tokens", "top_p": "top_p", "stop": "stop", "seed": "seed"}
# provider config keys LiteLLM takes under the same name: written beside litellm: as they are
_SAME_NAME = ("reasoning_effort", "thinking", "top_k", "extra_body")
# promptfoo's `region` -> the region option of LiteLLM's provider (by LiteLLM prefix)
_REGION = {"bedrock": "aws_region_name", "vertex_ai": "vertex_location"}


class Unsupported(Exception):
    """The provider has no LiteLLM counterpart the import can write."""


def litellm_model(provider_id: str) -> str:
    """'openai:chat:gpt-4o-mini' -> 'openai/gpt-4o-mini'; 'ollama:chat:llama3' -> 'ollama_chat/llama3'."""
    if provider_id.startswith("litellm:"):
        return provider_id[len("litellm:"):]
    head, sep, rest = provider_id.partition(":")
    if not sep or not rest:
        raise Unsupported(f"provider {provider_id!r} is not a model id (provider:model)")
    if head not in _PROVIDERS:
        raise Unsupported(f"promptfoo's {head!r} provider has no LiteLLM counterpart the import knows; "
                          "add the model to tierwise.yaml by hand")
    flavour, sep2, model = rest.partition(":")
    if flavour in _NOT_CHAT and sep2:
        raise Unsupported(f"{provider_id!r} is a {flavour} model, not a chat model")
    if flavour in _FLAVOURS and sep2:
        if head == "ollama":
            return f"{'ollama_chat' if flavour == 'chat' else 'ollama'}/{model}"
        if head == "openai" and flavour == "completion":
            return f"text-completion-openai/{model}"
        return f"{_PROVIDERS[head]}/{model}"
    return f"{_PROVIDERS[head]}/{rest}"


def catalog_entry(provider_id: str, config: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The catalog entry for a provider, and (key, why) for each config key not carried over.
    Call parameters (temperature, max_tokens, ...) are left to the caller: they belong to the task."""
    entry: dict[str, Any] = {"litellm": litellm_model(provider_id)}
    skipped: list[tuple[str, str]] = []
    for key, value in config.items():
        if key in PARAM_KEYS or key == "response_format":  # the task's params and output schema
            continue
        if key in _SAME_NAME:
            entry[key] = value
        elif key in ("apiBaseUrl", "baseUrl", "apiBase", "api_base"):
            entry["api_base"] = value
        elif key == "apiHost":
            entry["api_base"] = value if str(value).startswith("http") else f"https://{value}"
        elif key in ("apiVersion", "api_version"):
            entry["api_version"] = value
        elif key in ("deploymentName", "deployment_id") and entry["litellm"].startswith("azure/"):
            entry["litellm"] = f"azure/{value}"
        elif key == "apiKeyEnvar":
            entry["api_key_env"] = value
        elif key in ("apiKey", "api_key"):
            skipped.append((key, "keys are never written to tierwise.yaml; set the provider's environment variable"))
        elif key == "region":
            entry[_REGION.get(entry["litellm"].split("/")[0], "region_name")] = value
        else:
            skipped.append((key, "no Tierwise counterpart; add it beside litellm: in tierwise.yaml if LiteLLM takes it"))
    return entry, skipped


def output_schema(response_format: Any) -> dict[str, Any]:
    """The JSON Schema a promptfoo `response_format` asks for, as a task's `output: {json_schema: …}`.

    OpenAI chat's {type: json_schema, json_schema: {name, schema}}, the Responses API's
    {type: json_schema, name, schema} and {type: json_object} (any JSON object) are understood;
    anything else raises Unsupported with the reason."""
    if not isinstance(response_format, dict):
        raise Unsupported(f"a response_format must be a mapping ({{type: json_schema, ...}}), got {response_format!r:.60}")
    kind = response_format.get("type")
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        inner = response_format.get("json_schema", response_format)
        schema = inner.get("schema") if isinstance(inner, dict) else None
        if isinstance(schema, dict):
            return schema
        raise Unsupported("a json_schema response_format without a schema: mapping")
    raise Unsupported(f"response_format type {kind!r} has no Tierwise output counterpart (json_schema and json_object do)")


def model_name(provider_id: str, label: str | None, taken: set[str]) -> str:
    """A short catalog name: the label, else the model part of the id, made unique."""
    base = label or provider_id.split(":")[-1] or provider_id
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-").lower() or "model"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    taken.add(name)
    return name
