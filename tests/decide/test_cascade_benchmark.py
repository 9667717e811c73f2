"""benchmarks/cascades.py keeps running: its smoke mode drives the real decision code end to end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cascade_benchmark_smoke_prints_every_scenario():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cascades.py"), "--smoke"], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    rows = re.findall(r"^\| (\d+) \| (informative|uninformative) \| graph \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)% \|",
                      out, re.M)
    assert [(k, c) for k, c, *_ in rows] == [(k, c) for k in ("1", "5", "20")
                                             for c in ("informative", "uninformative")]
    for _, _, wrong, any_below, picked in rows:
        assert 0 <= float(wrong) <= float(any_below) <= 1 and 0 <= float(picked) <= 100
    assert "1 - confidence = 0.05" in out
