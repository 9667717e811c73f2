"""One model call: explicit timeout, retries with backoff that honour Retry-After, never a raise."""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._litellm import litellm
from ._provider import provider_for

if TYPE_CHECKING:
    from ._catalog import Candidate

# Exception class names (LiteLLM's) that a later attempt may cure.
_RETRYABLE = {
    "RateLimitError", "InternalServerError", "ServiceUnavailableError", "APIConnectionError",
    "Timeout", "APIError", "BadGatewayError", "TimeoutError", "JSONDecodeError", "APIResponseValidationError", "MalformedResponse",
}
# HTTP statuses no retry can cure: bad request, auth, not found, payload too large, unprocessable.
_FINAL_STATUS = {400, 401, 403, 404, 405, 413, 422}
# LiteLLM reports some final failures under a retryable class (a missing key is an
# InternalServerError with status 500); their text says what they are.
_FINAL_TEXT = [
    (re.compile(r"missing credentials|api[_ ]?key|unauthori[sz]ed|authenticat|permission denied|"
                r"invalid x-api-key", re.I), "AuthenticationError"),
    (re.compile(r"context (length|window)|maximum context|too many tokens|prompt is too long", re.I),
     "ContextWindowExceededError"),
    (re.compile(r"model .*(not found|does not exist)|no such model|unknown model", re.I), "NotFoundError"),
]


def classify(exc: BaseException) -> tuple[str, bool]:
    """The error type recorded for a failed call, and whether another attempt may cure it.

    Auth, bad request, not found and context-length errors fail at once: retrying them only
    multiplies the wait and the cost of a run that cannot succeed."""
    if isinstance(exc, asyncio.TimeoutError):
        return "Timeout", True
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    text = str(exc)
    if status in (408, 429):
        return name, True
    for pattern, kind in _FINAL_TEXT:
        if pattern.search(text):
            return kind, False
    if status in _FINAL_STATUS:
        return name, False
    return name, name in _RETRYABLE
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0


class MalformedResponse(Exception):
    """The provider answered, but not with a usable completion."""


# The finish_reason of a call that declined to answer (a python: rule that returned None):
# it abstained (no output, no error); a cascade defers on it.
ABSTAINED = "abstain"


@dataclass
class CallResult:
    output: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None
    attempts: int = 0
    error: str | None = None
    error_type: str | None = None
    confidence: float | None = None  # the probability of the answer, where the provider gives logprobs


async def complete(cand: "Candidate", messages: list[dict[str, str]], params: dict[str, Any],
                   extra: dict[str, Any] | None = None, retries: int = 3, api_base: str | None = None,
                   api_key: str | None = None, variables: dict[str, Any] | None = None,
                   backoff_base_s: float = 0.5) -> CallResult:
    """Call a candidate once (through its kind's provider), retrying transient failures; a
    failure is returned, not raised. `api_base`/`api_key`: where an engine serves the model."""
    return await provider_for(cand.kind).call(cand, messages, params, extra, retries=retries,
                                              backoff_base_s=backoff_base_s, variables=variables or {},
                                              api_base=api_base, api_key=api_key)


async def litellm_call(cand: "Candidate", messages: list[dict[str, str]], params: dict[str, Any],
                       extra: dict[str, Any] | None, retries: int, backoff_base_s: float,
                       api_base: str | None = None, api_key: str | None = None) -> CallResult:
    """A candidate's call through `litellm.acompletion` (the litellm: and local: providers')."""
    kwargs = call_kwargs(cand, messages, params, extra, api_base, api_key)
    return await call_litellm(kwargs, cand.timeout_s, retries, backoff_base_s)


