"""What commands that call no model need from LiteLLM, answered without `import litellm`
(which takes seconds): its bundled price map read as data, and which environment variable
holds each common provider's key.

Every answer here is either the one LiteLLM gives or None ("ask LiteLLM"): a model string
this module cannot resolve plainly (no `provider/` prefix, an alias row, a provider LiteLLM
special-cases) falls through to LiteLLM itself, so the data path only ever makes the common
case fast, never different. tests/models/test_price_map.py checks the answers against LiteLLM.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

MAP_FILE = "model_prices_and_context_window_backup.json"

# The providers answered here (the ones most catalogs use; LiteLLM special-cases none of them in
# what is asked below) and, as its validate_environment has them, their keys: a key is there when
# any of `accepted` is set, otherwise it reports `missing`. Other providers are asked of LiteLLM.
PROVIDER_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "openai": (("OPENAI_API_KEY",), ("OPENAI_API_KEY",)),
    "anthropic": (("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"), ("ANTHROPIC_API_KEY",)),
    "gemini": (("GOOGLE_API_KEY", "GEMINI_API_KEY"), ("GOOGLE_API_KEY", "GEMINI_API_KEY")),
    "mistral": (("MISTRAL_API_KEY",), ("MISTRAL_API_KEY",)),
    "groq": (("GROQ_API_KEY",), ("GROQ_API_KEY",)),
    "deepseek": (("DEEPSEEK_API_KEY",), ("DEEPSEEK_API_KEY",)),
    "xai": (("XAI_API_KEY",), ("XAI_API_KEY",)),
}


def local_map_in_force() -> bool:
    """Whether LiteLLM loads its bundled map (Tierwise's default) rather than fetching one."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return os.environ["LITELLM_LOCAL_MODEL_COST_MAP"].lower() == "true"


@lru_cache(maxsize=1)
def map_path() -> Path | None:
    """The bundled price map inside the installed litellm package, found without importing it."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / MAP_FILE
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def _entries() -> dict[str, Any]:
    path = map_path()
    if path is None or not local_map_in_force():
        return {}
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=1)
def map_digest() -> str | None:
    """A short sha256 of the bundled map's bytes; None when LiteLLM would load another map."""
    path = map_path()
    if path is None or not local_map_in_force():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def model_entry(model: str) -> dict[str, Any] | None:
    """The price map's entry for `provider/name`, as LiteLLM resolves the plain case: the
    prefixed key, else the bare name, either one listed under that provider; else None."""
    provider, _, name = model.partition("/")
    if not name or provider not in PROVIDER_KEYS:
        return None
    entries = _entries()
    for key in (model, name):
        entry = entries.get(key)
        if (isinstance(entry, dict) and entry.get("litellm_provider") == provider
                and "alias_of" not in entry and "aliases" not in entry):
            return entry
    return None


def token_prices(model: str) -> tuple[float, float] | None:
    """(input, output) dollars per token from the map; None when it does not price the model plainly."""
    entry = model_entry(model)
    if entry is None:
        return None
    prices = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if not all(isinstance(p, (int, float)) for p in prices):
        return None
    return float(prices[0]), float(prices[1])


# A price that changes above a prompt size (`input_cost_per_token_above_200k_tokens`); a cache
# write's time-to-live (`cache_creation_input_token_cost_above_1hr`) is not one.
_TOKEN_TIER = re.compile(r"_above_[0-9.]+[km]?_tokens")


def flat_token_prices(model: str) -> tuple[float, float] | None:
    """(input, output) dollars per token where they alone price a call's tokens: the model's
    entry has no threshold tiers (`…_above_200k_tokens`), no tiered table and no off-peak hours,
    so LiteLLM's cost_per_token for any prompt and completion is prompt × input + completion ×
    output, to the last bit (tests/models/test_price_map.py checks every such entry). None
    otherwise: ask LiteLLM."""
    entry = model_entry(model)
    if entry is None or any(_TOKEN_TIER.search(key) or "tiered" in key or "off_peak" in key for key in entry):
        return None
    return token_prices(model)


def supports(model: str, capability: str) -> bool | None:
    """A `supports_*` flag of the model's entry (True or False as the map says); None when unset."""
    entry = model_entry(model)
    value = entry.get(capability) if entry is not None else None
    return value if isinstance(value, bool) else None


def key_check(model: str) -> dict[str, Any] | None:
    """LiteLLM's validate_environment answer for a listed provider's model; None for the rest."""
    provider, _, name = model.partition("/")
    if not name or provider not in PROVIDER_KEYS:
        return None
    accepted, missing = PROVIDER_KEYS[provider]
    if any(key in os.environ for key in accepted):
        return {"keys_in_environment": True, "missing_keys": []}
    return {"keys_in_environment": False, "missing_keys": list(missing)}
