"""Harness throughput against plain `litellm.acompletion`, in the same run: the calls' span and
the whole command.

Both drive the same OpenAI-compatible loopback server (its own process, fixed delay per answer)
with the same concurrency; the harness also renders, grades and commits every result to SQLite,
with its API calls in this process (--workers 1) and in two worker processes (--workers 2).

- span: `harness.run()` in this process with its imports done and the call workers' server warm,
  against the bare loop with LiteLLM imported: the calls, grading and storing alone.
- whole command: `tierwise run --workers N` as a fresh process (a fresh store each time),
  against a fresh `python` that imports LiteLLM and runs the bare loop: what a user waits for,
  start-up (imports, planning, starting the call workers) and the end (summary) included.

Prints calls/s, CPU ms per call (every process of the client side: the harness's workers and
their server included, reaped by this process as a subreaper on Linux), the ratio against the
bare loop (goal for workers=2 on 2 cores: >= 1.5, the whole command included), the load average
beside each whole-command round (the pairs run interleaved), and `tierwise --help` start time.

    python benchmarks/throughput.py [--cases 2000] [--concurrency 50] [--delay 0.05] [--workers 1,2]

Measured 2026-12-05 on 2 cores shared with other sessions (load average 3-8 throughout, so the
figures are those of a busy machine, not a quiet one; the pairs interleaved, 3 rounds, medians):

    --workers 2, 2,000 calls             before (main 1bf3af1)      after (workers start early)
    load average as measured             3.7                        3.5
    span: bare loop / harness, calls/s   156.4 / 136.2  (0.87x)     171.6 / 153.7  (0.90x)
    whole: bare loop / harness, calls/s  121.9 /  99.4  (0.82x)     122.3 / 102.1  (0.83x)
    whole command, harness               20.1 s, CPU 9.78 ms/call   19.6 s, CPU 9.55 ms/call

On a busy machine the second core is not there to be had, so the harness's workers lose to the
bare loop even in the span; the issue's 1.53x (span) and 1.15x (whole) are a quiet machine's.
The start-up itself, timed inside `tierwise run --workers 2` on 400 calls (interleaved, load
2.3-3.0, 3 runs each): first request 4.2-4.3 s after start before, 1.1-1.3 s after (the workers
receive it while the first of them still imports LiteLLM); last response to exit 0.6 s before,
0.3 s after (pandas and the statistics imported during the wait); whole command 9.1-9.6 s
before, 7.9-8.8 s after, CPU (user) 8.4-9.0 s before, 7.4-8.2 s after.

The lead that followed: LiteLLM computes a cost and builds a success-log payload for every
response, which Tierwise never reads (it prices each call itself from the tokens). The call
workers now skip both while no LiteLLM callback listens (models/_litellm.skip_unread_bookkeeping):
a worker's CPU per call fell from 4.4-5.2 ms to 3.0-3.3 ms (1,500-call loops against this server,
interleaved, load 3-4). The parent's writer builds its upserts once (not per batch) and its
redactor no longer decodes the environment per statement (writer CPU per row 0.60-0.75 ms ->
0.42-0.59 ms), and the summary's imports happen while the workers import LiteLLM.

Measured 2026-12-06, same shared 2-core machine (another session's llama.cpp beside it), main
0950981 (A) against wip/api-speed (B: 3d000e8 in the first session; a87b427, which adds the
chain's warm-up call below, in the second), interleaved A/B/A/B in each session, every round a
`--workers 2 --rounds 2` run (medians of its two rounds; load = at the ends of its whole rounds):

    --workers 2, 2,000 calls   load      span    whole   whole, harness    whole, bare loop
                                          ratio   ratio   calls/s  CPU ms   CPU ms per call
    session 1   A1             3.9-4.4   0.97x   0.84x   126.6    7.92     6.29
                B1             5.2-6.0   1.38x   1.69x   149.4    6.47     6.98
                A2             6.1-6.6   1.40x   1.17x   121.6    7.61     6.27
                B2             4.3-5.0   1.88x   1.73x   161.1    6.05     6.84
    session 2   A1             6.4-7.3   1.44x   1.26x   143.1    7.74     6.63
                B1             6.6-7.9   2.17x   1.51x   143.0    5.95     6.26
                A2             5.5-6.0   1.31x   1.11x   130.0    8.35     7.27
                B2             5.3-6.1   1.75x   1.38x   138.8    8.44     8.69

(The warm-up: the first worker of the chain makes one mock_response call before forking the
others, so LiteLLM's first-call set-up, 0.3 s of CPU, is done once, not in every worker.)

The bare loop's own speed moved 88-151 calls/s between rounds with the other session's load, so
single ratios swing (the harness's own whole-command rate moved less: 122-143 calls/s on main,
139-161 on the branch); CPU per call is the steadier figure (the whole command's fell by a fifth
in the first session and is now at or below the bare loop's). Over the eight rounds the whole
ratio was 0.84-1.26x on main and 1.38-1.73x on the branch (three of four >= 1.5x); a quiet
machine was not available to check the issue's >= 1.5x on one.

What the whole command (a87b427) still spends beyond the bare loop, timed from a server in the
measuring process (2 runs each, interleaved, load 4.5-6.1): the first request reaches the server
0.75-1.1 s later (the parent's start, 0.8 s, comes before the first worker can begin LiteLLM's
import), against 1.1-1.2 s less after the last one (0.53 s against 1.6-1.8 s: the bare loop's
interpreter exits with LiteLLM loaded; the workers leave without its exit work), so the
whole-command ratio is about the span's, less the fixed import both pay: with LiteLLM's 3-5 s
import in both, a span ratio of 1.75-2.2x gave 1.4-1.5x whole in session 2.

On a quiet machine (2026-12-06, 2 cores, nothing else running: load average 1.7 before, 2.0-2.5
with the benchmark itself; main at 2773067; `--workers 2 --rounds 3`, 2,000 calls, medians):

                                          calls/s   ratio  CPU ms/call
    span: plain litellm.acompletion         155.1   1.000         6.39
    span: tierwise run --workers 2          311.4   2.008         5.51
    whole: python, import litellm, loop     129.7   1.000         7.65
    whole: tierwise run --workers 2         207.6   1.601         7.05

The whole command is 1.60x the bare loop's calls per second (round by round 1.53-1.60x), start-up,
planning, grading, SQLite commits and the summary included, at less CPU per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")



def ServerProcess(delay: float):
    """The loopback server in its own process, as a real provider would be: the client's
    process then spends its CPU on the client alone (on 2 cores, one each)."""
    from tests.fake_openai import FakeOpenAIProcess

    return FakeOpenAIProcess(delay=delay)


def messages_for(i: int) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Answer yes or no."}, {"role": "user", "content": f"yes case {i}"}]


async def plain_litellm(base_url: str, n: int, concurrency: int) -> float:
    import litellm

    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            await litellm.acompletion(model="openai/fake-model", api_base=base_url, api_key="sk-bench",
                                      messages=messages_for(i), temperature=0, max_tokens=4, timeout=30,
                                      num_retries=0, max_retries=0)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1000


def cpu_s() -> float:
    """CPU seconds of this process and of its finished (joined) children: the harness's workers."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def harness_run(base_url: str, n: int, concurrency: int, workers: int) -> tuple[float, float]:
    from harness import load_project, run

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root, base_url, n, concurrency)
        os.environ["BENCH_KEY"] = "sk-bench"
        project = load_project(root)
        started, cpu = time.perf_counter(), cpu_s()
        result = run(project, progress=False, argv=["bench"], workers=workers)
        elapsed = time.perf_counter() - started
        assert result.counts.called == n and result.counts.errors == 0, result.counts
        assert result.counts.written == n and result.summary.loc[0, "n"] == n, "every result graded and stored"
        return n / elapsed, (cpu_s() - cpu) / n * 1000


