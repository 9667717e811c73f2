"""The compute clock under load, on native worker threads (a stand-in for llama.cpp's).

Times a fixed amount of OpenBLAS work (matrix products on 2 native threads, which like
llama.cpp's spin between parallel sections) with models/_timing.compute_clock, first as the
machine is, then with CPU-bound processes competing for the cores, then as it is again. The
price of a local call is charged on `compute_ms`; the goal is that it moves by a few percent
while the wall time moves by the competitors' share.

    python benchmarks/compute_clock.py [--hogs 2] [--repeats 5]

Measured on the shared 2-core machine (load average about 12 before any competitor):
wall median 972 / 2011 / 1180 ms, compute median 137 / 141 / 145 ms (quiet / 2 hogs / quiet).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main() -> None:
    import numpy as np

    from harness.models._timing import compute_clock

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    size = 900
    if args.smoke:
        args.hogs, args.repeats, size = 1, 1, 200
    a = np.random.default_rng(0).random((size, size))

    def work() -> None:
        for _ in range(6):
            a @ a

    work()
    for label in ("as it is", f"{args.hogs} hogs", "as it is again"):
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.hogs if "hogs" in label else 0)]
        time.sleep(0.05 if args.smoke else 0.3)
        try:
            walls, computes = [], []
            for _ in range(args.repeats):
                with compute_clock(threads=2) as clock:
                    work()
                walls.append(clock["wall_ms"])
                computes.append(clock["compute_ms"])
        finally:
            for h in hogs:
                h.kill()
                h.wait()
        print(f"{label:16s} wall median {statistics.median(walls):6.0f} ms   compute median "
              f"{statistics.median(computes):6.0f} ms (range {min(computes):.0f}-{max(computes):.0f})")


if __name__ == "__main__":
    main()