async def call_litellm(kwargs: dict[str, Any], timeout_s: float, retries: int = 3,
                       backoff_base_s: float = 0.5) -> CallResult:
    """`litellm.acompletion(**kwargs)` with retries; its latency is the HTTP exchange's own
    (models/_timing.py), or the generation's for local models, else the wall clock's."""
    from ._timing import start_timing

    result = CallResult()
    for attempt in range(retries + 1):
        result.attempts = attempt + 1
        started = time.perf_counter()
        exchanges = start_timing()
        try:
            response = await asyncio.wait_for(litellm().acompletion(**kwargs), timeout=timeout_s + 5)
            try:
                _fill(result, response)
            except (AttributeError, IndexError, TypeError, ValueError) as exc:
                raise MalformedResponse(f"malformed response: {exc}") from None
            result.latency_ms = exchanges[-1] if exchanges else (time.perf_counter() - started) * 1000
            result.error = result.error_type = None
            return result
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider failure becomes a recorded error
            result.error_type, retryable = classify(exc)
            result.error = describe_error(exc)
            if not retryable or attempt == retries:
                return result
            await asyncio.sleep(_delay(exc, attempt, backoff_base_s))
    return result


def secret_label(cand: "Candidate") -> str:
    """How a candidate's API key is shown wherever it would appear (util.redact)."""
    return cand.call_options.get("api_key_env") or f"{cand.name} api_key"


def call_kwargs(cand: "Candidate", messages, params, extra, api_base=None, api_key=None) -> dict[str, Any]:
    """The keyword arguments of `litellm.acompletion` for one call of a candidate."""
    import os

    kwargs: dict[str, Any] = {k: v for k, v in cand.call_options.items() if k != "api_key_env"}
    if "api_key_env" in cand.call_options:
        kwargs["api_key"] = os.environ.get(cand.call_options["api_key_env"], "")
    kwargs.update(params)
    if extra:
        kwargs.update(extra)
    if api_base:
        kwargs["api_base"] = api_base
    if api_key:
        kwargs["api_key"] = api_key
    kwargs.update(model=cand.litellm_model, messages=messages, timeout=cand.timeout_s, num_retries=0, max_retries=0)
    if kwargs.get("api_key"):
        from ..util import register_secret

        register_secret(kwargs["api_key"], secret_label(cand))
    return kwargs


def _fill(result: CallResult, response: Any) -> None:
    choice = response.choices[0]
    content = choice.message.content
    if content is None:
        raise ValueError("response has no message content")
    result.output = content
    result.finish_reason = choice.finish_reason
    usage = getattr(response, "usage", None)
    if usage is not None:
        result.prompt_tokens = getattr(usage, "prompt_tokens", None)
        result.completion_tokens = getattr(usage, "completion_tokens", None)
    result.confidence = answer_probability(getattr(choice, "logprobs", None))


def answer_probability(logprobs: Any) -> float | None:
    """The probability the model gave its whole answer: exp of the sum of its tokens' log-probabilities
    (OpenAI's `choices[0].logprobs.content[i].logprob`; llama-cpp-python's chat completion has the
    same shape). For a label task that is the probability of the chosen label; for other tasks, of
    the whole text. None when the provider sent none (not asked for, or not supported); a malformed
    entry is None too, never an error: the answer itself is good."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else getattr(logprobs, "content", None)
    if not content:
        return None
    total = 0.0
    for token in content:
        value = token.get("logprob") if isinstance(token, dict) else getattr(token, "logprob", None)
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        if math.isnan(value) or value > 1e-6:
            return None
        total += min(value, 0.0)
    return math.exp(total)


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header on the error's response, if any."""
    for headers in _headers_of(exc):
        value = headers.get("retry-after") or headers.get("Retry-After")
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except (TypeError, ValueError):
            from email.utils import parsedate_to_datetime

            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                return None
    return None


def _headers_of(exc: BaseException):
    for attr in ("litellm_response_headers", "headers"):
        headers = getattr(exc, attr, None)
        if headers:
            yield {str(k).lower(): v for k, v in dict(headers).items()}
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers:
        yield {str(k).lower(): v for k, v in dict(headers).items()}


def _delay(exc: BaseException, attempt: int, base: float) -> float:
    after = retry_after_s(exc)
    if after is not None:
        return min(after, MAX_RETRY_AFTER_S)
    return min(MAX_BACKOFF_S, base * (2 ** attempt)) * (0.5 + random.random() / 2)


def describe_error(exc: BaseException) -> str:
    """A recorded error's text: its type and its (redacted, shortened) message."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    from ..util import redact

    text = redact(" ".join(str(exc).split()))
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
