"""FakeOpenAI, proved through LiteLLM the way the product calls it.

These tests also pin what litellm (1.110.2 here) does with each failure, so a litellm
upgrade that changes an exception class or where a header lives fails here first.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.request

import litellm
import pytest

from tests.fake_openai import FakeOpenAI

litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner per failure


def complete(server: FakeOpenAI, text: str = "hello world", timeout: float = 5, **kwargs):
    """One chat call through litellm.acompletion; retries are off unless kwargs say otherwise."""
    kwargs.setdefault("num_retries", 0)
    return asyncio.run(
        litellm.acompletion(
            model="openai/fake-model",
            api_base=server.base_url,
            api_key="sk-test",
            messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": text}],
            timeout=timeout,
            **kwargs,
        )
    )


def test_answer_echoes_first_word_of_last_user_message(fake_openai):
    response = complete(fake_openai, "hello world")
    assert response.choices[0].message.content == "hello"
    assert response.choices[0].finish_reason == "stop"


def test_answer_reports_whitespace_token_usage(fake_openai):
    response = complete(fake_openai, "hello big world")
    # prompt: "be brief" + "hello big world"; completion: "hello"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.total_tokens) == (5, 1, 6)


def test_request_body_is_recorded(fake_openai):
    complete(fake_openai, "hello world")
    [body] = fake_openai.requests
    assert body["model"] == "fake-model"
    assert body["messages"][-1] == {"role": "user", "content": "hello world"}
    assert fake_openai.count == 1


def test_responder_computes_the_content():
    with FakeOpenAI(responder=lambda body: body["messages"][-1]["content"].upper()) as server:
        assert complete(server, "shout this").choices[0].message.content == "SHOUT THIS"


def test_responder_tuple_sets_finish_reason_length():
    with FakeOpenAI(responder=lambda body: ("cut off", "length")) as server:
        assert complete(server).choices[0].finish_reason == "length"


def test_models_endpoint_lists_fake_model(fake_openai):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(fake_openai.base_url + "/models", timeout=5) as response:
        assert [model["id"] for model in json.load(response)["data"]] == ["fake-model"]


def test_rate_limit_raises_rate_limit_error(fake_openai):
    fake_openai.fail("429", retry_after=7)
    with pytest.raises(litellm.RateLimitError, match="Rate limit reached") as caught:
        complete(fake_openai)
    assert caught.value.status_code == 429


def test_rate_limit_retry_after_is_in_litellm_response_headers(fake_openai):
    fake_openai.fail("429", retry_after=7)
    with pytest.raises(litellm.RateLimitError) as caught:
        complete(fake_openai)
    assert caught.value.litellm_response_headers.get("retry-after") == "7"


def test_rate_limit_retry_after_is_read_from_the_error_wherever_litellm_puts_it(fake_openai):
    # litellm 1.106 left exc.response a placeholder without the server's headers; 1.110 carries
    # them. The runner reads every place, so either way the server's Retry-After is honoured.
    from harness.models._calls import retry_after_s

    fake_openai.fail("429", retry_after=7)
    with pytest.raises(litellm.RateLimitError) as caught:
        complete(fake_openai)
    assert retry_after_s(caught.value) == 7.0


def test_rate_limit_without_retry_after_sends_no_header(fake_openai):
    fake_openai.fail("429")
    with pytest.raises(litellm.RateLimitError) as caught:
        complete(fake_openai)
    assert caught.value.litellm_response_headers.get("retry-after") is None


def test_server_error_raises_internal_server_error(fake_openai):
    fake_openai.fail("500")
    with pytest.raises(litellm.InternalServerError, match="had an error") as caught:
        complete(fake_openai)
    assert caught.value.status_code == 500


def test_stall_past_timeout_raises_timeout(fake_openai):
    fake_openai.fail("stall", stall_seconds=3)
    started = time.monotonic()
    with pytest.raises(litellm.Timeout) as caught:
        complete(fake_openai, timeout=0.3)
    assert time.monotonic() - started < 2
    # litellm.Timeout subclasses openai.APITimeoutError, not litellm.APIConnectionError.
    assert not isinstance(caught.value, litellm.APIConnectionError)


def test_stall_shorter_than_timeout_still_answers(fake_openai):
    fake_openai.fail("stall", stall_seconds=0.2)
    assert complete(fake_openai, "late reply", timeout=5).choices[0].message.content == "late"


def test_malformed_body_raises_internal_server_error(fake_openai):
    fake_openai.fail("malformed")
    with pytest.raises(litellm.InternalServerError, match="Expecting property name"):
        complete(fake_openai)


def test_empty_choices_pass_through_litellm_unraised(fake_openai):
    fake_openai.fail("empty_choices")
    assert complete(fake_openai).choices == []


def test_fault_with_when_hits_only_matching_requests(fake_openai):
    fake_openai.fail("500", when="boom")
    assert complete(fake_openai, "calm day").choices[0].message.content == "calm"
    with pytest.raises(litellm.InternalServerError):
        complete(fake_openai, "boom now")
    assert (fake_openai.count, fake_openai.count_for("boom")) == (2, 1)


def test_faults_are_consumed_in_order(fake_openai):
    fake_openai.fail("429")
    fake_openai.fail("500")
    with pytest.raises(litellm.RateLimitError):
        complete(fake_openai)
    with pytest.raises(litellm.InternalServerError):
        complete(fake_openai)
    assert complete(fake_openai, "fine").choices[0].message.content == "fine"


def test_fault_with_times_none_never_runs_out(fake_openai):
    fake_openai.fail("500", times=None)
    for _ in range(3):
        with pytest.raises(litellm.InternalServerError):
            complete(fake_openai)


def test_concurrent_requests_consume_exactly_times_faults(fake_openai):
    fake_openai.fail("500", times=3)

    async def ten_calls():
        calls = [
            litellm.acompletion(
                model="openai/fake-model",
                api_base=fake_openai.base_url,
                api_key="sk-test",
                messages=[{"role": "user", "content": f"call {i}"}],
                timeout=5,
                num_retries=0,
            )
            for i in range(10)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(ten_calls())
    assert sum(isinstance(o, litellm.InternalServerError) for o in outcomes) == 3
    assert fake_openai.count == 10


@pytest.mark.parametrize(
    ("retry_kwargs", "requests_sent"),
    [
        # Unset: the OpenAI SDK inside litellm retries twice (openai.DEFAULT_MAX_RETRIES),
        # sleeping for Retry-After in between; we own retries, so we always pass num_retries=0.
        ({}, 3),
        ({"num_retries": 0}, 1),
        ({"max_retries": 0}, 1),
    ],
    ids=["unset", "num_retries=0", "max_retries=0"],
)
def test_litellm_retries_only_when_not_told_otherwise(fake_openai, retry_kwargs, requests_sent):
    fake_openai.fail("429", times=None, retry_after=0.01)
    with pytest.raises(litellm.RateLimitError):
        asyncio.run(
            litellm.acompletion(
                model="openai/fake-model",
                api_base=fake_openai.base_url,
                api_key="sk-test",
                messages=[{"role": "user", "content": "hi"}],
                timeout=5,
                **retry_kwargs,
            )
        )
    assert fake_openai.count == requests_sent


def test_stop_does_not_wait_for_a_stalled_request():
    server = FakeOpenAI().start()
    try:
        server.fail("stall", stall_seconds=30)
        with pytest.raises(litellm.Timeout):
            complete(server, timeout=0.2)
    finally:
        started = time.monotonic()
        server.stop()
    assert time.monotonic() - started < 2


def test_unknown_fault_kind_lists_known_kinds(fake_openai):
    with pytest.raises(ValueError, match="unknown fault kind '503'; known: 429, 500, 401, 404, stall, malformed, empty_choices"):
        fake_openai.fail("503")


def test_reset_forgets_requests_and_faults(fake_openai):
    complete(fake_openai, "first")
    fake_openai.fail("500")
    fake_openai.reset()
    assert complete(fake_openai, "second").choices[0].message.content == "second"
    assert fake_openai.count == 1


def test_requests_is_a_copy(fake_openai):
    complete(fake_openai)
    fake_openai.requests.clear()
    assert fake_openai.count == 1


def test_base_url_before_start_raises():
    with pytest.raises(RuntimeError, match="not started"):
        FakeOpenAI().base_url


def test_logprobs_asked_for_come_back_as_openai_sends_them():
    with FakeOpenAI(responder=lambda body: "very good", probability=lambda body, content: 0.25) as server:
        response = complete(server, "rate it", logprobs=True)
        plain = complete(server, "rate it")
    tokens = response.choices[0].logprobs.content
    assert [t.token for t in tokens] == ["very", " good"]
    assert sum(t.logprob for t in tokens) == pytest.approx(math.log(0.25))
    assert getattr(plain.choices[0], "logprobs", None) is None


def test_a_call_records_the_probability_of_its_answer_only_when_it_asks():
    from harness.models import call_litellm

    with FakeOpenAI(responder=lambda body: "billing", probability=lambda body, content: 0.8) as server:
        kwargs = {"model": "openai/fake-model", "api_base": server.base_url, "api_key": "sk-test",
                  "messages": [{"role": "user", "content": "I was charged twice"}], "max_tokens": 4}
        asked = asyncio.run(call_litellm({**kwargs, "logprobs": True}, timeout_s=5, retries=0))
        unasked = asyncio.run(call_litellm(kwargs, timeout_s=5, retries=0))
    assert asked.output == "billing" and asked.confidence == pytest.approx(0.8)
    assert unasked.output == "billing" and unasked.confidence is None


@pytest.mark.parametrize("logprobs, probability", [
    ({"content": [{"logprob": math.log(0.5)}, {"logprob": math.log(0.5)}]}, 0.25),
    ({"content": [{"logprob": 0.0}]}, 1.0),
    (None, None), ({"content": []}, None), ({"content": None}, None),
    ({"content": [{"logprob": None}]}, None), ({"content": [{"logprob": float("nan")}]}, None),
    ({"content": [{"logprob": 2.0}]}, None),  # not a log-probability: no probability, not a wrong one
])
def test_answer_probability_is_the_product_over_the_answers_tokens(logprobs, probability):
    from harness.models._calls import answer_probability

    got = answer_probability(logprobs)
    assert got == (pytest.approx(probability) if probability is not None else None)
