"""Call workers die with their parent: a SIGKILLed `tierwise run --workers 2` leaves no worker
holding the store or the CLI's output pipes (a CI step reading that output ends)."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI
from tests.projfix import cases, spec, write_project

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the workers")


def _descendants(pid: int) -> set[int]:
    """The process's children, theirs, and so on (the first call worker may fork the others)."""
    out, todo = set(), [pid]
    while todo:
        found = _children(todo.pop()) - out
        out |= found
        todo.extend(found)
    return out


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _reaches_eof(pipe, timeout: float) -> bool:
    """Whether the pipe ends within `timeout` seconds (read without blocking past it)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([pipe], [], [], left)
        if ready and not os.read(pipe.fileno(), 65536):
            return True
    return False


def test_sigkill_of_run_takes_its_call_workers_down_and_closes_its_output(tmp_path):
    with FakeOpenAI(delay=60) as server:  # a slow model: every call is still in flight when the run is killed
        models = {"slow": {"litellm": "openai/slow", "api_base": server.base_url, "api_key_env": "TW_FAKE_KEY"}}
        write_project(tmp_path, models=models, specs={"t": spec(candidates=["slow"])}, golden={"t": cases(8)})
        env = {**os.environ, "TW_FAKE_KEY": "sk-worker-death-test-123", "PYTHONPATH": str(Path(__file__).parents[2])}
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--project", str(tmp_path),
                                 "--workers", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        workers: set[int] = set()
        try:
            assert _wait(lambda: server.count >= 2, 60), "the workers never called the server"
            workers = _descendants(proc.pid)
            assert len(workers) >= 2, workers
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            assert _wait(lambda: not any(_alive(p) for p in workers), 5), \
                f"call workers outlived their killed parent: {[p for p in workers if _alive(p)]}"
            # Nothing holds the write end of the CLI's stdout or stderr any more: both reach EOF.
            assert _reaches_eof(proc.stdout, 5) and _reaches_eof(proc.stderr, 5)
        finally:
            for pid in workers | {proc.pid}:
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
            proc.stdout.close()
            proc.stderr.close()


def test_without_the_kernels_signal_a_worker_still_exits_once_its_parent_is_gone(tmp_path):
    # The portable fallback alone (no PR_SET_PDEATHSIG, no socket): a forked child watching its
    # parent, whose parent then exits.
    code = (
        "import asyncio, os, sys, time\n"
        "from harness.runner import _workers\n"
        "parent = os.getpid()\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    asyncio.run(_workers._watch_parent(parent))\n"
        "    time.sleep(60)\n"
        "    os._exit(3)\n"
        "print(child, flush=True)\n"
        "os._exit(0)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    child = int(proc.stdout.strip())
    try:
        assert _wait(lambda: not _alive(child), 5), "the orphaned worker kept running"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
