"""Messages that name the setting and the fix; no empty database from a reader; runs killed
with SIGKILL are marked abandoned by the next run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.store import Store
from tests.projfix import tierwise as _tierwise, write_project

REPO = Path(__file__).resolve().parents[1]




def test_shard_out_of_range_names_the_option(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    code, _, err = _tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path), "--shard", "3/2")
    assert code == 2 and "'--shard'" in err and "'3/2': i must be between 1 and n" in err


def test_unwritable_store_path_names_the_setting_and_fix(tmp_path, monkeypatch, capsys):
    (tmp_path / "blocker").write_text("a file, not a folder")
    write_project(tmp_path, config={"store": f"sqlite:///{tmp_path}/blocker/sub/results.db"})
    code, _, err = _tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path))
    assert code == 2 and "cannot create the folder" in err
    assert "fix: set store: in tierwise.yaml (or --store)" in err


def test_report_without_a_store_says_run_first_and_creates_nothing(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    code, out, err = _tierwise(monkeypatch, capsys, "report", "--project", str(tmp_path))
    assert code in (0, None), err
    assert "no results" in (tmp_path / "reports" / "summary.md").read_text()
    assert "tierwise run t" in (tmp_path / "reports" / "summary.md").read_text()
    assert not (tmp_path / ".tierwise").exists()


def test_a_reader_store_that_must_exist_says_no_results_yet(tmp_path):
    from harness.errors import StoreError

    with pytest.raises(StoreError, match=r"no results yet .*fix: run `tierwise run` first"):
        Store(f"sqlite:///{tmp_path}/none.db", must_exist=True)
    assert not (tmp_path / "none.db").exists()


def test_unwritable_report_out_names_the_option(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    _tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path), "--quiet")
    (tmp_path / "blocker").write_text("x")
    code, _, err = _tierwise(monkeypatch, capsys, "report", "--project", str(tmp_path),
                             "--out", str(tmp_path / "blocker" / "out"))
    assert code == 2 and err.startswith("error: report --out: cannot write") and "fix: pass --out" in err


def test_unwritable_junit_path_names_the_option(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    (tmp_path / "registry.yaml").write_text("tasks: {}\n")
    (tmp_path / "blocker").write_text("x")
    code, _, err = _tierwise(monkeypatch, capsys, "gate", "--project", str(tmp_path),
                             "--junit", str(tmp_path / "blocker" / "gate.xml"))
    assert code == 2 and err.startswith("error: gate --junit ") and "fix: pass --junit" in err


def test_run_killed_with_sigkill_is_marked_abandoned_by_the_next(tmp_path):
    rules = "import pathlib, threading\ndef never(vars):\n    pathlib.Path(__file__).with_name('called').touch()\n" \
            "    threading.Event().wait()\n"
    root = write_project(tmp_path, models={"rule": {"python": "rules:never", "timeout_s": 600}},
                         files={"rules.py": rules})
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--project", str(root), "--quiet"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not (root / "called").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = Store(f"sqlite:///{root}/.tierwise/results.db")
    try:
        assert [r["status"] for r in store.runs()] == ["running"]
        store.start_run(argv="")
        assert [r["status"] for r in store.runs()] == ["abandoned", "running"]
    finally:
        store.close()


def test_a_live_run_is_left_running(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/r.db")
    try:
        first = store.start_run(argv="")
        with store.engine.begin() as conn:  # as if another live process on this host owned it
            conn.execute(sa.text("UPDATE runs SET info = :info WHERE id = :id"),
                         {"info": f'{{"pid": {os.getppid()}, "host": "{os.uname().nodename}"}}', "id": first})
        store.start_run(argv="")
        assert [r["status"] for r in store.runs()] == ["running", "running"]
    finally:
        store.close()
