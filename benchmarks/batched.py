"""Batched greedy decoding (`batch: N`, models/_batching.py) against one request at a time.

The in-process engine (LocalModels) answers the same title_generation inputs three ways in one
process, on the same worker thread and thread count: one request at a time (today's path), then
with batch 4 and batch 8 (all requests submitted at once, as a run with `batch: N` keeps N in
flight). Prints cases/s, CPU seconds per case (the process's user+system time over the cases;
with one thread that is about the wall time) and how many answers are identical to the
sequential ones.

    python benchmarks/batched.py [--model smollm2-135m-instruct] [--cases 40] [--threads 1]

Measured here (2 cores, 1 thread, 40 title_generation inputs repeated from the golden set's 50,
max_tokens 24, temperature 0), each model in its own process; the machine was busy with other
work (`uptime` load average given per run):

    (figures below)

Limits: one thread, because on this shared machine two threads collapse under the other load
(models/_threads.py); with a quiet machine and more threads the sequential side is faster and the
batched gain differs. Only greedy calls without a grammar are batched, so label tasks
(`output: {choices}`) are not measured here: they keep the sequential path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PARAMS = {"temperature": 0}


def inputs(task: str, n: int) -> tuple[list[list[dict]], int]:
    """n chat requests from one of the example's generation tasks, rendered with its spec's default
    prompt (golden cases repeated past the set's end), and the spec's max_tokens."""
    import jinja2
    import yaml

    spec = yaml.safe_load((ROOT / "evals" / f"{task}.yaml").read_text())
    lines = (ROOT / "golden_sets" / f"{task}.jsonl").read_text().splitlines()
    cases = [json.loads(line)["vars"] for line in lines]
    user = jinja2.Template(spec["prompt"]["user"])
    return ([[{"role": "system", "content": spec["prompt"]["system"]},
              {"role": "user", "content": user.render(**cases[i % len(cases)])}] for i in range(n)],
            int(spec["params"]["max_tokens"]))


async def _answer(engine, requests: list[list[dict]], batch: int) -> list[dict]:
    engine.batch["m"] = batch
    if batch == 1:  # today's path: one call after another
        return [await engine.generate("m", messages, PARAMS) for messages in requests]
    return list(await asyncio.gather(*(engine.generate("m", messages, PARAMS) for messages in requests)))


def measure(engine, requests: list[list[dict]], batch: int) -> tuple[float, float, list[dict]]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = asyncio.run(_answer(engine, requests, batch))
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--task", default="support_reply", choices=["support_reply", "title_generation"])
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="4,8")
    ap.add_argument("--smoke", action="store_true", help="4 cases, batch 2 and 4")
    args = ap.parse_args()
    if args.smoke:
        args.cases, args.batches = 4, "2,4"
    from harness.models._inprocess import LocalModels

    requests, PARAMS["max_tokens"] = inputs(args.task, args.cases)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.model}: {args.cases} {args.task} inputs, {args.threads} thread(s), "
          f"max_tokens {PARAMS['max_tokens']}, load average {load:.2f} at start")
    with LocalModels({"m": args.model}, threads=args.threads) as engine:
        asyncio.run(engine.generate("m", [{"role": "user", "content": "hi"}], {"max_tokens": 1}))  # load first
        wall, cpu, alone = measure(engine, requests, 1)
        print("| mode | cases/s | CPU s/case | identical to sequential | generated tokens |")
        print("|---|---:|---:|---:|---:|")
        tokens = sum(r["usage"]["completion_tokens"] for r in alone)
        print(f"| sequential | {args.cases / wall:.2f} | {cpu / args.cases:.3f} | - | {tokens} |")
        for size in (int(b) for b in args.batches.split(",")):
            wall_b, cpu_b, together = measure(engine, requests, size)
            same = sum(a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]
                       for a, b in zip(alone, together))
            tokens = sum(r["usage"]["completion_tokens"] for r in together)
            print(f"| batch {size} | {args.cases / wall_b:.2f} | {cpu_b / args.cases:.3f} | "
                  f"{same}/{args.cases} | {tokens} |")
            print(f"batch {size}: {wall / wall_b:.2f}x the sequential cases/s")


if __name__ == "__main__":
    main()
