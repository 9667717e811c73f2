"""LiteLLM's price map and key checks read as data give LiteLLM's own answers, or none."""

import re

import pytest

from harness.models import _price_map
from harness.models._litellm import litellm

EXAMPLE = ["openai/gpt-4.1-mini", "openai/gpt-4.1-nano", "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash-lite"]


def chat_models() -> list[str]:
    """Every chat model of the providers answered from data, as a catalog would name it."""
    out = []
    for key, entry in _price_map._entries().items():
        provider = entry.get("litellm_provider") if isinstance(entry, dict) else None
        if provider in _price_map.PROVIDER_KEYS and entry.get("mode") == "chat":
            out.append(key if key.startswith(f"{provider}/") else f"{provider}/{key}")
    return out


def test_the_example_models_are_priced_from_data():
    assert all(_price_map.token_prices(m) is not None for m in EXAMPLE)


def test_token_prices_are_litellms():
    differ = []
    for model in chat_models():
        prices = _price_map.token_prices(model)
        if prices is None:
            continue
        info = litellm().get_model_info(model)
        if prices != (info["input_cost_per_token"], info["output_cost_per_token"]):
            differ.append(model)
            continue
        if model.startswith("deepseek/"):
            # LiteLLM's DeepSeek cost function applies rules of its own beyond the listed prices
            # (it gave half the list price for 1,000 + 100 tokens on 2026-11-30); the listed
            # prices, which Tierwise's estimates use, are checked above.
            continue
        prompt, completion = litellm().cost_per_token(model=model, prompt_tokens=1000, completion_tokens=100)
        if prompt + completion != pytest.approx(1000 * prices[0] + 100 * prices[1]):
            differ.append(model)
    assert differ == []


TOKENS = [(0, 0), (1, 1), (137, 9), (1000, 100), (250_000, 3_000), (1_500_000, 40_000)]


def test_a_flat_priced_calls_cost_is_litellms_to_the_last_bit():
    from harness.models._pricing import litellm_cost

    flat = [m for m in chat_models() if _price_map.flat_token_prices(m) is not None]
    assert len(flat) > 100 and set(EXAMPLE) <= set(flat)
    differ = []
    for model in flat:
        for pt, ct in TOKENS:
            prompt, completion = litellm().cost_per_token(model=model, prompt_tokens=pt, completion_tokens=ct)
            if litellm_cost(model, pt, ct) != float(prompt) + float(completion):
                differ.append((model, pt, ct))
    assert differ == []


@pytest.mark.parametrize("model", EXAMPLE)
@pytest.mark.parametrize("pt, ct", TOKENS[1:])
def test_a_flat_priced_calls_cost_is_litellms_completion_cost(model, pt, ct):
    from harness.models._pricing import litellm_cost

    lib = litellm()
    response = lib.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": "x"}}],
                                 usage={"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct})
    assert litellm_cost(model, pt, ct) == pytest.approx(lib.completion_cost(completion_response=response, model=model),
                                                        rel=1e-12, abs=0)


@pytest.mark.parametrize("model", ["gemini/gemini-2.5-pro", "openai/gpt-5.4", "deepseek/deepseek-v4-flash"])
def test_tiered_or_time_of_day_prices_are_left_to_litellm(model):
    from harness.models._pricing import litellm_cost

    if _price_map.model_entry(model) is None:
        pytest.skip(f"{model} is not in this LiteLLM's map")
    assert _price_map.flat_token_prices(model) is None
    prompt, completion = litellm().cost_per_token(model=model, prompt_tokens=300_000, completion_tokens=1_000)
    assert litellm_cost(model, 300_000, 1_000) == float(prompt) + float(completion)


def test_response_schema_support_is_litellms_where_the_map_says():
    differ = [m for m in chat_models() if _price_map.supports(m, "supports_response_schema") not in
              (None, bool(litellm().supports_response_schema(model=m)))]
    assert differ == []


@pytest.mark.parametrize("provider", sorted(_price_map.PROVIDER_KEYS))
def test_key_check_is_litellms_with_and_without_each_key(provider, monkeypatch):
    model = f"{provider}/some-model"
    accepted, _ = _price_map.PROVIDER_KEYS[provider]
    every = {key for keys, _ in _price_map.PROVIDER_KEYS.values() for key in keys}
    for key in every:
        monkeypatch.delenv(key, raising=False)
    assert _price_map.key_check(model) == litellm().validate_environment(model)
    for key in accepted:
        monkeypatch.setenv(key, "sk-test")
        assert _price_map.key_check(model) == litellm().validate_environment(model)
        monkeypatch.delenv(key)


@pytest.mark.parametrize("model", ["gpt-4.1-mini", "azure/gpt-4.1-mini", "openai/no-such-model", "openai"])
def test_what_the_data_cannot_resolve_plainly_is_left_to_litellm(model):
    assert _price_map.token_prices(model) is None
    assert _price_map.supports(model, "supports_response_schema") is None


def test_price_map_version_hashes_the_bundled_file_without_litellm():
    from harness.models import price_map_version

    digest = _price_map.map_digest()
    assert re.fullmatch(r"[0-9a-f]{12}", digest or ""), digest  # None would mean LiteLLM reads another map
    assert price_map_version().endswith(f"+{digest}")
