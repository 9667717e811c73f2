"""CPU per call of the runtime client against bare `litellm.acompletion`, in the same run.

Both call the same OpenAI-compatible loopback server, which runs in its own process so this
process's CPU time (time.process_time: every thread, including the ledger writer's SQLite
commits) is the caller's alone. The client also renders the task's template, checks the
output contract, prices the call and queues a ledger row. Rounds alternate (bare, client,
bare, client, ...) so drift in the shared machine hits both; the figure is the median over
rounds. Goal: at most about 1 ms of extra CPU per call.

    python benchmarks/client_overhead.py [--calls 400] [--rounds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from benchmarks.throughput import ServerProcess  # noqa: E402


def write_project(root: Path, base_url: str) -> None:
    (root / "evals").mkdir()
    (root / "golden_sets").mkdir()
    (root / "tierwise.yaml").write_text(json.dumps({
        "store": "sqlite:///.tierwise/results.db",
        "models": {"fake": {"litellm": "openai/fake-model", "api_base": base_url, "api_key_env": "BENCH_KEY",
                            "price": {"input_per_mtok": 1, "output_per_mtok": 2}}}}))
    (root / "evals" / "bench.yaml").write_text(json.dumps({
        "task": "bench", "golden_set": "golden_sets/bench.jsonl",
        "prompt": {"system": "Answer yes or no.", "user": "{{ text }}"},
        "output": {"choices": ["yes", "no"]}, "params": {"temperature": 0, "max_tokens": 4},
        "graders": [{"type": "choice"}], "threshold": 0.5, "candidates": ["fake"]}))
    (root / "golden_sets" / "bench.jsonl").write_text(json.dumps({"id": "a", "vars": {"text": "yes"},
                                                                  "expected": "yes"}) + "\n")
    (root / "registry.yaml").write_text("tasks:\n  bench: {model: openai/fake-model, fallbacks: [], max_tokens: 4, "
                                        "temperature: 0}\n")


async def bare(base_url: str, n: int, concurrency: int) -> float:
    import litellm

    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            await litellm.acompletion(model="openai/fake-model", api_base=base_url, api_key="sk-bench",
                                      messages=[{"role": "system", "content": "Answer yes or no."},
                                                {"role": "user", "content": f"yes case {i}"}],
                                      temperature=0, max_tokens=4, timeout=60, num_retries=0, max_retries=0)

    cpu = time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    return (time.process_time() - cpu) / n * 1000


async def client_calls(client, n: int, concurrency: int) -> float:
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with limit:
            reply = await client.acomplete("bench", text=f"yes case {i}", trace=f"t{i // 3}", step="s")
            assert reply.ok, reply.error

    cpu = time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    client.ledger.flush(30)  # the ledger's writes are part of the client's CPU
    return (time.process_time() - cpu) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    warm = 50
    if args.smoke:
        args.calls, args.rounds, warm = 10, 1, 5
    os.environ["BENCH_KEY"] = "sk-bench"

    from harness import Client

    with ServerProcess(delay=0.0) as server, tempfile.TemporaryDirectory() as tmp:
        write_project(Path(tmp), server.base_url)
        client = Client(tmp)

        async def rounds() -> tuple[list[float], list[float]]:
            await bare(server.base_url, warm, args.concurrency)  # warm both paths: imports, connections
            await client_calls(client, warm, args.concurrency)
            plain, ours = [], []
            for _ in range(args.rounds):
                plain.append(await bare(server.base_url, args.calls, args.concurrency))
                ours.append(await client_calls(client, args.calls, args.concurrency))
            return plain, ours

        plain, ours = asyncio.run(rounds())
        stats = client.ledger.stats()
        client.close()
    p, o = statistics.median(plain), statistics.median(ours)
    print(f"bare litellm.acompletion: {p:.2f} ms CPU per call (rounds: {', '.join(f'{x:.2f}' for x in plain)})")
    print(f"tierwise Client.acomplete: {o:.2f} ms CPU per call (rounds: {', '.join(f'{x:.2f}' for x in ours)})")
    print(f"client overhead: {o - p:+.2f} ms CPU per call ({(o - p) / p:+.0%}); goal <= ~1 ms")
    print(f"ledger: {stats.written} rows written, {stats.dropped} dropped")


if __name__ == "__main__":
    main()
