"""llama.cpp's thread count on a quiet and on a busy machine (issue 24 item 4).

SmolLM2-135M labels short reviews through `tierwise run` (the real in-process path), with the
threads fixed at every usable core (what Tierwise did before), fixed at one, and left to the
default (models/_threads.py: the usable CPUs less those others keep busy, then a governor that
keeps the faster of that count and one thread). Each setting runs on the machine as it is and
with HOGS CPU-bound processes beside it. Per row: cases a second, CPU seconds per case of this
process, and the threads the run ended on. Goal: with one core busy the default loses at most
half its quiet speed (before: 16x slower on a 2-core machine).

    python benchmarks/threads.py [--cases 60] [--hogs 1]   (needs pip install 'tierwise[local]')
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_price_under_load import NEG, POS  # noqa: E402 - the same reviews

import yaml  # noqa: E402


def project(root: Path, cases: int, threads: int | None) -> None:
    import json

    (root / "evals").mkdir(parents=True, exist_ok=True)
    (root / "golden_sets").mkdir(exist_ok=True)
    texts = [(t, "positive") for t in POS] + [(t, "negative") for t in NEG]
    rows = [{"id": f"c{i}", "vars": {"text": f"{texts[i % len(texts)][0]} (#{i})"}, "expected": texts[i % len(texts)][1]}
            for i in range(cases)]
    (root / "golden_sets" / "sent.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "evals" / "sent.yaml").write_text(yaml.safe_dump({
        "task": "sent", "golden_set": "golden_sets/sent.jsonl",
        "prompt": {"system": "Is the review positive or negative? Answer with one word.", "user": "{{ text }}"},
        "output": {"choices": ["positive", "negative"]}, "params": {"temperature": 0, "max_tokens": 4},
        "graders": [{"type": "exact", "normalize": ["strip", "lower"]}], "threshold": 0.0,
        "candidates": ["smollm2"]}, sort_keys=False))
    config: dict = {"store": "sqlite:///.tierwise/results.db",
                    "models": {"smollm2": {"local": "smollm2-135m-instruct"}}}
    if threads is not None:
        config["local_threads"] = threads
    (root / "tierwise.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def measure(root: Path, hogs: int) -> tuple[float, float, int]:
    from harness import load_project, run
    from harness.models import _inprocess

    engines: list = []
    original = _inprocess.LocalModels.start

    def start(self):  # keep a handle on the run's engine to read its final thread count
        engines.append(self)
        return original(self)

    _inprocess.LocalModels.start = start
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        time.sleep(0.5)
        wall, cpu = time.perf_counter(), time.process_time()
        result = run(load_project(root), store=f"sqlite:///{root}/{time.monotonic_ns()}.db", no_cache=True,
                     progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        _inprocess.LocalModels.start = original
        for p in procs:
            p.kill()
            p.wait()
    gov = engines[0].governor if engines else None
    threads = gov.threads("smollm2") if gov is not None else engines[0].threads
    done = result.counts.written or 1
    return done / wall, cpu / done, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--hogs", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="seconds: 3 cases, the same code path")
    args = parser.parse_args()
    if args.smoke:
        args.cases = 3
    from harness.models._threads import usable_cpus

    cores = usable_cpus()
    print(f"SmolLM2-135M, {args.cases} cases, {cores} usable CPUs, load average {os.getloadavg()[0]:.1f} before")
    print("| threads | machine | cases/s | CPU s/case | threads at the end |")
    print("|---|---|---|---|---|")
    rows = {}
    for label, threads in ((f"{cores} (every core, before)", cores), ("1", 1), ("default (governor)", None)):
        for machine, hogs in (("quiet", 0), (f"{args.hogs} hog(s)", args.hogs)):
            with tempfile.TemporaryDirectory() as folder:
                root = Path(folder)
                project(root, args.cases, threads)
                rate, cpu, end = measure(root, hogs)
            rows[(label, machine)] = rate
            print(f"| {label} | {machine} | {rate:.2f} | {cpu:.3f} | {end} |")
    for label, threads in ((f"{cores} (every core, before)", cores), ("default (governor)", None)):
        quiet, busy = rows[(label, "quiet")], rows[(label, f"{args.hogs} hog(s)")]
        print(f"{label}: busy / quiet speed {busy / quiet:.2f}")


if __name__ == "__main__":
    main()
