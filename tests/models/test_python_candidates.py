"""python: candidates that hang, exit or return the wrong type: a recorded error or a
documented conversion (docs/python-candidates.md), never a held process or a traceback."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harness
from harness.errors import ConfigError
from harness.models._python_provider import python_output
from tests.conftest import interruptible
from tests.projfix import write_project

REPO = Path(__file__).resolve().parents[2]

RULES = '''
import pathlib
import threading

def never(vars):
    pathlib.Path(__file__).with_name("called").touch()
    threading.Event().wait()   # never returns

def exits(vars):
    raise SystemExit(3)

def as_bytes(vars):
    return b"yes"

def as_none(vars):
    return None

def as_dict(vars):
    return {"label": vars["text"]}

def as_number(vars):
    return 3

def as_object(vars):
    return object()
'''


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _project(root: Path, function: str, **config) -> Path:
    return write_project(root, models={"rule": {"python": f"rules:{function}", "timeout_s": 1}},
                         files={"rules.py": RULES}, config=config)


def test_candidate_that_never_returns_does_not_hold_the_process(tmp_path):
    root = _project(tmp_path, "never")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--project", str(root), "--quiet"],
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120)
    assert time.monotonic() - started < 60
    assert done.returncode == 1, done.stderr  # every call failed: over the error limit, said and counted
    assert "6 errors" in done.stdout and "Traceback" not in done.stderr
    frame = harness.results(harness.load_project(root))
    assert set(frame["error"]) == {"timed out after 1 s (timeout_s)"}


def test_one_ctrl_c_ends_a_run_stuck_in_a_candidate(tmp_path):
    root = write_project(tmp_path, models={"rule": {"python": "rules:never", "timeout_s": 600}},
                         files={"rules.py": RULES})
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--project", str(root), "--quiet"],
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=interruptible)
    deadline = time.monotonic() + 90
    while not (root / "called").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (root / "called").exists()
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("one Ctrl-C did not end the run")
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" in err


@pytest.mark.parametrize("function, error", [
    ("exits", "SystemExit: the function raised SystemExit(3); a python: candidate must return its answer, not exit"),
    ("as_bytes", "returned bytes; fix: decode them, e.g. value.decode('utf-8')"),
    ("as_object", "returned a object; a python: candidate must return a str (or a dict/list as JSON)"),
])
def test_exit_and_unusable_return_values_are_recorded_errors(tmp_path, function, error):
    root = _project(tmp_path, function)
    result = harness.run(harness.load_project(root), progress=False)
    assert result.counts.errors == 6
    frame = harness.results(harness.load_project(root))
    assert set(frame["error"]) == {error} and frame["output"].isna().all()


def test_none_is_a_recorded_abstention_scored_as_no_answer(tmp_path):
    root = _project(tmp_path, "as_none")
    result = harness.run(harness.load_project(root), progress=False)
    assert result.counts.errors == 0  # an abstention is not a failed call
    frame = harness.results(harness.load_project(root))
    assert set(frame["finish_reason"]) == {"abstain"} and frame["error"].isna().all() and frame["output"].isna().all()
    assert set(frame["score"]) == {0.0} and not frame["passed"].any()
    again = harness.run(harness.load_project(root), progress=False)  # stored and valid: not called again
    assert again.counts.called == 0


def test_system_exit_at_import_is_a_config_error(tmp_path):
    root = write_project(tmp_path, files={"rules.py": "raise SystemExit(3)\n"})
    with pytest.raises(ConfigError, match=r"models.rule.python: importing 'rules' failed: SystemExit: 3; fix the module"):
        harness.run(harness.load_project(root), progress=False)


@pytest.mark.parametrize("value, output", [
    ("yes", "yes"), ({"a": [1, "é"]}, '{"a": [1, "é"]}'), ([1, 2], "[1, 2]"), (3, "3"), (2.5, "2.5"), (True, "true"),
])
def test_conversion_rule(value, output):
    assert python_output(value) == (output, None)


def test_nan_is_not_json():
    assert python_output(float("nan"))[0] is None


@pytest.mark.parametrize("text, iso", [
    ("The ceremony took place on the fourth of July, nineteen ninety-six.", "1996-07-04"),
    ("We closed the deal on May twelfth, twenty twenty-four.", "2024-05-12"),
    ("Born on March 3rd, two thousand and five.", "2005-03-03"),
    ("On the 1st of June, two thousand.", "2000-06-01"),
    ("Founded 12 May nineteen oh seven.", "1907-05-12"),
    ("Signed 9 Jan 24 (UK).", "2024-01-09"),
])
def test_the_example_date_rule_reads_written_out_years(text, iso):
    from examples.rules import extract_date

    assert extract_date({"text": text}) == iso


@pytest.mark.parametrize("text, title", [
    ("v2.4.1: Fixed login loop on Firefox. Users who signed in with SSO were sent back.", "Fixed login loop on Firefox"),
    ("Added: bulk delete for archived projects.", "Bulk delete for archived projects"),
    ("New: calendar sync with Outlook - events created in either app now show up in both.", "Calendar sync with Outlook"),
    ("Deprecated: API keys without scopes.", "API keys without scopes deprecated"),
    ("version 10.0 - Added dark mode to the mobile apps (iOS and Android).", "Added dark mode to the mobile apps"),
    # not a changelog entry, or too long to be its own title: a model's job
    ("User: Where do I change my password?\nAgent: Settings > Security.", None),
    ("Customer: The app crashes when I open settings. Agent: Fixed in 4.2.", None),
    ("The mayor announced a new bike lane network on Tuesday.", None),
    ("Fixed an issue where some users saw a blank dashboard after upgrading to the newest release.", None),
    ("Fixed.", None),
    ("", None),
])
def test_the_example_changelog_rule_answers_short_entries_and_abstains_otherwise(text, title):
    from examples.rules import changelog_title_sure

    assert changelog_title_sure({"text": text}) == title


def test_the_changelog_rule_reads_a_long_version_like_text_once():
    # bounded work on hostile input: a run of digits and dots used to be backtracked over
    # (quadratic: 0.8 s at 10,000 characters, about 80 s at 100,000)
    from examples.rules import changelog_title_sure

    started = time.perf_counter()
    for text in ("1" + ".1" * 50_000, "v" + "1." * 50_000 + "x", "Fixed: " + "(" * 100_000):
        assert changelog_title_sure({"text": text}) is None
    assert time.perf_counter() - started < 5.0
