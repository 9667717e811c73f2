"""Gathering concurrent requests for one local model into batches (opt-in: `batch:`, issue 24).

A local model decodes one request at a time by default. With `batch: N` on its catalog entry (or
TIERWISE_LOCAL_BATCH=N for every local model without one), the runner keeps up to N of its calls
in flight, and the in-process engine decodes those that qualify together, one llama.cpp sequence
each (_batched_decode.py), so the weights are read once per step for all of them.

Which calls qualify (`batchable`): greedy ones (temperature 0) with no logprobs, logit_bias or
repetition penalty. The label grammar of an `output: {choices}` task (_local.choices_grammar) is
applied as a label trie (`labels`), any other grammar (a json_schema task's) by llama.cpp's grammar
sampler, asked lazily (_lazy_grammar.Grammar). Sampling and confidence signals take
llama-cpp-python's path, unchanged.

`Batcher` is the queue, kept free of llama.cpp so it is unit-tested with a stand-in decoder:
requests that arrive while the model is busy wait; when it is free, up to N waiting requests go
in one batch. A request whose caller gave up (a timeout, Ctrl-C) is dropped before its batch
starts or, during decoding, at the next step; one request's failure is its own.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..errors import ConfigError

if TYPE_CHECKING:
    from ._entry import ModelEntry

MAX_BATCH = 64
# How long a batch waits for more requests before it starts: until none arrived for QUIET_S, at
# most MAX_GATHER_S. A finished batch's callers grade and write before their next calls reach
# the engine, several turns of the event loop later; a batch decodes for a second or more.
QUIET_S = 0.01
MAX_GATHER_S = 0.05
ENV = "TIERWISE_LOCAL_BATCH"
# Parameters that change nothing at temperature 0 (greedy decoding ignores them).
_IGNORED_WHEN_GREEDY = frozenset({"temperature", "top_p", "top_k", "min_p", "seed", "max_tokens", "stop"})
_NEUTRAL = {"presence_penalty": 0.0, "frequency_penalty": 0.0, "repeat_penalty": 1.0}


def batch_size(entry: "ModelEntry | None") -> int:
    """Requests a local model decodes together: its entry's `batch:`, else TIERWISE_LOCAL_BATCH,
    else 1 (one at a time, as before)."""
    if entry is not None and entry.batch is not None:
        return entry.batch
    setting = os.environ.get(ENV, "").strip()
    if not setting:
        return 1
    try:
        size = int(setting)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_BATCH:
        raise ConfigError(f"environment variable {ENV}={setting!r} is not a whole number from 1 to {MAX_BATCH}; "
                          f"fix: set it to e.g. 4 (1 decodes one request at a time), or unset it")
    return size


def batchable(params: dict[str, Any]) -> bool:
    """Whether a call's create_chat_completion parameters allow batched greedy decoding:
    temperature 0, no penalty, log-probabilities or logit bias; a grammar or a JSON
    response_format is applied as llama-cpp-python applies it."""
    if params.get("temperature") is None or float(params["temperature"]) != 0.0:
        return False  # create_chat_completion's default is 0.2: sampling
    for key, value in params.items():
        if key in _NEUTRAL:
            if float(value) != _NEUTRAL[key]:
                return False
        elif key == "response_format":
            if not isinstance(value, dict) or value.get("type") not in ("text", "json_object"):
                return False
        elif key == "grammar":
            if labels(value) is None and not (hasattr(value, "_grammar") and hasattr(value, "_root")):
                return False  # neither a label set nor a parsed LlamaGrammar
        elif key not in _IGNORED_WHEN_GREEDY:
            return False  # logprobs, logit_bias, …
    return True


def labels(grammar: Any) -> list[str] | None:
    """The labels of an `output: {choices}` grammar (exactly what _local.choices_grammar writes),
    or None for any other grammar. Takes the GBNF text or a LlamaGrammar holding it."""
    import json

    from ._local import choices_grammar

    text = getattr(grammar, "_grammar", grammar)
    if not isinstance(text, str) or not text.startswith("root ::= "):
        return None
    try:
        found = json.loads("[" + text[len("root ::= "):].replace('" | "', '", "') + "]")
    except ValueError:
        return None
    if not found or not all(isinstance(x, str) and x for x in found):
        return None
    return found if choices_grammar(found) == text else None


@dataclass
class Request:
    messages: list[dict]
    params: dict[str, Any]
    future: asyncio.Future = field(repr=False)

    def cancelled(self) -> bool:
        """True once the caller stopped waiting (read from the decoding thread between steps)."""
        return self.future.cancelled()


# Decodes one batch on the engine's thread: (messages, params, cancelled) per request, in order;
# returns each request's result or the exception it alone raised.
DecodeBatch = Callable[[list[tuple[list[dict], dict[str, Any], Callable[[], bool]]]], list[Any]]


class Batcher:
    """Queues one model's batchable requests and decodes them `size` at a time through `run`,
    which runs `decode` off the event loop (the engine's single worker thread)."""

    def __init__(self, size: int, decode: DecodeBatch,
                 run: Callable[[DecodeBatch, list], Awaitable[list[Any]]],
                 quiet_s: float = QUIET_S, max_gather_s: float = MAX_GATHER_S):
        self.size = max(1, size)
        self.quiet_s, self.max_gather_s = quiet_s, max_gather_s
        self._decode = decode
        self._run = run
        self._waiting: list[Request] = []
        self._drainer: asyncio.Task | None = None
        self.batches: list[int] = []  # the size of each batch decoded (for tests and benchmarks)

    async def submit(self, messages: list[dict], params: dict[str, Any]) -> Any:
        """This request's result, decoded in a batch with others waiting for the same model."""
        request = Request(messages, params, asyncio.get_running_loop().create_future())
        self._waiting.append(request)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await request.future

    async def _drain(self) -> None:
        while True:
            await self._gather()
            self._waiting = [r for r in self._waiting if not r.future.done()]  # given up while waiting
            if not self._waiting:
                return
            batch, self._waiting = self._waiting[:self.size], self._waiting[self.size:]
            self.batches.append(len(batch))
            try:
                results = await self._run(self._decode, [(r.messages, r.params, r.cancelled) for r in batch])
            except BaseException as exc:  # the whole batch failed: each of its callers hears why
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for r, result in zip(batch, results):
                if r.future.done():
                    continue
                if isinstance(result, BaseException):
                    r.future.set_exception(result)
                else:
                    r.future.set_result(result)

    async def _gather(self) -> None:
        """Wait while requests keep arriving, until a full batch waits or MAX_GATHER_S passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_gather_s
        await asyncio.sleep(0)  # the callers started in this turn of the loop
        while len(self._waiting) < self.size and loop.time() < deadline:
            before = len(self._waiting)
            await asyncio.sleep(self.quiet_s)
            if len(self._waiting) == before:
                return
