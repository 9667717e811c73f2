"""examples/pipeline.py --rules-only end to end: three steps per document through the client on a
copy of the example project (its registry entries plus the script's demo entries), then the audit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_pipeline_example_runs_on_rules_and_audits_its_ledger(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "pipeline.py"), "--rules-only", "--repeat", "1",
                           "--workdir", str(tmp_path / "demo")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("doc-0-")]
    assert len(lines) == 6
    assert lines[0].startswith("doc-0-0: date=2024-03-03 team=billing sentiment=negative via date-rule, "
                               "triage-keywords, sentiment-lexicon")
    assert "18 calls (18 attempts)" in done.stdout
