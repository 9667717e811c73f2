"""API calls beyond one process: worker processes, each with its own event loop and LiteLLM client.

LiteLLM spends 4-16 ms of CPU on each call (by machine), so one process tops out at 60-200
calls/s however many calls are in flight. With workers, the parent keeps everything else as it
was (the plan, per-model concurrency, grading, judges, local models, the one writer that commits
each result) and hands each API call to the least busy worker; the worker makes it with the same
retries and timing (models/_calls.py) and sends the CallResult back.

Workers are forked on Linux, elsewhere spawned. A run that knows early it will make many API
calls forks them before this process imports LiteLLM (the runner's start_workers_early, after
planning): the first worker imports it (3-8 s) and forks the others from itself, while the parent
finishes its start and imports what its end needs; the parent never imports it for their calls.
(Each worker importing it for itself cost twice the CPU and, on a busy 2-core machine, more time
than it saved: a 400-call run took 11 s against 8 s.) A pool made when the calls are
about to start forks them after LiteLLM is imported here, so they start in milliseconds and share
its memory (spawned workers each import it themselves). They ignore Ctrl-C: the parent handles
it as ever (finished results are kept) and ends them. A worker that dies fails its calls in
flight as recorded errors, never the run.

Workers die with their parent, however it ends (SIGKILL included): a forked worker closes its
copies of the parent's socket ends (its own and earlier workers'), so the parent's death is EOF
on its socket; on Linux the kernel also sends it SIGKILL when the parent goes
(PR_SET_PDEATHSIG); and everywhere it checks once a second that its parent is still the one
that started it. A worker left behind would keep the store and the CLI's stdout/stderr open, so
a CI step reading that output would never end.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import struct
import sys
from dataclasses import dataclass, field
from typing import Any

from ..models import CallResult

_HEADER = struct.Struct("!I")
_PARENT_CHECK_S = 1.0  # how often a worker checks that its parent is alive
MIN_CALLS_PER_WORKER = 200  # below this, forking and start-up cost more than a second core gives


def default_workers(api_calls: int) -> int:
    """Workers for a run with this many API calls to make: one per core for many calls, else none."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, api_calls // MIN_CALLS_PER_WORKER))


def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


async def _read(reader: asyncio.StreamReader) -> Any:
    size, = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return pickle.loads(await reader.readexactly(size))


@dataclass
class _Worker:
    process: Any
    sock: socket.socket
    writer: asyncio.StreamWriter | None = None
    reader_task: asyncio.Task | None = None
    pending: dict[int, asyncio.Future] = field(default_factory=dict)
    lag: list[float] = field(default_factory=list)


def _quiet() -> None:
    """Spare this worker LiteLLM's costing and success logs, which nothing here reads: Tierwise
    prices each call itself in the parent (models/_pricing.py), so no figure changes."""
    from ..models import load_litellm, skip_unread_bookkeeping

    load_litellm()
    skip_unread_bookkeeping()


def _warm_up() -> None:
    """One call LiteLLM answers itself (`mock_response`: no request leaves the process), made by
    the first worker of a chain before it forks the others: the set-up LiteLLM does on a
    process's first call (lazy imports, model schemas: 0.3 s of CPU, the first real call then
    0.02 s) is done once for the chain, not once in each worker. Its event loop and the threads
    it used are gone before the fork."""
    from ..models import load_litellm

    try:
        asyncio.run(load_litellm().acompletion(model="openai/tierwise-warm-up", api_key="none", mock_response="ok",
                                               messages=[{"role": "user", "content": "ok"}]))
    except Exception:  # noqa: BLE001 - a speed-up only: the first real call does the set-up instead
        pass


