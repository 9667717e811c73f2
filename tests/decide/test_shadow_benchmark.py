"""benchmarks/shadow.py --smoke: the benchmark runs, prints its tables and keeps its limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_shadow_benchmark_smoke_runs_and_keeps_its_limits():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "shadow.py"), "--smoke"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| 0.030 |" in done.stdout and "(error)" in done.stdout           # the challenger at the margin
    for monitor in ("contract failures", "label mix", "plug-in baseline"):
        assert f"| {monitor} |" in done.stdout
    assert "shadow rows stored" in done.stdout and "promotion replayed from the store" in done.stdout