# The bare loop as a whole command: a fresh interpreter that imports LiteLLM and makes the calls.
BARE_COMMAND = """
import asyncio, os, sys
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm
base_url, n, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

async def main():
    limit = asyncio.Semaphore(concurrency)

    async def one(i):
        async with limit:
            await litellm.acompletion(model="openai/fake-model", api_base=base_url, api_key="sk-bench",
                messages=[{"role": "system", "content": "Answer yes or no."},
                          {"role": "user", "content": f"yes case {i}"}],
                temperature=0, max_tokens=4, timeout=30, num_retries=0, max_retries=0)

    await asyncio.gather(*(one(i) for i in range(n)))

asyncio.run(main())
"""


def become_subreaper() -> None:
    """On Linux, adopt this process's orphaned descendants (PR_SET_CHILD_SUBREAPER): the call
    workers' server outlives the command by a moment, and its CPU (the workers' included) only
    reaches RUSAGE_CHILDREN once this process reaps it."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def reap_orphans(keep: set[int], timeout: float = 30.0) -> None:
    """Wait for this process's children other than `keep` (the adopted orphans) to exit."""
    if not sys.platform.startswith("linux"):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in keep:
                try:
                    if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == os.getpid():
                        mine.add(int(entry.name))
                except (OSError, ValueError, IndexError):
                    continue
        if not mine:
            return
        for pid in mine:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.05)


def whole_command(cmd: list[str], env: dict[str, str], n: int, keep: set[int]) -> tuple[float, float, float]:
    """calls/s and CPU ms per call of one command, from its start to its exit, and the load average
    (1 min) as it ended."""
    cpu = cpu_s()
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    reap_orphans(keep)
    return n / elapsed, (cpu_s() - cpu) / n * 1000, os.getloadavg()[0]


