"""A fully cached re-run, `recommend` and `report` on a store of 30,000 results.

A project of 5 tasks x 4 python: candidates x 1,500 cases. The store is filled straight
through Store.write_results with rows keyed by the real planner and graded by the tasks' own
graders, so `tierwise run` finds every result stored and valid and calls nothing. Each command
then runs as a user runs it, in a fresh process (imports included); the median wall and CPU
times of --repeat runs are printed, with the load average beside them. With --before TREE (a folder holding
an older `harness/`, e.g. `git archive <commit> harness | tar -x -C TREE`) the same commands run
with that version too, on a copy of the same store.

    python benchmarks/cached_rerun.py [--tasks 5] [--models 4] [--cases 1500] [--repeat 3]
                                      [--before TREE] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("billing", "technical", "account")
WORDS = "invoice refund login password crash sync export api timeout charge plan upgrade card tax".split()
COMMANDS = {  # name -> arguments after `tierwise`
    "run (all stored)": ["run", "--quiet"],
    "recommend": ["recommend"],
    "report": ["report", "--out", "reports"],
}


def write_project(root: Path, tasks: int, models: int, cases: int) -> None:
    (root / "evals").mkdir(parents=True)
    (root / "golden_sets").mkdir()
    (root / "rules.py").write_text("def label(vars):\n    return vars['hint']\n")
    catalog = {f"rule-{i}": {"python": "rules:label", "price": {"per_call": 0.0001 * i}} for i in range(models)}
    (root / "tierwise.yaml").write_text(json.dumps({"store": "sqlite:///.tierwise/results.db", "models": catalog}))
    rng = random.Random(7)
    for t in range(tasks):
        name = f"task_{t}"
        with (root / "golden_sets" / f"{name}.jsonl").open("w") as f:
            for i in range(cases):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40)))
                expected = rng.choice(LABELS)
                f.write(json.dumps({"id": f"c{i:05d}", "vars": {"ticket": text, "hint": expected},
                                    "expected": expected, "tags": [rng.choice(["easy", "hard"])]}) + "\n")
        (root / "evals" / f"{name}.yaml").write_text(json.dumps({
            "task": name, "golden_set": f"golden_sets/{name}.jsonl",
            "prompt": {"system": "Route the ticket: billing, technical or account.", "user": "{{ ticket }}"},
            "output": {"choices": list(LABELS)}, "params": {"temperature": 0, "max_tokens": 4},
            "graders": [{"type": "choice"}], "threshold": 0.8, "candidates": list(catalog)}))


def fill_store(root: Path) -> int:
    """One stored, graded result per planned call, as a finished run would leave them."""
    sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)).split(os.pathsep)[0])
    from harness.graders import combine
    from harness.project import load_project
    from harness.runner import candidates_for, plan_run
    from harness.store import ResultRow, Store

    project = load_project(root)
    tasks = project.select(None)
    plan = plan_run(tasks, candidates_for(project, tasks, check_keys=False))
    db = Store(project.store_url())
    run_id = db.start_run(tierwise_version="bench", litellm_version="-", price_map_version="-", argv="bench",
                          info={"tasks": [t.name for t in tasks]})
    rng = random.Random(11)
    accuracy = {name: 0.75 + 0.05 * i for i, name in enumerate(sorted({it.cand.name for it in plan.items}))}
    rows = []
    for it in plan.items:
        right = rng.random() < accuracy[it.cand.name]
        output = it.case.expected if right else rng.choice([x for x in LABELS if x != it.case.expected])
        records = [g.grade(output, it.case) for g in it.task.graders]
        combined = combine(it.task.graders, records)
        grades = [{"grader": g.name, "options": g.options, "weight": g.weight, "score": r.score, "passed": r.passed,
                   "reason": r.reason} for g, r in zip(it.task.graders, records)]
        rows.append(ResultRow(
            run_id=run_id, task=it.task.name, model=it.cand.name, case_id=it.case.id, call_key=it.call_key,
            spec_hash=it.spec_hash, golden_hash=it.task.golden.sha256, case_hash=it.fingerprint[1],
            grader_hash=it.fingerprint[2], messages=it.messages, params=it.stored_params, output=output,
            error=None, error_type=None, finish_reason="stop", prompt_tokens=None, completion_tokens=None,
            cost=it.cand.entry.price.per_call, latency_ms=rng.expovariate(1 / 0.05), attempts=1, cached=False,
            score=combined.score, passed=combined.passed, grades=grades))
    written = db.write_results(rows)
    db.finish_run(run_id, "finished")
    db.close()
    return written


def timed(tree: Path, root: Path, args: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system: less moved by other work on the machine) of one command."""
    env = {**os.environ, "PYTHONPATH": str(tree), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=root, env=env, capture_output=True,
                         text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode not in (0, 1):
        raise SystemExit(f"tierwise {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=5)
    ap.add_argument("--models", type=int, default=4)
    ap.add_argument("--cases", type=int, default=1500)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each command; the median is shown")
    ap.add_argument("--before", type=Path, help="folder with an older harness/ to compare against")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tierwise-cached-rerun"))
    ap.add_argument("--_fill", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = ap.parse_args()
    if args._fill:
        print(fill_store(args._fill))
        return
    if args.smoke:
        args.tasks, args.models, args.cases, args.repeat = 1, 2, 20, 1

    shutil.rmtree(args.work, ignore_errors=True)
    data = args.work / "data"
    write_project(data, args.tasks, args.models, args.cases)
    first = args.before.resolve() if args.before else ROOT
    start = time.perf_counter()
    filled = subprocess.run([sys.executable, __file__, "--_fill", str(data)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(first)})
    if filled.returncode:
        raise SystemExit(filled.stderr[-3000:])
    print(f"store: {int(filled.stdout):,} results ({args.tasks} tasks x {args.models} models x {args.cases:,} cases) "
          f"written in {time.perf_counter() - start:.1f} s")
    versions = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    table = []
    for label, tree in versions:
        root = args.work / label
        shutil.copytree(data, root)  # each version reads the same bytes
        for name, command in COMMANDS.items():
            walls, cpus = [], []
            for _ in range(args.repeat):
                seconds, cpu, out = timed(tree, root, command)
                walls.append(seconds)
                cpus.append(cpu)
            if name.startswith("run") and " 0 called, 0 from cache" not in out:
                raise SystemExit(f"the re-run was not fully cached:\n{out[-2000:]}")
            load = os.getloadavg()[0]
            table.append((label, name, statistics.median(walls), min(walls), statistics.median(cpus), load))
    print("\n| version | command | median wall s | min wall s | median CPU s | load (1 min) |\n"
          "|---|---|---:|---:|---:|---:|")
    for label, name, median, best, cpu, load in table:
        print(f"| {label} | tierwise {name} | {median:.2f} | {best:.2f} | {cpu:.2f} | {load:.2f} |")


if __name__ == "__main__":
    main()
