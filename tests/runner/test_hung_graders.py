"""A grader cannot hang the run: a backtracking regex and an endless custom grader are
recorded grader errors, and SIGTERM during a hung grade keeps every finished result."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import harness
from tests.projfix import cases, spec, write_project

REPO = Path(__file__).resolve().parents[2]
EVIL = "a" * 34 + "!"

GRADERS = '''
def hangs_on_evil(output, case):
    if output.endswith("!"):
        while True:   # pure Python: only a deadline ends it
            pass
    return output == case.expected

def exits(output, case):
    raise SystemExit(4)
'''


def _golden(n: int) -> list[dict]:
    rows = cases(n)
    rows[2] = {"id": "evil", "vars": {"text": EVIL}, "expected": "yes"}
    return rows


def _grades(root: Path) -> dict[str, str]:
    frame = harness.results(harness.load_project(root))
    db = sqlite3.connect(root / ".tierwise" / "results.db")
    try:
        reasons = dict(db.execute("SELECT r.case_id, g.reason FROM grades g JOIN results r ON r.id = g.result_id"))
    finally:
        db.close()
    assert sorted(frame["case_id"]) == sorted(reasons)
    return reasons


def test_issue_pattern_no_longer_hangs(tmp_path):
    # ^(a+)+$ against 34 a's and a '!' ran for hours in re; the regex engine settles it at once.
    root = write_project(tmp_path, specs={"t": spec(graders=[{"type": "regex", "pattern": "^(a+)+$"}])},
                         golden={"t": _golden(6)})
    started = time.perf_counter()
    harness.run(harness.load_project(root), progress=False)
    assert time.perf_counter() - started < 20
    assert _grades(root)["evil"] == f"'{EVIL}' has no match for /^(a+)+$/"


def test_backtracking_regex_is_a_grader_error_not_a_hang(tmp_path):
    golden = _golden(6)
    golden[2]["vars"]["text"] = "a" * 60 + "!"  # exponential even for the regex engine
    root = write_project(tmp_path, specs={"t": spec(graders=[{"type": "regex", "pattern": "^(a|aa)+$"}])},
                         golden={"t": golden})
    started = time.perf_counter()
    result = harness.run(harness.load_project(root), progress=False)
    assert time.perf_counter() - started < 30
    assert result.counts.written == 6
    reasons = _grades(root)
    assert reasons["evil"].startswith("grader error: TimeoutError: /^(a|aa)+$/ took over 2 s on this output")
    assert reasons["c000"] == "'yes' has no match for /^(a|aa)+$/"


def test_endless_custom_grader_times_out_as_a_recorded_error(tmp_path):
    root = write_project(tmp_path, specs={"t": spec(graders=[{"type": "python", "function": "graders:hangs_on_evil"}])},
                         golden={"t": _golden(6)}, config={"grade_timeout_s": 0.5}, files={"graders.py": GRADERS})
    result = harness.run(harness.load_project(root), progress=False)
    assert result.counts.written == 6
    reasons = _grades(root)
    assert reasons["evil"] == "grader error: python timed out after 0.5 s (grade_timeout_s in tierwise.yaml)"
    assert not reasons["c000"].startswith("grader error")


def test_grader_raising_system_exit_is_recorded(tmp_path):
    root = write_project(tmp_path, specs={"t": spec(graders=[{"type": "python", "function": "graders:exits"}])},
                         files={"graders.py": GRADERS})
    result = harness.run(harness.load_project(root), progress=False)
    assert result.counts.written == 6
    assert set(_grades(root).values()) == {"grader error: python raised SystemExit(4)"}


def test_sigterm_during_a_hung_grade_keeps_finished_results(tmp_path):
    root = write_project(tmp_path, specs={"t": spec(graders=[{"type": "python", "function": "graders:hangs_on_evil"}])},
                         golden={"t": _golden(8)}, config={"grade_timeout_s": 600}, files={"graders.py": GRADERS})
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--project", str(root), "--quiet"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db_path = root / ".tierwise" / "results.db"
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and stored < 7:
        time.sleep(0.2)
        if db_path.exists():
            try:
                db = sqlite3.connect(db_path, timeout=5)
                stored = db.execute("SELECT count(*) FROM results").fetchone()[0]
                db.close()
            except sqlite3.OperationalError:
                pass
    assert stored == 7, "the seven cases that grade normally were not committed while one grade hung"
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("SIGTERM did not end a run stuck in a grader")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("SELECT count(*) FROM results").fetchone()[0] == 7
        assert db.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
    finally:
        db.close()