def write_project(root: Path, base_url: str, n: int, concurrency: int) -> None:
    (root / "evals").mkdir(parents=True)
    (root / "golden_sets").mkdir()
    (root / "tierwise.yaml").write_text(json.dumps({
        "concurrency": concurrency,
        "models": {"fake": {"litellm": "openai/fake-model", "api_base": base_url, "api_key_env": "BENCH_KEY",
                            "price": {"input_per_mtok": 1, "output_per_mtok": 2}}}}))
    (root / "evals" / "bench.yaml").write_text(json.dumps({
        "task": "bench", "golden_set": "golden_sets/bench.jsonl",
        "prompt": {"system": "Answer yes or no.", "user": "yes case {{ i }}"},
        "params": {"temperature": 0, "max_tokens": 4},
        "graders": [{"type": "exact", "normalize": ["strip", "lower"]}],
        "threshold": 0.9, "candidates": ["fake"]}))
    (root / "golden_sets" / "bench.jsonl").write_text(
        "".join(json.dumps({"id": f"c{i}", "vars": {"i": i}, "expected": "yes"}) + "\n" for i in range(n)))


def help_start_time(repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "harness.cli", "--help"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--workers", default="1,2", help="comma-separated --workers values for the harness")
    parser.add_argument("--rounds", type=int, default=3, help="alternating plain/harness rounds; medians reported")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    warm, helps = 50, 5
    if args.smoke:
        args.cases, args.rounds, args.workers, args.delay, warm, helps = 20, 1, "1", 0.0, 5, 1
    import pandas  # noqa: F401

    import harness.runner  # noqa: F401 - warm-up: one-off imports (pandas, SQLAlchemy) are not throughput

    counts = [int(w) for w in args.workers.split(",")]
    plain: list[tuple[float, float]] = []
    ours: dict[int, list[tuple[float, float]]] = {w: [] for w in counts}
    whole_plain: list[tuple[float, float, float]] = []
    whole: dict[int, list[tuple[float, float, float]]] = {w: [] for w in counts}
    # The harness's worker processes import it from this checkout, as this process does.
    env = {**os.environ, "BENCH_KEY": "sk-bench", "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]
    become_subreaper()
    with ServerProcess(args.delay) as server, tempfile.TemporaryDirectory() as tmp:
        keep = {server.proc.pid}
        asyncio.run(plain_litellm(server.base_url, warm, args.concurrency))  # warm-up: litellm import, pool
        for w in counts:  # warm-up: the call workers' server (LiteLLM imported in it) is running from here on
            harness_run(server.base_url, warm, args.concurrency, w)
        for _ in range(args.rounds):  # alternate, so drift on a shared machine hits each alike
            plain.append(asyncio.run(plain_litellm(server.base_url, args.cases, args.concurrency)))
            for w in counts:
                ours[w].append(harness_run(server.base_url, args.cases, args.concurrency, w))
        project = Path(tmp) / "project"
        write_project(project, server.base_url, args.cases, args.concurrency)
        for _ in range(args.rounds):
            whole_plain.append(whole_command([sys.executable, "-c", BARE_COMMAND, server.base_url, str(args.cases),
                                              str(args.concurrency)], env, args.cases, keep))
            for w in counts:
                shutil.rmtree(project / ".tierwise", ignore_errors=True)  # a fresh store: every call made
                whole[w].append(whole_command([sys.executable, "-m", "harness.cli", "run", "--quiet", "--workers", str(w),
                                               "--project", str(project)], env, args.cases, keep))
    load = os.getloadavg()
    print(f"cases {args.cases} x {args.rounds} rounds, concurrency {args.concurrency}, loopback server (own process) "
          f"delay {args.delay * 1000:.0f} ms; {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f}")
    print(f"{'':40}{'calls/s':>9} {'ratio':>7} {'CPU ms/call':>12}   rounds (calls/s)")
    print_rows("span: ", plain, ours, "plain litellm.acompletion")
    print_rows("whole: ", whole_plain, whole, "python, import litellm, loop")
    print("ratio: harness calls/s over the bare loop's, medians of the same run (goal: >= 1.5 with 2 workers on "
          "2 cores, the whole command included); harness rows plan, call, grade, commit every result to SQLite "
          "and summarise; whole-command rounds show the load average (1 min) as each ended")
    print(f"`tierwise --help` start:   {help_start_time(helps):8.3f} s (median of {helps})")


def print_rows(kind: str, plain: list[tuple], ours: dict[int, list[tuple]], label: str) -> None:
    base, base_cpu = statistics.median(r[0] for r in plain), statistics.median(r[1] for r in plain)

    def rounds(rows: list[tuple]) -> str:
        return ", ".join(f"{r[0]:.1f}" + (f" (load {r[2]:.1f})" if len(r) > 2 else "") for r in rows)

    print(f"{kind + label:40}{base:9.1f} {1:7.3f} {base_cpu:12.2f}   {rounds(plain)}")
    for w, rows in ours.items():
        rate, cpu = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        print(f"{kind + f'tierwise run --workers {w}':40}{rate:9.1f} {rate / base:7.3f} {cpu:12.2f}   {rounds(rows)}")


if __name__ == "__main__":
    main()
