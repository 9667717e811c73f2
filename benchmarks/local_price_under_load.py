"""A local model's price with and without CPU-bound processes beside its calls (issue 29).

Two bundled local models (SmolLM2-135M, Gemma 3 270M) label 20 short reviews, each run on its
own; in the "busy" scenario HOGS CPU-bound processes run beside SmolLM2's calls only (the larger
model's calls run as the machine is), the way two evaluations on a shared machine meet different
loads. Per model and scenario it prints three prices per 1,000 calls at $1/hour: on the calls'
wall time (what Tierwise charged before), on the process's CPU time over the engine's threads
(the alternative tried first), and on the tokens at the model's rate (models/_pricing.py, what
the stored cost now is), and which model each basis calls cheaper. Goal: the token price and
the cheapest do not move.

    python benchmarks/local_price_under_load.py [--hogs 4]     (needs pip install 'tierwise[local]')

Measured on the shared 2-core machine (load average about 12 before any hog), 4 hogs, $/1,000:

    as it is       smollm2  wall 0.7319  cpu 0.1889  tokens 0.0147   gemma3  wall 1.8031  cpu 0.3580  tokens 0.0653
    4 hogs         smollm2  wall 6.7504  cpu 0.4851  tokens 0.0147   gemma3  wall 0.9841  cpu 0.2486  tokens 0.0653

SmolLM2's wall price rose 9x and its CPU-time price 2.6x (12x and 3.7x in an earlier run), and
both bases then called Gemma (2.6x the weights) cheaper; the token price did not move.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

POS = ["I love it", "Works perfectly", "Great value for money", "Best purchase this year", "Fantastic service",
       "Very happy with it", "Excellent quality", "Would buy again", "Superb, fast delivery", "Really nice design"]
NEG = ["Broke on day one", "Awful support", "Waste of money", "Never again", "Terrible quality",
       "Arrived damaged", "Very disappointed", "It stopped working", "Poor battery life", "Refund please"]
MODELS = {"smollm2": "smollm2-135m-instruct", "gemma3": "gemma3-270m"}
THREADS = 2


def project(root: Path, per_label: int | None = None) -> None:
    (root / "evals").mkdir(parents=True, exist_ok=True)
    (root / "golden_sets").mkdir(exist_ok=True)
    cases = [{"id": f"p{i}", "vars": {"text": t}, "expected": "positive"} for i, t in enumerate(POS[:per_label])] + \
            [{"id": f"n{i}", "vars": {"text": t}, "expected": "negative"} for i, t in enumerate(NEG[:per_label])]
    (root / "golden_sets" / "sent.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (root / "evals" / "sent.yaml").write_text(yaml.safe_dump({
        "task": "sent", "golden_set": "golden_sets/sent.jsonl",
        "prompt": {"system": "Is the review positive or negative? Answer with one word.", "user": "{{ text }}"},
        "output": {"choices": ["positive", "negative"]}, "params": {"temperature": 0, "max_tokens": 4},
        "graders": [{"type": "exact", "normalize": ["strip", "lower"]}], "threshold": 0.0,
        "candidates": list(MODELS)}, sort_keys=False))
    (root / "tierwise.yaml").write_text(yaml.safe_dump({
        "store": "sqlite:///.tierwise/results.db", "local_threads": THREADS,
        "models": {name: {"local": local, "price": {"per_hour": 1.0}} for name, local in MODELS.items()}},
        sort_keys=False))


def scenario(root: Path, store: str, busy: set[str], hogs: int) -> dict[str, dict[str, float]]:
    from harness import load_project, run
    from harness.runner import results

    out = {}
    for model in MODELS:
        procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                 for _ in range(hogs if model in busy else 0)]
        time.sleep(0.3)
        try:
            cpu = time.process_time()
            result = run(load_project(root), models=[model], store=store, no_cache=True, progress=False)
            cpu = time.process_time() - cpu
        finally:
            for p in procs:
                p.kill()
                p.wait()
        frame = results(load_project(root), store=store)
        rows = frame[(frame["model"] == model) & (frame["run_id"] == result.run_id)]
        per_1k = 1000 / 3600  # $1/hour, per 1,000 calls
        out[model] = {"wall": rows["latency_ms"].mean() / 1000 * per_1k,
                      "cpu": cpu / THREADS / len(rows) * per_1k, "tokens": rows["cost"].mean() * 1000}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="seconds: 2 cases a label, 1 hog, the same code path")
    args = parser.parse_args()
    if args.smoke:
        args.hogs = 1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        project(root, 2 if args.smoke else None)
        for label, busy in (("as it is", set()), (f"{args.hogs} hogs beside smollm2", {"smollm2"})):
            prices = scenario(root, f"sqlite:///{root}/{len(label)}.db", busy, args.hogs)
            print(label)
            for model, p in prices.items():
                print(f"  {model:8s} wall ${p['wall']:.4f}   cpu ${p['cpu']:.4f}   "
                      f"tokens ${p['tokens']:.4f}  per 1,000 calls")
            cheapest = {basis: min(prices, key=lambda m: prices[m][basis]) for basis in ("wall", "cpu", "tokens")}
            print("  cheapest by " + ", ".join(f"{basis}: {m}" for basis, m in cheapest.items()))


if __name__ == "__main__":
    main()
