"""The batching queue (models/_batching.py) with a stand-in decoder, and which calls qualify."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.errors import ConfigError
from harness.models._batching import ENV, Batcher, batch_size, batchable, labels
from harness.models._entry import ModelEntry


def _batcher(size, decode, **kw):
    pool = ThreadPoolExecutor(max_workers=1)

    async def run(fn, requests):
        return await asyncio.get_running_loop().run_in_executor(pool, fn, requests)

    return Batcher(size, decode, run, **kw), pool


def _echo(requests):
    time.sleep(0.05)  # a batch takes time, so later requests queue behind it
    return [f"answer to {messages[0]['content']}" for messages, _params, _cancelled in requests]


def _ask(text):
    return [{"role": "user", "content": text}]


def test_concurrent_requests_are_decoded_together_up_to_the_batch_size():
    async def main():
        batcher, pool = _batcher(4, _echo)
        answers = await asyncio.gather(*(batcher.submit(_ask(str(i)), {}) for i in range(10)))
        pool.shutdown()
        return batcher, answers

    batcher, answers = asyncio.run(main())
    assert answers == [f"answer to {i}" for i in range(10)]
    assert batcher.batches == [4, 4, 2]


def test_requests_arriving_a_little_apart_share_a_batch():
    async def late(batcher, i):
        await asyncio.sleep(0.002 * i)  # callers reach the engine a few event-loop turns apart
        return await batcher.submit(_ask(str(i)), {})

    async def main():
        batcher, pool = _batcher(4, _echo, quiet_s=0.01, max_gather_s=0.2)
        await asyncio.gather(*(late(batcher, i) for i in range(4)))
        pool.shutdown()
        return batcher.batches

    assert asyncio.run(main()) == [4]


def test_a_failing_request_does_not_sink_the_others_in_its_batch():
    def decode(requests):
        return [ValueError("prompt too long") if messages[0]["content"] == "bad" else "ok"
                for messages, _p, _c in requests]

    async def main():
        batcher, pool = _batcher(3, decode)
        out = await asyncio.gather(*(batcher.submit(_ask(t), {}) for t in ("a", "bad", "c")), return_exceptions=True)
        pool.shutdown()
        return out

    first, bad, third = asyncio.run(main())
    assert (first, third) == ("ok", "ok")
    assert isinstance(bad, ValueError) and "too long" in str(bad)


def test_a_batch_that_fails_as_a_whole_reaches_each_caller_and_the_queue_goes_on():
    calls = []

    def decode(requests):
        calls.append(len(requests))
        if len(calls) == 1:
            raise RuntimeError("llama_decode failed")
        return ["ok"] * len(requests)

    async def main():
        batcher, pool = _batcher(2, decode)
        first = await asyncio.gather(*(batcher.submit(_ask("x"), {}) for _ in range(2)), return_exceptions=True)
        then = await batcher.submit(_ask("y"), {})
        pool.shutdown()
        return first, then

    first, then = asyncio.run(main())
    assert all(isinstance(e, RuntimeError) for e in first)
    assert then == "ok"


def test_a_cancelled_waiting_request_is_never_decoded():
    seen = []

    def decode(requests):
        seen.extend(messages[0]["content"] for messages, _p, _c in requests)
        time.sleep(0.05)
        return ["ok"] * len(requests)

    async def main():
        batcher, pool = _batcher(1, decode)
        first = asyncio.create_task(batcher.submit(_ask("first"), {}))
        gone = asyncio.create_task(batcher.submit(_ask("gone"), {}))
        last = asyncio.create_task(batcher.submit(_ask("last"), {}))
        await asyncio.sleep(0.02)  # "first" is decoding; the other two wait
        gone.cancel()
        out = await asyncio.gather(first, last)
        pool.shutdown()
        return out, gone.cancelled()

    (out, gone_cancelled) = asyncio.run(main())
    assert out == ["ok", "ok"] and gone_cancelled
    assert seen == ["first", "last"]


def test_a_request_cancelled_while_decoding_tells_the_decoder():
    started, told = threading.Event(), []

    def decode(requests):
        started.set()
        _messages, _params, cancelled = requests[0]
        deadline = time.monotonic() + 2
        while not cancelled() and time.monotonic() < deadline:  # the decoder checks between steps
            time.sleep(0.005)
        told.append(cancelled())
        return ["late"]

    async def main():
        batcher, pool = _batcher(2, decode)
        task = asyncio.create_task(batcher.submit(_ask("x"), {}))
        await asyncio.get_running_loop().run_in_executor(None, started.wait)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pool.shutdown(wait=True)

    asyncio.run(main())
    assert told == [True]


class _Parsed:
    """What a parsed LlamaGrammar offers batched decoding: its GBNF text and root rule."""
    _grammar, _root = 'root ::= [a-z]+', "root"


@pytest.mark.parametrize("params, expected", [
    ({"temperature": 0, "max_tokens": 8, "stop": ["\n"], "seed": 1}, True),
    ({"temperature": 0.0, "top_p": 0.9, "repeat_penalty": 1.0}, True),
    ({"max_tokens": 8}, False),                                   # create_chat_completion samples at 0.2
    ({"temperature": 0.7}, False),
    ({"temperature": 0, "grammar": object()}, False),
    ({"temperature": 0, "grammar": 'root ::= "yes" | "no"'}, True),     # an output.choices label set
    ({"temperature": 0, "grammar": 'root ::= [a-z]+'}, False),      # GBNF text: the engine parses it first
    ({"temperature": 0, "grammar": _Parsed()}, True),             # a parsed grammar (a json_schema task's)
    ({"temperature": 0, "response_format": {"type": "json_object", "schema": {}}}, True),
    ({"temperature": 0, "response_format": {"type": "json_schema"}}, False),  # llama_params maps it first
    ({"temperature": 0, "logprobs": True, "top_logprobs": 0}, False),
    ({"temperature": 0, "logit_bias": {"1": 5}}, False),
    ({"temperature": 0, "frequency_penalty": 0.5}, False),
])
def test_only_greedy_calls_without_penalties_or_logprobs_are_batched(params, expected):
    assert batchable(params) is expected


def test_batch_size_comes_from_the_entry_then_the_environment(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    plain = ModelEntry.model_validate({"local": "smollm2-135m-instruct"})
    assert batch_size(plain) == 1
    monkeypatch.setenv(ENV, "4")
    assert batch_size(plain) == 4
    assert batch_size(ModelEntry.model_validate({"local": "smollm2-135m-instruct", "batch": 8})) == 8


@pytest.mark.parametrize("value", ["four", "0", "65"])
def test_a_bad_batch_environment_setting_is_refused_with_the_fix(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ConfigError, match=f"{ENV}=.*fix: set it to e.g. 4"):
        batch_size(None)


def test_batch_is_refused_beside_an_api_model():
    with pytest.raises(ValueError, match="batch: is for local: entries"):
        ModelEntry.model_validate({"litellm": "openai/gpt-4.1-mini", "batch": 4})


@pytest.mark.parametrize("choices", [["positive", "negative"], ["a | b", 'say "hi"'], ["x"]])
def test_label_grammars_are_read_back_exactly(choices):
    from harness.models._local import choices_grammar

    assert labels(choices_grammar(choices)) == choices


@pytest.mark.parametrize("grammar", ['root ::= "a" "b"', 'root ::= [a-z]+', 'root ::= ""', "", 'root ::= "x" | y'])
def test_other_grammars_are_not_label_sets(grammar):
    assert labels(grammar) is None


def test_a_batched_entry_is_keyed_apart_from_the_sequential_one(monkeypatch):
    from harness.models._entry import ModelEntry
    from harness.models._identity import candidate_identity

    monkeypatch.delenv("TIERWISE_LOCAL_BATCH", raising=False)
    plain = candidate_identity(ModelEntry.model_validate({"local": "smollm2-135m-instruct"}))
    batched = candidate_identity(ModelEntry.model_validate({"local": "smollm2-135m-instruct", "batch": 4}))
    assert "batch" not in plain and batched == {**plain, "batch": 4}
    monkeypatch.setenv("TIERWISE_LOCAL_BATCH", "8")
    assert candidate_identity(ModelEntry.model_validate({"local": "smollm2-135m-instruct"}))["batch"] == 8
