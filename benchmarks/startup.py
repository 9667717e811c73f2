"""Start-up of the commands that call no model: `tierwise --help`, `validate`, `models` and `gate`
on the bundled example (the repository root), each in a fresh process as a user runs it.

Prints the median wall and CPU seconds of --repeat runs with the load average beside them; with
--before TREE (a folder holding an older `harness/`, e.g. `git archive <commit> harness | tar -x
-C TREE`) the same for that version. tests/test_cli.py pins that none of them imports LiteLLM.

    python benchmarks/startup.py [--repeat 5] [--before TREE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from cached_rerun import timed

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [["--help"], ["validate"], ["models"], ["gate"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs of each command; the median is shown")
    ap.add_argument("--before", type=Path, help="folder with an older harness/ to compare against")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = ap.parse_args()
    if args.smoke:
        args.repeat = 1
    versions = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    print("| version | command | median wall s | median CPU s | load (1 min) |\n|---|---|---:|---:|---:|")
    elsewhere = Path(tempfile.mkdtemp())  # not the repository: `python -m` puts the folder it runs in first
    for label, tree in versions:
        for command in COMMANDS:
            argv = command if command == ["--help"] else [*command, "--project", str(ROOT)]
            runs = [timed(tree, elsewhere, argv) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"| {label} | tierwise {' '.join(command)} | {wall:.2f} | {cpu:.2f} | {os.getloadavg()[0]:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
