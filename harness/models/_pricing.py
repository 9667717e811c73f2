"""Cost per call: LiteLLM's local price map, with overrides and per_call / per_hour prices.

A `per_hour` price is charged on the call's compute time where it was measured (a local model
run in this process: CPU time, which does not move with other load on the machine, see
models/_timing.py), else on its wall-clock latency (a model served by another process).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING

from ._litellm import litellm
from ._price_map import map_digest, token_prices

if TYPE_CHECKING:
    from ._catalog import Candidate


def cost_of(cand: "Candidate", prompt_tokens: int | None, completion_tokens: int | None,
            latency_s: float | None, compute_s: float | None = None) -> float | None:
    """US dollars for one call; None when no price is known (never a silent zero for an API model).
    A per_hour price is charged on `compute_s` when given, else on `latency_s`."""
    pt, ct = prompt_tokens or 0, completion_tokens or 0
    price = cand.entry.price
    total = 0.0
    token_priced = price is not None and (price.input_per_mtok is not None or price.output_per_mtok is not None)
    if token_priced:
        total += pt * (price.input_per_mtok or 0) / 1e6 + ct * (price.output_per_mtok or 0) / 1e6
    elif cand.kind == "litellm":
        mapped = _litellm_cost(cand.litellm_model or "", pt, ct)
        if mapped is None and not (price and (price.per_call is not None or price.per_hour is not None)):
            return None
        total += mapped or 0.0
    if price is not None:
        total += price.per_call or 0.0
        seconds = compute_s if compute_s is not None else latency_s
        if price.per_hour is not None and seconds is not None:
            total += price.per_hour * seconds / 3600.0
    return total


def prompt_tokens(cand: "Candidate", messages: list[dict[str, str]]) -> int:
    """Prompt tokens of a call, counted with the model's tokenizer through LiteLLM (its default
    tokenizer for local models and models it does not know); 0 for a python: rule."""
    if cand.kind == "python":
        return 0
    counter = litellm().token_counter
    model = cand.litellm_model if cand.kind == "litellm" else None
    if model:
        try:
            return int(counter(model=model, messages=messages))
        except Exception:  # noqa: BLE001 - no tokenizer for this model: fall back to the default
            pass
    return int(counter(messages=messages))


def _litellm_cost(model: str, pt: int, ct: int) -> float | None:
    if not is_priced(model):
        return None
    prompt_cost, completion_cost = litellm().cost_per_token(model=model, prompt_tokens=pt, completion_tokens=ct)
    return float(prompt_cost) + float(completion_cost)


@lru_cache(maxsize=256)
def is_priced(model: str) -> bool:
    """Whether LiteLLM's local price map knows this model (read as data where it plainly does)."""
    if token_prices(model) is not None:
        return True
    try:
        litellm().cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)
        return True
    except Exception:
        return False


def litellm_prices(model: str) -> tuple[float, float]:
    """(input, output) dollars per token as LiteLLM's price map has them (0 where it has none)."""
    prices = token_prices(model)
    if prices is not None:
        return prices
    info = litellm().get_model_info(model)
    return float(info.get("input_cost_per_token") or 0), float(info.get("output_cost_per_token") or 0)


@lru_cache(maxsize=1)
def price_map_version() -> str:
    """LiteLLM's version and a hash of the price map it loads, recorded with every run: the
    bundled file's bytes (read without importing LiteLLM), or the map LiteLLM fetched when
    LITELLM_LOCAL_MODEL_COST_MAP is set to something other than True."""
    from importlib.metadata import version

    digest = map_digest()
    if digest is None:
        text = json.dumps(litellm().model_cost, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"litellm-{version('litellm')}+{digest}"
