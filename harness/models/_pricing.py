"""Cost per call: LiteLLM's local price map, with overrides and per_call / per_hour prices.

A `per_hour` price on a `local:` model is charged on the machine time the call's tokens take at
the model's rate, not on the time the call happened to take. On a shared machine measured time
moves with whatever else runs: on two busy cores Qwen 1.5B measured $0.047 per 1,000 calls and
Qwen 0.5B $0.075, and the 3x larger model was recommended as cheaper. The CPU time of the
generation was tried first and moves too (benchmarks/local_price_under_load.py, SmolLM2-135M
against Gemma 3 270M on the shared 2-core machine: with four CPU-bound processes beside
SmolLM2's calls its wall-time price rose 9-12x and its CPU-time price 2.6-3.7x — probably
because llama.cpp's threads spin at barriers while a descheduled partner is away — and both
then called the larger model cheaper; the token price does not move). The tokens a call reads and writes are what it needs,
whatever else the machine is doing.

The rate: llama.cpp on a CPU reads the whole weights file for each generated token (decoding is
bound by memory bandwidth) and computes over it for each prompt token, so seconds per token grow
with the weights' size. The rates are those measured on a 2-core machine with Qwen2.5-Coder-0.5B
Q4_K_M (LOCAL_REFERENCE_BYTES), 16 generated and 150 prompt tokens a second, scaled by the
model's weights size (models/_local.weights_bytes). So the order between local models is fixed
by their tokens and sizes, and the dollar figure is the call's machine time on that reference
machine at the user's hourly price: on a faster machine it overstates every local model alike.
Limits: a mixture-of-experts model reads only its active experts per token and is overcharged;
a model whose size is unknown is charged as the reference model.

A `per_hour` price on any other model (a self-hosted OpenAI-compatible endpoint, whose weights
Tierwise does not see) is charged on its tokens at the throughput the price states
(`output_tokens_per_s`, `prompt_tokens_per_s`: what the serving machine does), and only without
one on the call's wall-clock latency, which moves with the server's load (`tierwise models` says
so). A stated throughput on a local model replaces the reference rate: the machine the user
will actually serve from.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import TYPE_CHECKING

from ._litellm import litellm
from ._provider import provider_for
from ._price_map import flat_token_prices, map_digest, token_prices

if TYPE_CHECKING:
    from ._catalog import Candidate


def cost_of(cand: "Candidate", prompt_tokens: int | None, completion_tokens: int | None,
            latency_s: float | None) -> float | None:
    """US dollars for one call; None when no price is known (never a silent zero for an API model).
    A token price set in tierwise.yaml replaces the provider's list price (LiteLLM's map for a
    litellm: model; free for a local: model or python: rule). A per_hour price is charged on the
    time the provider says (a local model's tokens at its rate), else on `latency_s`."""
    p = provider_for(cand.kind)
    pt, ct = prompt_tokens or 0, completion_tokens or 0
    price = cand.entry.price
    total = 0.0
    token_priced = price is not None and (price.input_per_mtok is not None or price.output_per_mtok is not None)
    if token_priced:
        total += pt * (price.input_per_mtok or 0) / 1e6 + ct * (price.output_per_mtok or 0) / 1e6
    else:
        listed = p.list_cost(cand, pt, ct)
        if listed is None and not (price and (price.per_call is not None or price.per_hour is not None)):
            return None
        total += listed or 0.0
    if price is not None:
        total += price.per_call or 0.0
        seconds = compute_seconds(cand, pt, ct, latency_s)
        if price.per_hour is not None and seconds is not None:
            total += price.per_hour * seconds / 3600.0
    return total


LOCAL_OUTPUT_TOKENS_PER_S = 16.0     # Qwen2.5-Coder-0.5B Q4_K_M, 2 threads (see the module's docstring)
LOCAL_PROMPT_TOKENS_PER_S = 150.0
LOCAL_REFERENCE_BYTES = 491_400_064  # that model's GGUF file


def compute_seconds(cand: "Candidate", prompt: float, output: float, latency_s: float | None) -> float | None:
    """The machine seconds a per_hour price charges a call: its tokens at the price's stated
    throughput, else what its provider charges (a local model's tokens at the reference rate,
    a served model's latency)."""
    price = cand.entry.price
    if price is not None and price.stated_rate:
        return output / (price.output_tokens_per_s or 1.0) + prompt / (price.prompt_tokens_per_s or 1.0)
    return provider_for(cand.kind).charged_seconds(cand, int(prompt), int(output), latency_s)


def wall_priced(cand: "Candidate") -> bool:
    """Whether a per_hour price falls back to the call's wall time (which moves with load)."""
    price = cand.entry.price
    return (price is not None and price.per_hour is not None and not price.stated_rate
            and provider_for(cand.kind).charged_seconds(cand, 1, 1, None) is None)


def local_seconds(cand: "Candidate", prompt: float, output: float) -> float:
    """Machine seconds a local call's tokens take at the model's rate, scaled by its weights' size."""
    scale = (cand.weights_bytes or LOCAL_REFERENCE_BYTES) / LOCAL_REFERENCE_BYTES
    return scale * (output / LOCAL_OUTPUT_TOKENS_PER_S + prompt / LOCAL_PROMPT_TOKENS_PER_S)


def prompt_tokens(cand: "Candidate", messages: list[dict[str, str]]) -> int:
    """Prompt tokens of a call, counted as its provider says: with the model's tokenizer through
    LiteLLM (its default tokenizer for local models and models it does not know); 0 for a python: rule."""
    return provider_for(cand.kind).prompt_tokens(cand, messages)


def litellm_cost(model: str, pt: int, ct: int) -> float | None:
    """Dollars for a call's tokens per LiteLLM's price map; None when the map lacks the model.
    A flat per-token price is read from the map as data, the same figure LiteLLM's cost_per_token
    gives (models/_price_map.flat_token_prices): a run whose calls its workers make then imports
    no LiteLLM to price them, and a result costs a multiplication, not LiteLLM's lookup."""
    flat = flat_token_prices(model)
    if flat is not None:
        return pt * flat[0] + ct * flat[1]
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


def listed_prices(model: str) -> tuple[float, float] | None:
    """(input, output) dollars per token LiteLLM's map lists for the model; None when it lists
    none. Read from the map as data (no `import litellm`) wherever it resolves the model plainly;
    only a model string it cannot resolve (models/_price_map.py) is asked of LiteLLM, as a call's
    cost is (litellm_cost), so `tierwise models` and a run never disagree on a price."""
    prices = token_prices(model)
    if prices is not None:
        return prices
    return litellm_prices(model) if is_priced(model) else None


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
