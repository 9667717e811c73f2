"""Compute time, the basis of a local model's price: CPU time of the generation, not wall time."""

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest

from harness.models._inprocess import LocalModels
from harness.models._timing import compute_clock, start_timing


def _burn(seconds: float) -> None:
    """Spend about `seconds` of CPU on this thread."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class _FakeLlama:
    """Spends 0.15 s of CPU, then waits 0.3 s as a generation descheduled by a busy machine would."""

    def create_chat_completion(self, messages, **params):
        _burn(0.15)
        time.sleep(0.3)
        return {"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}


def test_a_local_generation_records_its_cpu_time_beside_its_wall_time(monkeypatch):
    engine = LocalModels({"m": "x.gguf"}, threads=1)
    engine.paths = {"m": "x.gguf"}
    monkeypatch.setattr(engine, "_model", lambda alias: _FakeLlama())

    async def main():
        from concurrent.futures import ThreadPoolExecutor

        engine._executor = ThreadPoolExecutor(max_workers=1)
        exchanges, computes = start_timing()
        await engine.generate("m", [{"role": "user", "content": "hi"}], {})
        engine._executor.shutdown()
        return exchanges, computes

    exchanges, computes = asyncio.run(main())
    assert exchanges[0] >= 440  # the wall clock saw the wait
    assert 100 <= computes[0] <= 300  # the price sees only the work


def test_other_python_threads_do_not_count_as_the_calls_compute():
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    other = threading.Thread(target=spin)
    other.start()
    try:
        with compute_clock(threads=1) as clock:
            time.sleep(0.3)  # the process burns CPU meanwhile, on another thread
    finally:
        stop.set()
        other.join()
    assert clock["wall_ms"] >= 290
    assert clock["compute_ms"] < 60


def test_worker_threads_started_inside_the_call_are_counted_and_divided_by_the_thread_count():
    def work():
        workers = [threading.Thread(target=_burn, args=(0.1,)) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    with compute_clock(threads=2) as clock:
        work()
    assert 70 <= clock["compute_ms"] <= 200  # 0.2 s of CPU over 2 threads: 0.1 s of the machine


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_a_cpu_bound_process_beside_the_call_moves_its_wall_time_not_its_compute_time():
    """Both on one core: the competitor takes about half of it, so the wall time doubles while
    the CPU time of the same work stays where it was."""
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})
    try:
        with compute_clock(threads=1) as quiet:
            _burn(0.3)
        hog = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{core}}})\nwhile True: pass"])
        try:
            time.sleep(0.2)  # let it start spinning
            with compute_clock(threads=1) as busy:
                _burn(0.3)
        finally:
            hog.kill()
            hog.wait()
    finally:
        os.sched_setaffinity(0, before)
    assert busy["wall_ms"] > 1.4 * busy["compute_ms"]  # the competitor really competed
    assert abs(busy["compute_ms"] - quiet["compute_ms"]) < 0.25 * quiet["compute_ms"]
