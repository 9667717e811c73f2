"""tests/conftest.py's rule: a test whose service or dependency is missing skips with one line, and
under CI (which installs them all) fails instead, so CI cannot pass by skipping."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import in_ci, require, require_module

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("value, ci", [("", False), ("0", False), ("false", False), ("False", False),
                                       ("1", True), ("true", True), ("yes", True)])
def test_ci_is_any_non_empty_value_but_0_or_false(monkeypatch, value, ci):
    monkeypatch.setenv("CI", value)
    assert in_ci() is ci


def test_missing_thing_skips_outside_ci_and_fails_under_it(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^no widget server$"):
        require(False, "no widget server")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"^no widget server \(CI='true': CI provides this"):
        require(False, "no widget server")
    require(True, "never shown")  # present: neither


def test_require_module_returns_the_module_or_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "1")
    assert require_module("json").dumps([]) == "[]"
    with pytest.raises(pytest.fail.Exception, match=r"needs no_such_module_tw"):
        require_module("no_such_module_tw")


def _pytest(tmp_path: Path, ci: str | None, *targets: str) -> subprocess.CompletedProcess:
    """The real suite's files under CI=`ci`, with no Chromium on PATH and PostgreSQL at a dead port."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PATH=str(Path(sys.executable).parent), PYTHONPATH=str(REPO),
               TIERWISE_TEST_PG="postgresql+psycopg://nobody@127.0.0.1:1/none")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rsfE", "-p", "no:cacheprovider",
                           f"--basetemp={tmp_path}", *targets],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


TARGETS = ("tests/report/test_report_browser.py", "tests/runner/test_runner.py::test_run_against_postgresql_store")


def test_without_chromium_or_postgresql_ci_fails_and_a_developer_skips(tmp_path):
    dev = _pytest(tmp_path / "dev", "0", *TARGETS)
    assert dev.returncode == 0, dev.stdout + dev.stderr
    assert re.search(r"SKIPPED .*Chromium is not installed \(Debian: apt-get install chromium\)", dev.stdout)
    assert re.search(r"SKIPPED .*no PostgreSQL server at postgresql\+psycopg://nobody@127\.0\.0\.1:1/none", dev.stdout)
    assert re.search(r"\b2 skipped\b", dev.stdout) and "passed" not in dev.stdout

    ci = _pytest(tmp_path / "ci", "true", *TARGETS)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert re.search(r"Chromium is not installed .*\(CI='true': CI provides this", ci.stdout)
    assert re.search(r"no PostgreSQL server at .*\(CI='true': CI provides this", ci.stdout)
    assert "skipped" not in ci.stdout.splitlines()[-1]