class WorkerPool:
    """N worker processes making LiteLLM calls for the parent's event loop."""

    def __init__(self, n: int, import_here: bool = True):
        """`import_here`: import LiteLLM in this process first, for forked workers to inherit
        (they start at once); else each worker imports it while this process goes on."""
        import gc
        import multiprocessing

        from ..models import load_litellm

        if import_here:
            load_litellm()  # imported (and configured) once here, inherited by forked workers
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        gc.freeze()  # the objects made so far are shared: no collection in a worker copies their pages
        self.workers: list[_Worker] = []
        self._ids = 0
        forked = ctx.get_start_method() == "fork"
        if forked and not import_here:
            self._start_chain(ctx, n)
        for _ in range(n - len(self.workers)):
            mine, theirs = socket.socketpair()
            # A forked worker inherits these parent ends (a spawned one inherits none): it closes them.
            parents = [mine] + [w.sock for w in self.workers] if forked else []
            process = ctx.Process(target=_worker_main, args=(theirs, os.getpid(), parents),
                                  name="tierwise-call-worker", daemon=True)
            process.start()
            theirs.close()
            self.workers.append(_Worker(process, mine))
        gc.unfreeze()

    def _start_chain(self, ctx: Any, n: int) -> None:
        """One worker that imports LiteLLM once, then forks the other n - 1 from itself (its
        children: it waits for them before it exits, and they die with it)."""
        pairs = [socket.socketpair() for _ in range(n)]
        mine = [a for a, _ in pairs]
        theirs = [b for _, b in pairs]
        process = ctx.Process(target=_first_worker_main, args=(theirs, os.getpid(), mine),
                              name="tierwise-call-worker", daemon=True)
        process.start()
        for sock in theirs:
            sock.close()
        self.workers += [_Worker(process, mine[0])] + [_Worker(None, sock) for sock in mine[1:]]

    async def open(self) -> None:
        """Attach the workers to the running loop (call once, inside it)."""
        for w in self.workers:
            reader, w.writer = await asyncio.open_connection(sock=w.sock)
            w.reader_task = asyncio.get_running_loop().create_task(self._results(w, reader))

    async def call(self, kwargs: dict[str, Any], timeout_s: float, retries: int, backoff_s: float,
                   secret_label: str) -> CallResult:
        """One LiteLLM call with its retries, on the worker with the fewest calls in flight."""
        alive = [w for w in self.workers if w.writer is not None]
        if not alive:
            return CallResult(attempts=0, error="every call worker process has died", error_type="WorkerDied")
        w = min(alive, key=lambda w: len(w.pending))
        self._ids += 1
        job_id = self._ids
        future = asyncio.get_running_loop().create_future()
        w.pending[job_id] = future
        w.writer.write(_frame((job_id, (kwargs, timeout_s, retries, backoff_s, secret_label))))
        try:
            return await future
        finally:
            w.pending.pop(job_id, None)

    async def _results(self, w: _Worker, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                job_id, result = await _read(reader)
                if job_id is None:  # the worker's farewell: its loop's lag
                    w.lag = result
                    continue
                future = w.pending.get(job_id)
                if future is not None and not future.done():
                    future.set_result(result)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            w.writer = None
            code = w.process.exitcode if w.process is not None else "unknown"
            for future in w.pending.values():
                if not future.done():
                    future.set_result(CallResult(attempts=0, error=f"the call worker process died (exit code {code})",
                                                 error_type="WorkerDied"))

    async def aclose(self) -> None:
        """Ask every worker to finish (after its calls in flight) and collect its lag and CPU."""
        for w in self.workers:
            if w.writer is not None:
                w.writer.write(_frame((None, None)))
        for w in self.workers:
            if w.reader_task is not None:
                try:
                    await asyncio.wait_for(w.reader_task, 10)
                except asyncio.TimeoutError:
                    w.reader_task.cancel()

    @property
    def lag_samples(self) -> list[float]:
        return [s for w in self.workers for s in w.lag]

    def stop(self) -> None:
        """End the processes: those told to finish exit by themselves; the rest (an interrupted
        run's) are terminated, having nothing to save."""
        for w in self.workers:
            if w.process is not None:  # else a child of the first worker: it ends with it
                w.process.join(timeout=2 if w.reader_task is not None and w.reader_task.done() else 0)
                if w.process.is_alive():
                    w.process.terminate()
                w.process.join(timeout=5)
            w.sock.close()


def _worker_main(sock: socket.socket, parent: int, parent_ends: list[socket.socket]) -> None:
    for end in parent_ends:
        end.close()  # else this worker holds its own socket open and never sees the parent's EOF
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler (inherited): the parent ends us quietly
    _quiet()
    asyncio.run(_serve(sock, parent))


def _first_worker_main(socks: list[socket.socket], parent: int, parent_ends: list[socket.socket]) -> None:
    """The first worker of a chain: imports LiteLLM, forks a worker per other socket, serves the first."""
    for end in parent_ends:
        end.close()
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _quiet()  # LiteLLM imported once, for every worker of the chain
    _warm_up()
    me, children = os.getpid(), []
    for sock in socks[1:]:
        pid = os.fork()
        if pid == 0:
            try:
                _worker_main(sock, me, [s for s in socks if s is not sock])
            finally:
                os._exit(0)
        children.append(pid)
        sock.close()
    asyncio.run(_serve(socks[0], parent))
    for pid in children:  # they send their farewells, then exit: not killed by this one's end
        os.waitpid(pid, 0)


def _die_with(parent: int) -> None:
    """On Linux, ask the kernel for SIGKILL when the parent dies; if it already has, exit now."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            # PR_SET_PDEATHSIG (1) fires when the forking *thread* ends: the pool lives and is
            # stopped inside one run (runner._run, _runner.execute), on the thread that created it.
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the liveness check in _serve still ends us
    if os.getppid() != parent:
        os._exit(0)


async def _watch_parent(parent: int) -> None:
    """The portable fallback: exit once the parent is gone (this process is re-parented)."""
    while True:
        await asyncio.sleep(_PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)  # nothing to save: every result is the parent's to write


async def _serve(sock: socket.socket, parent: int) -> None:
    from ..models import call_litellm
    from ..util import register_secret
    from ._lag import LagMonitor

    reader, writer = await asyncio.open_connection(sock=sock)
    monitor = LagMonitor().start()
    running: set[asyncio.Task] = set()
    watch = asyncio.create_task(_watch_parent(parent))

    async def one(job_id: int, kwargs: dict, timeout_s: float, retries: int, backoff_s: float, label: str) -> None:
        register_secret(kwargs.get("api_key"), label)
        try:
            result = await call_litellm(kwargs, timeout_s, retries, backoff_s)
        except Exception as exc:  # noqa: BLE001 - the parent awaits an answer for every job
            result = CallResult(attempts=1, error=f"{type(exc).__name__} in the call worker: {exc}",
                                error_type=type(exc).__name__)
        writer.write(_frame((job_id, result)))

    while True:
        try:
            job_id, job = await _read(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the parent is gone: nobody waits for answers
        if job_id is None:
            break
        task = asyncio.create_task(one(job_id, *job))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.gather(*running, return_exceptions=True)
    watch.cancel()
    writer.write(_frame((None, monitor.stop())))
    await writer.drain()
    writer.close()
