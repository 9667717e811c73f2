"""Harness throughput against plain `litellm.acompletion`, in the same run.

Both drive the same OpenAI-compatible loopback server (its own process, fixed delay per answer)
with the same concurrency; the harness also renders, grades and commits every result to SQLite,
with its API calls in this process (--workers 1) and in two worker processes (--workers 2).
Prints calls/s, CPU ms per call (every process of the client side: the harness's workers
included) and the ratio against the bare loop (goal for workers=2 on 2 cores: >= 1.5), and
`tierwise --help` start time.

    python benchmarks/throughput.py [--cases 2000] [--concurrency 50] [--delay 0.05] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
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
        (root / "evals").mkdir()
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
        os.environ["BENCH_KEY"] = "sk-bench"
        project = load_project(root)
        started, cpu = time.perf_counter(), cpu_s()
        result = run(project, progress=False, argv=["bench"], workers=workers)
        elapsed = time.perf_counter() - started
        assert result.counts.called == n and result.counts.errors == 0, result.counts
        assert result.counts.written == n and result.summary.loc[0, "n"] == n, "every result graded and stored"
        return n / elapsed, (cpu_s() - cpu) / n * 1000


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
    with ServerProcess(args.delay) as server:
        asyncio.run(plain_litellm(server.base_url, warm, args.concurrency))  # warm-up: litellm import, pool
        for _ in range(args.rounds):  # alternate, so drift on a shared machine hits each alike
            plain.append(asyncio.run(plain_litellm(server.base_url, args.cases, args.concurrency)))
            for w in counts:
                ours[w].append(harness_run(server.base_url, args.cases, args.concurrency, w))
    load = os.getloadavg()
    base, base_cpu = statistics.median(r for r, _ in plain), statistics.median(c for _, c in plain)
    print(f"cases {args.cases} x {args.rounds} rounds, concurrency {args.concurrency}, loopback server (own process) "
          f"delay {args.delay * 1000:.0f} ms; {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f}")
    print(f"{'':28}{'calls/s':>9} {'ratio':>7} {'CPU ms/call':>12}   rounds (calls/s)")
    print(f"{'plain litellm.acompletion':28}{base:9.1f} {1:7.3f} {base_cpu:12.2f}   "
          f"{', '.join(f'{x:.1f}' for x, _ in plain)}")
    for w, rounds in ours.items():
        rate, cpu = statistics.median(r for r, _ in rounds), statistics.median(c for _, c in rounds)
        print(f"{f'tierwise run --workers {w}':28}{rate:9.1f} {rate / base:7.3f} {cpu:12.2f}   "
              f"{', '.join(f'{x:.1f}' for x, _ in rounds)}")
    print("ratio: harness calls/s over the bare loop's, medians of the same run (goal: >= 1.5 with 2 workers on "
          "2 cores); harness rows plan, call, grade, commit every result to SQLite and summarise")
    print(f"`tierwise --help` start:   {help_start_time(helps):8.3f} s (median of {helps})")


if __name__ == "__main__":
    main()
