"""Latency that is the model's: each HTTP exchange timed on a thread of its own.

A run keeps many calls in flight on one event loop, and LiteLLM spends milliseconds of CPU on
each call before and after its HTTP exchange. Timed on that loop, a call's latency includes
every other call's share of the loop: with several models at once a 20 ms answer was recorded
as 848 ms, and a 150 ms model looked faster than a 20 ms one.

So the exchange itself (request sent to response body read) runs on the "wire" thread, whose
event loop does nothing else, through LiteLLM's own default transport; its duration is the
recorded latency. The busy loop then only delays when a result is *noticed*, not what it
measured. The wire thread still waits for the GIL after a response arrives (at most the
interpreter's switch interval, 5 ms by default; runs set 1 ms, see `fine_switching`).

LiteLLM reaches the wire through `litellm.aclient_session`, the httpx client its OpenAI-
compatible providers use. Providers that build their own clients, and local models, are timed
otherwise (local models: the generation itself; else the wall clock around the call).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any, Iterator

# The exchanges of the call in progress, in milliseconds (one per HTTP attempt).
_CURRENT: ContextVar[list[float] | None] = ContextVar("tierwise_exchange_ms", default=None)


def start_timing() -> list[float]:
    """Collect the exchange times of the call made from here on (in this task's context)."""
    timings: list[float] = []
    _CURRENT.set(timings)
    return timings


def record(ms: float) -> None:
    """Record one exchange (or one local generation) of the call in progress, if any."""
    timings = _CURRENT.get()
    if timings is not None:
        timings.append(ms)


@contextlib.contextmanager
def fine_switching(interval_s: float = 0.001) -> Iterator[None]:
    """A shorter GIL switch interval while a run is calling models: the wire thread then waits
    at most this long for the GIL after a response arrives, instead of 5 ms."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, interval_s))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class _Wire:
    """A daemon thread running an event loop that only moves bytes."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.transport: Any = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), name="tierwise-wire", daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    async def exchange(self, request: Any) -> tuple[Any, bytes, float]:
        if self.transport is None:  # made on this loop: its connection pool belongs to it
            self.transport = _litellm_transport()
        started = time.perf_counter()
        response = await self.transport.handle_async_request(request)
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return response, raw, (time.perf_counter() - started) * 1000


_WIRES: dict[int, _Wire] = {}  # by process id: a forked worker starts its own
_WIRES_LOCK = threading.Lock()


def _after_fork() -> None:
    global _WIRES_LOCK
    _WIRES_LOCK = threading.Lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):  # not on Windows, where workers are spawned
    os.register_at_fork(after_in_child=_after_fork)


def _wire() -> _Wire:
    pid = os.getpid()
    wire = _WIRES.get(pid)
    if wire is None:
        with _WIRES_LOCK:
            wire = _WIRES.get(pid)
            if wire is None:
                _WIRES.clear()
                wire = _WIRES[pid] = _Wire()
    return wire


def _litellm_transport() -> Any:
    """The transport LiteLLM would use itself (aiohttp by default), with its SSL settings."""
    import ssl

    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler, get_ssl_configuration

    ssl_config = get_ssl_configuration()
    return AsyncHTTPHandler.create_async_transport(
        ssl_context=ssl_config if isinstance(ssl_config, ssl.SSLContext) else None,
        ssl_verify=ssl_config if isinstance(ssl_config, bool) else None)


def timed_client() -> Any:
    """An httpx.AsyncClient whose exchanges run and are timed on the wire thread."""
    import httpx

    class WireTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if not isinstance(request.stream, httpx.ByteStream):
                await request.aread()  # a body from an async iterator cannot cross threads lazily
            wire = _wire()
            future = asyncio.run_coroutine_threadsafe(wire.exchange(request), wire.loop)
            response, raw, ms = await asyncio.wrap_future(future)
            record(ms)
            return httpx.Response(response.status_code, headers=response.headers.raw, stream=httpx.ByteStream(raw),
                                  extensions={k: v for k, v in response.extensions.items() if k != "network_stream"},
                                  request=request)

    return httpx.AsyncClient(transport=WireTransport(), follow_redirects=True, timeout=None)
