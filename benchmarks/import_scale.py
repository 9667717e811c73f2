"""`tierwise import promptfoo` at scale: time and peak memory for 5k to 300k tests.

A suite of N tests is generated in a temporary folder: one prompt, two providers, a
defaultTest with an `icontains` check, and per test two variables and three checks whose
values differ from test to test (`equals`, `contains-any` with two values, `regex`... every
tenth test only, so some graders apply to some cases, the `expected_key` path). The tests are
in a CSV file (`--format csv`, promptfoo's usual format for many tests, `__expected1..3`
columns) or a JSONL file (`--format jsonl`).

Each size is imported in its own process (so peak memory is that import's alone): wall and
CPU time of `import_promptfoo` (CPU time is the figure to compare on a shared machine), peak
RSS (resource.getrusage) and, with --tracemalloc, the peak of Python allocations (tracemalloc
slows the import about 2x, so it is off by default).

    python benchmarks/import_scale.py [--sizes 5000,20000,100000,300000] [--format csv|jsonl]
                                      [--tracemalloc] [--harness DIR] [--timeout 600]

--harness DIR measures another checkout's package (DIR holds `harness/`), e.g. the commit
before a change: `git worktree add /tmp/before <commit>` then `--harness /tmp/before`.
A linear import shows a flat "CPU us/test" column.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_suite(folder: Path, n: int, fmt: str) -> Path:
    """A promptfoo suite of n tests in folder; returns its config path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompt.txt").write_text("Answer the question about {{ topic }}: {{ question }}\n")
    config = folder / "promptfooconfig.yaml"
    config.write_text(
        "description: scale\n"
        "prompts: [file://prompt.txt]\n"
        "providers: [openai:gpt-4.1-mini, anthropic:messages:claude-haiku-4-5]\n"
        "defaultTest:\n  assert:\n    - {type: icontains, value: the}\n"
        f"tests: file://tests.{fmt}\n")
    if fmt == "csv":
        with open(folder / "tests.csv", "w", encoding="utf-8") as fh:
            fh.write("topic,question,__expected1,__expected2,__expected3\n")
            for i in range(n):
                extra = f'"regex:^a{i}"' if i % 10 == 0 else ""
                fh.write(f'topic {i % 50},"What is {i}, really?",answer {i},"contains-any:x{i},y{i}",{extra}\n')
    else:
        with open(folder / "tests.jsonl", "w", encoding="utf-8") as fh:
            for i in range(n):
                asserts = [{"type": "equals", "value": f"answer {i}"},
                           {"type": "contains-any", "value": [f"x{i}", f"y{i}"]}]
                if i % 10 == 0:
                    asserts.append({"type": "regex", "value": f"^a{i}"})
                fh.write(json.dumps({"vars": {"topic": f"topic {i % 50}", "question": f"What is {i}, really?"},
                                     "assert": asserts}) + "\n")
    return config


_CHILD = """
import json, resource, sys, time, tracemalloc
from pathlib import Path
config, out, traced = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
sys.path.insert(0, sys.argv[4])  # the harness measured, ahead of the working folder
from harness.importers import import_promptfoo
import jinja2, ruamel.yaml  # imported before the clock starts
if traced:
    tracemalloc.start()
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
start, start_cpu = time.perf_counter(), cpu()
report = import_promptfoo(config, out)
seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
peak = tracemalloc.get_traced_memory()[1] if traced else None
import harness
assert Path(harness.__file__).parent.parent == Path(sys.argv[4]).resolve(), harness.__file__
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "cases": report.cases, "tracemalloc_peak": peak,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def measure(n: int, fmt: str, traced: bool, harness_dir: Path, timeout: float) -> dict | None:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_suite(Path(tmp) / "suite", n, fmt)
        env = {**os.environ, "PYTHONPATH": str(harness_dir)}
        try:
            done = subprocess.run([sys.executable, "-c", _CHILD, str(config), str(Path(tmp) / "out"), "1" if traced else "0",
                                   str(harness_dir)], env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            raise SystemExit(f"import of {n} tests failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5000,20000,100000,300000")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--harness", type=Path, default=ROOT)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--smoke", action="store_true", help="seconds: 200 and 400 tests, the same code path")
    args = parser.parse_args()
    if args.smoke:
        args.sizes = "200,400"
    print(f"import promptfoo, tests in {args.format}, harness from {args.harness}")
    print(f"{'tests':>8} {'wall s':>9} {'CPU s':>9} {'CPU us/test':>12} {'peak RSS MB':>12} {'tracemalloc MB':>15}")
    for n in (int(s) for s in args.sizes.split(",")):
        row = measure(n, args.format, args.tracemalloc, args.harness, args.timeout)
        if row is None:
            print(f"{n:>8} {'> ' + str(int(args.timeout)):>9}  (timed out)")
            continue
        assert row["cases"] == n, row
        traced = f"{row['tracemalloc_peak'] / 2**20:>15.0f}" if row["tracemalloc_peak"] is not None else f"{'-':>15}"
        print(f"{n:>8} {row['seconds']:>9.2f} {row['cpu_seconds']:>9.2f} {row['cpu_seconds'] / n * 1e6:>12.0f} "
              f"{row['maxrss_kb'] / 1024:>12.0f} {traced}", flush=True)


if __name__ == "__main__":
    main()
