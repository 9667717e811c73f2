"""Running user code (python: candidates, graders) with a deadline it cannot overstay.

The code runs in a worker thread; the event loop awaits it with a timeout. A call that
overruns is abandoned: its thread is a daemon that nothing ever joins, so neither the run
nor the process waits for it (asyncio.to_thread would: its executor's threads are joined
when the loop shuts down and again at interpreter exit, so a rule that never returns held
the process forever and a Ctrl-C needed a second press and printed a traceback).

Threads that finish in time go back to a small idle pool, so a call costs a queue hand-off
(tens of microseconds), not a thread start. An abandoned thread keeps running until its
code returns (Python cannot stop a thread); it holds no lock of ours and dies with the process.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Callable

_MAX_IDLE = 32
_IDLE: list["_Worker"] = []
_LOCK = threading.Lock()


class DeadlineExceeded(TimeoutError):
    """The code did not return within its deadline; it was abandoned."""


class UserExit(Exception):
    """User code raised SystemExit (or another BaseException that is not an Exception);
    carried as an ordinary error so it is recorded, never ending the run."""

    def __init__(self, original: BaseException):
        self.original = original
        detail = f"({original.code!r})" if isinstance(original, SystemExit) else ""
        super().__init__(f"raised {type(original).__name__}{detail}")


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.abandoned = False
        threading.Thread(target=self._loop, name="tierwise-worker", daemon=True).start()

    def _loop(self) -> None:
        while True:
            fn, deliver = self.jobs.get()
            try:
                outcome: tuple[bool, Any] = (True, fn())
            except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
                outcome = (False, exc)
            except BaseException as exc:  # noqa: BLE001 - SystemExit in user code must not end the run
                outcome = (False, UserExit(exc))
            deliver(outcome)
            del fn, deliver, outcome
            if self.abandoned:
                return
            with _LOCK:
                if len(_IDLE) >= _MAX_IDLE:
                    return
                _IDLE.append(self)


def _deliver(loop: asyncio.AbstractEventLoop, future: asyncio.Future, outcome: tuple[bool, Any]) -> None:
    def settle() -> None:
        if future.done():  # timed out or cancelled meanwhile
            return
        ok, value = outcome
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop has closed: nobody waits for this answer any more
        pass


async def run_with_deadline(fn: Callable[[], Any], timeout_s: float) -> Any:
    """fn() in a worker thread; its value, or its exception (SystemExit as UserExit), or
    DeadlineExceeded after timeout_s seconds, when the thread is abandoned."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    worker = _worker()
    worker.jobs.put((fn, lambda outcome: _deliver(loop, future, outcome)))
    try:
        return await asyncio.wait_for(future, timeout_s)
    except asyncio.TimeoutError:
        worker.abandoned = True
        raise DeadlineExceeded(f"timed out after {timeout_s:g} s") from None
    except asyncio.CancelledError:
        worker.abandoned = True  # interrupted: the thread may still be busy; never reuse it
        raise


def call_with_deadline(fn: Callable[[], Any], timeout_s: float) -> Any:
    """run_with_deadline for a caller without an event loop (the evaluation replaying a cascade's
    verifier on stored answers): the same worker, outcomes and abandonment."""
    done = threading.Event()
    box: list[tuple[bool, Any]] = []

    def deliver(outcome: tuple[bool, Any]) -> None:
        box.append(outcome)
        done.set()

    worker = _worker()
    worker.jobs.put((fn, deliver))
    if not done.wait(timeout_s):
        worker.abandoned = True
        raise DeadlineExceeded(f"timed out after {timeout_s:g} s")
    ok, value = box[0]
    if ok:
        return value
    raise value


def _worker() -> _Worker:
    with _LOCK:
        worker = _IDLE.pop() if _IDLE else None
    return worker if worker is not None else _Worker()
