"""How often does the decision rule recommend a model whose true accuracy is below the bar?

Simulates candidates of known true accuracy and price (threshold 0.90, 95% confidence) over
many seeds through the real decision rule, and prints the wrong-pick rate (should stay at or
below 1 - confidence) and how often the truly cheapest good model is found.

    python benchmarks/decision_error_rate.py [--seeds 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_recommend import _simulate, _task  # noqa: E402 - the same set-up the tests pin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    args = parser.parse_args()
    print("threshold 0.90, confidence 0.95; cheap (below the bar) < mid (0.97) < dear (0.99) in price")
    for true_cheap, n in [(0.85, 200), (0.895, 200), (0.80, 400)]:
        with tempfile.TemporaryDirectory() as tmp:
            task, cands = _task(Path(tmp), n=n, threshold=0.9, confidence=0.95)
            truth = {"cheap": true_cheap, "mid": 0.97, "dear": 0.99}
            picks = [_simulate(seed, n, truth, task, cands) for seed in range(args.seeds)]
        print(f"true accuracy of cheap {true_cheap:.3f}, n={n}, {args.seeds} seeds: "
              f"wrong pick {picks.count('cheap') / args.seeds:.3f} (limit 0.05), "
              f"cheapest good model found {picks.count('mid') / args.seeds:.3f}")


if __name__ == "__main__":
    main()
