"""A real OpenAI-compatible chat server on 127.0.0.1 that can be told to fail.

Tests drive the API path through LiteLLM against this server, so the product's
error handling meets real HTTP status codes, headers and bodies::

    with FakeOpenAI() as server:
        server.fail("429", retry_after=2)
        await litellm.acompletion(model="openai/fake-model", api_base=server.base_url, ...)

The server runs aiohttp on its own asyncio loop in a daemon thread, so it works
from synchronous tests and from tests that run their own event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Union

from aiohttp import web

Reply = Union[str, tuple[str, str]]
Responder = Callable[[dict], Reply]

FAULT_KINDS = ("429", "500", "401", "404", "stall", "malformed", "empty_choices", "echo_auth")


def last_user_text(body: dict) -> str:
    """The text of the last user message in a chat request body ("" if none)."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def catalog_entry(server: "FakeOpenAI", name: str, **options: Any) -> dict:
    """A tierwise.yaml model entry calling `openai/<name>` on this server, priced $1 in / $2 out per
    Mtok; `options` beside it (api_key_env or api_key, call options)."""
    return {"litellm": f"openai/{name}", "api_base": server.base_url,
            "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}, **options}


def echo_first_word(body: dict) -> str:
    """Default responder: the first word of the last user message."""
    words = last_user_text(body).split()
    return words[0] if words else ""


def _text(content: Any) -> str:
    # OpenAI content is a string or a list of parts; only text parts count.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _instance(schema: dict) -> Any:
    """A small value that a simple JSON schema accepts (what a constrained decoder might emit)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _instance(props.get(k) or {}) for k in schema.get("required") or list(props)}
    return {"array": [], "boolean": True, "integer": 0, "number": 0, "null": None}.get(kind, "x")


def _count_tokens(text: str) -> int:
    return len(text.split())


def _error(status: int, message: str, type_: str, code: str | None, headers: dict | None = None) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


@dataclass
class _Fault:
    kind: str
    remaining: int | None  # None: never used up
    when: str | None
    retry_after: float | None
    stall_seconds: float

    def matches(self, text: str) -> bool:
        return self.when is None or self.when in text


class FakeOpenAI:
    """An OpenAI chat-completions server on a random free port of 127.0.0.1.

    ``responder(body)`` returns the assistant content, or ``(content, "length")``
    to report a truncated answer. ``delay`` seconds pass before every answer; ``delays``
    sets it per requested model name (``{"fast": 0.02, "slow": 0.15}``), others get ``delay``.

    ``dialect`` makes it honour structured output as a self-hosted server does (``requests``
    records every body, so a test sees what was sent): "llama.cpp" (llama-cpp-python's server)
    obeys a GBNF ``grammar`` of quoted alternatives and ``response_format`` {"type":
    "json_object", "schema"}, and answers ``json_schema`` with HTTP 500 as that server does;
    "vllm" obeys ``guided_choice``, ``guided_json`` and ``json_schema``. None: ignores them all.
    """

    def __init__(self, responder: Responder | None = None, delay: float = 0.0,
                 delays: dict[str, float] | None = None, dialect: str | None = None,
                 probability: Callable[[dict, str], float | None] | None = None):
        if dialect not in (None, "llama.cpp", "vllm"):
            raise ValueError(f"unknown dialect {dialect!r}; known: llama.cpp, vllm")
        self.dialect = dialect
        self.responder: Responder = responder or echo_first_word
        # With `logprobs` asked for, the answer's probability (spread evenly over its tokens), as
        # OpenAI reports it in choices[0].logprobs.content; never sent unless asked.
        self.probability = probability or (lambda body, content: 0.9)
        self.delay = delay
        self.delays = dict(delays or {})
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._requests: list[dict] = []
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._port: int | None = None

    # -- lifecycle -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The ``api_base`` for LiteLLM: ``http://127.0.0.1:PORT/v1``."""
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> "FakeOpenAI":
        """Bind a free port and serve in a background thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("FakeOpenAI is already started")
        # Bind here, not in the thread, so the port is known before start() returns.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, args=(sock,), name="fake-openai", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("FakeOpenAI failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving; stalled requests are cut off rather than waited for."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- fault injection and recording -----------------------------------

    def fail(
        self,
        kind: str,
        times: int | None = 1,
        when: str | None = None,
        retry_after: float | None = None,
        stall_seconds: float = 30.0,
    ) -> None:
        """Make the next ``times`` matching requests fail (``times=None``: all of them).

        kind: "429" (with a Retry-After header when ``retry_after`` is set), "500", "401" (a wrong
        key), "404" (an unknown model),
        "stall" (answer only after ``stall_seconds``), "malformed" (200, not JSON) or
        "empty_choices" (200, valid JSON with ``"choices": []``, which LiteLLM passes through) or
        "echo_auth" (500 whose message echoes the request's Authorization header, as careless
        providers and proxies do).
        ``when``: only requests whose last user message contains this substring.
        Faults are consumed in the order they were added.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError(f"times must be a positive integer or None, not {times!r}")
        with self._lock:
            self._faults.append(_Fault(kind, times, when, retry_after, stall_seconds))

    @property
    def requests(self) -> list[dict]:
        """A copy of the request bodies received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def count(self) -> int:
        """How many chat requests arrived."""
        with self._lock:
            return len(self._requests)

    def count_for(self, substring: str) -> int:
        """How many chat requests had ``substring`` in their last user message."""
        with self._lock:
            bodies = list(self._requests)
        return sum(substring in last_user_text(body) for body in bodies)

    def reset(self) -> None:
        """Forget recorded requests and pending faults."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    def _take_fault(self, text: str) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.matches(text):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            del self._faults[i]
                    return fault
        return None

    # -- the server ------------------------------------------------------

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(sock))
        except BaseException as exc:  # surfaced by start() when it happens early
            if not self._ready.is_set():
                self._startup_error = exc
        finally:
            self._ready.set()
            loop.close()
            sock.close()

    async def _serve(self, sock: socket.socket) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        # No access log: the throughput benchmark must not pay for a log line per call.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            self._ready.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    async def _models(self, request: web.Request) -> web.Response:
        model = {"id": "fake-model", "object": "model", "created": 0, "owned_by": "tierwise-tests"}
        return web.json_response({"object": "list", "data": [model]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _error(400, "request body is not valid JSON", "invalid_request_error", None)
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object", "invalid_request_error", None)
        text = last_user_text(body)
        with self._lock:
            self._requests.append(body)
        fault = self._take_fault(text)
        delay = self.delays.get(body.get("model"), self.delay)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            response = await self._faulty(fault, request)
            if response is not None:
                return response
        if body.get("stream"):
            return _error(400, "the fake server does not stream", "invalid_request_error", None)
        form = (body.get("response_format") or {}).get("type") if isinstance(body.get("response_format"), dict) else None
        if self.dialect == "llama.cpp" and form == "json_schema":
            return _error(500, "Input should be 'text' or 'json_object'", "server_error", None)
        return web.json_response(self._completion(body))

    async def _faulty(self, fault: _Fault, request: web.Request) -> web.Response | None:
        if fault.kind == "429":
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
            return _error(429, "Rate limit reached for fake-model.", "requests", "rate_limit_exceeded", headers)
        if fault.kind == "401":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if fault.kind == "404":
            return _error(404, "The model `fake-model` does not exist.", "invalid_request_error", "model_not_found")
        if fault.kind == "500":
            return _error(500, "The server had an error while processing your request.", "server_error", None)
        if fault.kind == "echo_auth":
            auth = request.headers.get("Authorization", "")
            return _error(500, f"upstream refused the request with Authorization: {auth}", "server_error", None)
        if fault.kind == "malformed":
            return web.Response(status=200, text="{this is not json", content_type="application/json")
        if fault.kind == "empty_choices":
            body = {"id": "chatcmpl-fake-empty", "object": "chat.completion", "created": 0, "choices": []}
            return web.json_response(body)
        # "stall": wait, but wake at once when the server stops, so shutdown never hangs.
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), fault.stall_seconds)
        except asyncio.TimeoutError:
            return None  # stalled long enough: answer normally
        return _error(503, "the fake server is shutting down", "server_error", None)

    def _constrained(self, body: dict, content: str) -> str:
        """The answer a server of this dialect gives under the body's constraint."""
        response_format = body.get("response_format") if isinstance(body.get("response_format"), dict) else {}
        schema = None
        if self.dialect == "llama.cpp":
            if isinstance(body.get("grammar"), str):
                choices = [json.loads(c) for c in re.findall(r'"(?:[^"\\]|\\.)*"', body["grammar"])]
                return content if content in choices else choices[0]
            if response_format.get("type") == "json_object":
                schema = response_format.get("schema") or {}
        elif self.dialect == "vllm":
            if isinstance(body.get("guided_choice"), list):
                choices = body["guided_choice"]
                return content if content in choices else choices[0]
            if isinstance(body.get("guided_json"), dict):
                schema = body["guided_json"]
            elif response_format.get("type") == "json_schema":
                schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return content if schema is None else json.dumps(_instance(schema))

    def _logprobs(self, body: dict, content: str) -> dict | None:
        probability = self.probability(body, content) if body.get("logprobs") else None
        if probability is None:  # not asked, or a provider that gives none
            return None
        tokens = re.findall(r"\s*\S+", content) or [content]
        share = math.log(probability) / len(tokens)
        return {"content": [{"token": t, "logprob": share, "bytes": list(t.encode()), "top_logprobs": []}
                            for t in tokens], "refusal": None}

    def _completion(self, body: dict) -> dict:
        reply = self.responder(body)
        content, finish_reason = reply if isinstance(reply, tuple) else (reply, "stop")
        if self.dialect is not None:
            content = self._constrained(body, content)
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        prompt_tokens = sum(_count_tokens(_text(m.get("content"))) for m in messages)
        completion_tokens = _count_tokens(content)
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                    "logprobs": self._logprobs(body, content),
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


class FakeOpenAIProcess:
    """A FakeOpenAI in a process of its own, as a real provider would be: its answers are not
    delayed by whatever the calling process's threads do with the GIL. ``base_url`` once entered."""

    def __init__(self, delay: float = 0.0, delays: dict[str, float] | None = None):
        self.delay, self.delays = delay, dict(delays or {})
        self.base_url = ""

    def __enter__(self) -> "FakeOpenAIProcess":
        import subprocess
        import sys
        from pathlib import Path

        code = ("import sys, time; sys.path.insert(0, %r); from tests.fake_openai import FakeOpenAI; "
                "s = FakeOpenAI(delay=%r, delays=%r).start(); print(s.base_url, flush=True); time.sleep(3600)") % (
                    str(Path(__file__).resolve().parents[1]), self.delay, self.delays)
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
