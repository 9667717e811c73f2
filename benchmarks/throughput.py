"""Harness throughput against plain `litellm.acompletion`, in the same run.

Both drive the same OpenAI-compatible loopback server (fixed delay per answer) with the same
concurrency; the harness also renders, grades and commits every result to SQLite. Prints
calls/s for both and the ratio (goal: >= 0.9), and `tierwise --help` start time.

    python benchmarks/throughput.py [--cases 2000] [--concurrency 16] [--delay 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")



class ServerProcess:
    """The loopback server in its own process, as a real provider would be: the client's
    process then spends its CPU on the client alone (on 2 cores, one each)."""

    def __init__(self, delay: float):
        self.delay = delay

    def __enter__(self) -> "ServerProcess":
        code = ("import sys, time; sys.path.insert(0, %r); from tests.fake_openai import FakeOpenAI; "
                "s = FakeOpenAI(delay=%r).start(); print(s.base_url, flush=True); time.sleep(3600)") % (
                    str(ROOT), self.delay)
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


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


def harness_run(base_url: str, n: int, concurrency: int) -> float:
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
        started, cpu = time.perf_counter(), time.process_time()
        result = run(project, progress=False, argv=["bench"])
        elapsed = time.perf_counter() - started
        assert result.counts.called == n and result.counts.errors == 0, result.counts
        return n / elapsed, (time.process_time() - cpu) / n * 1000


def help_start_time(repeats: int = 5) -> float:
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
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--rounds", type=int, default=3, help="alternating plain/harness rounds; medians reported")
    args = parser.parse_args()
    import pandas  # noqa: F401

    import harness.runner  # noqa: F401 - warm-up: one-off imports (pandas, SQLAlchemy) are not throughput

    plain, ours = [], []
    with ServerProcess(args.delay) as server:
        asyncio.run(plain_litellm(server.base_url, 50, args.concurrency))  # warm-up: litellm import, pool
        for _ in range(args.rounds):  # alternate, so drift on a shared machine hits both alike
            plain.append(asyncio.run(plain_litellm(server.base_url, args.cases, args.concurrency)))
            ours.append(harness_run(server.base_url, args.cases, args.concurrency))
    base, mine = statistics.median(r for r, _ in plain), statistics.median(r for r, _ in ours)
    base_cpu, mine_cpu = statistics.median(c for _, c in plain), statistics.median(c for _, c in ours)
    print(f"cases {args.cases} x {args.rounds} rounds, concurrency {args.concurrency}, loopback server "
          f"(own process) delay "
          f"{args.delay * 1000:.0f} ms (ceiling {args.concurrency / args.delay:.0f} calls/s)")
    print(f"plain litellm.acompletion: {base:8.1f} calls/s, {base_cpu:.2f} ms CPU/call  "
          f"(rounds: {', '.join(f'{x:.1f}' for x, _ in plain)})")
    print(f"tierwise run (harness):    {mine:8.1f} calls/s, {mine_cpu:.2f} ms CPU/call  "
          f"(rounds: {', '.join(f'{x:.1f}' for x, _ in ours)}; plan, call, grade, commit to SQLite, summarise)")
    print(f"ratio harness / plain:     {mine / base:8.3f}  throughput, median over median (goal >= 0.9)")
    print(f"CPU ratio plain / harness: {base_cpu / mine_cpu:8.3f}  client CPU per call (less noisy on a shared machine)")
    print(f"`tierwise --help` start:   {help_start_time():8.3f} s (median of 5)")


if __name__ == "__main__":
    main()
