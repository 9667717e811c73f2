"""What a local model loaded for log-probabilities costs the calls that do not ask for them.

llama.cpp returns log-probabilities only from a model loaded with `logits_all` (every prompt
position's logits kept: a projection onto the whole vocabulary per prompt token, 152k tokens for
Qwen). A confidence stage of a cascade needs them; until 2026-12-06 the engine then kept that one
instance for every later call of the model, so the example's Qwen 0.5B paid for them on every
title, contact and date call after the sentiment cascade's. Now such calls get an instance of
their own (harness/models/_inprocess.py).

This times the same plain calls (the example's own prompts of a generation task, temperature 0)
on the model loaded both ways, each side in a fresh process (see local_path.py on why), and
prints cases/s and CPU seconds per case for each and their ratio, and whether the answers match.

Measured 2026-12-06 on 2 cores, nothing else running, Qwen 0.5B, 2 threads: relevance (long
prompts, one-word answers) 30 cases, logits_all 1.20x the wall time and 1.19x the CPU; contact
extraction (JSON answers) 20 cases, 1.14x and 1.13x; same answers on every case.

    python benchmarks/logits_all.py [--model qwen2.5-coder-0.5b-instruct] [--task title_generation] [--cases 30]
    python benchmarks/logits_all.py --smoke     # SmolLM2 on 3 prompts: the same code, seconds
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _side(model: str, task: str, cases: int, logits_all: bool, threads: int) -> dict:
    import llama_cpp

    from harness import load_project
    from harness.models._local import weights_path

    spec = load_project(ROOT).tasks[task]
    messages = [spec.render("", case.vars) for case in spec.golden.cases[:cases]]  # the task's default prompt
    params = {k: v for k, v in spec.spec.params.model_dump().items()
              if k in ("temperature", "max_tokens", "stop") and v is not None}
    llama = llama_cpp.Llama(model_path=str(weights_path(model)), n_ctx=2048, n_threads=threads,
                            n_threads_batch=threads, verbose=False, logits_all=logits_all)
    llama.create_chat_completion(messages=[{"role": "user", "content": "hi"}], max_tokens=1)  # warm
    cpu0, wall0 = time.process_time(), time.perf_counter()
    answers = [llama.create_chat_completion(messages=m, **params)["choices"][0]["message"]["content"] for m in messages]
    return {"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0, "answers": answers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b-instruct", help="a bundled `local:` name")
    ap.add_argument("--task", default="title_generation", help="an example task whose prompts to use")
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None, help="default: the engine's own default")
    ap.add_argument("--smoke", action="store_true", help="SmolLM2 on 3 prompts")
    ap.add_argument("--_side", choices=["plain", "logits_all"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.smoke:
        args.model, args.cases = "smollm2-135m-instruct", 3
    if args.threads is None:
        from harness.models._threads import default_threads

        args.threads = default_threads()
    if args._side:
        print(json.dumps(_side(args.model, args.task, args.cases, args._side == "logits_all", args.threads)))
        return
    got = {}
    for side in ("plain", "logits_all"):
        done = subprocess.run([sys.executable, __file__, "--model", args.model, "--task", args.task,
                               "--cases", str(args.cases), "--threads", str(args.threads), "--_side", side],
                              capture_output=True, text=True, check=True)
        got[side] = json.loads(done.stdout.strip().splitlines()[-1])
    n = args.cases
    print(f"{args.model}, {n} {args.task} prompts, plain calls, {args.threads} threads, each side in a fresh process")
    print("| model loaded | cases/s | CPU s per case |")
    print("|---|---|---|")
    for side in ("plain", "logits_all"):
        g = got[side]
        print(f"| {side} | {n / g['wall']:.2f} | {g['cpu'] / n:.3f} |")
    p, la = got["plain"], got["logits_all"]
    same = sum(a == b for a, b in zip(p["answers"], la["answers"]))
    print(f"logits_all costs these calls {la['wall'] / p['wall']:.2f}x the wall time, {la['cpu'] / p['cpu']:.2f}x the CPU; "
          f"same answers on {same} of {n}")


if __name__ == "__main__":
    main()
