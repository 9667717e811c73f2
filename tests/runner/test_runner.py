"""The API path end to end: LiteLLM against a real HTTP server on 127.0.0.1 that can fail."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import load_project, results, run
from tests.conftest import interruptible
from tests.fake_openai import FakeOpenAI
from tests.projfix import run_cli_in_fresh_process, spec, write_project

SECRET = "sk-test-DO-NOT-STORE-1234567890"


def _golden(n: int) -> list[dict]:
    # The fake server echoes the first word of the user message: "yes #c003" -> "yes".
    labels = ("yes", "no")
    return [{"id": f"c{i:03d}", "vars": {"text": f"{labels[i % 2]} #c{i:03d}"}, "expected": labels[i % 2]}
            for i in range(n)]


def _project(tmp_path: Path, server: FakeOpenAI, n: int = 6, config: dict | None = None, **spec_kw):
    models = {"api": {"litellm": "openai/fake-model", "api_base": server.base_url, "api_key_env": "TW_FAKE_KEY",
                      "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}}
    cfg = {"retries": 3, "retry_backoff_s": 0.05, "timeout_s": 5}
    cfg.update(config or {})
    write_project(tmp_path, models=models, config=cfg,
                  specs={"t": spec(candidates=["api"], **spec_kw)}, golden={"t": _golden(n)})
    return load_project(tmp_path)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", SECRET)


def _rows(project):
    return results(project).set_index("case_id")


def test_every_case_is_called_graded_and_stored(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=8)
    out = run(project, progress=False)
    assert out.counts.called == 8 and out.counts.errors == 0
    frame = _rows(project)
    assert len(frame) == 8 and frame["score"].eq(1.0).all()
    assert frame["prompt_tokens"].gt(0).all() and frame["completion_tokens"].eq(1).all()
    row = frame.loc["c000"]
    assert row["cost"] == pytest.approx(row["prompt_tokens"] * 1e-6 + 1 * 2e-6)
    assert out.summary.loc[0, "n"] == 8 and out.summary.loc[0, "mean"] == 1.0


def test_rerun_calls_nothing_already_stored(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)
    run(project, progress=False)
    before = fake_openai.count
    again = run(project, progress=False)
    assert fake_openai.count == before
    assert again.counts.reused == 6 and again.counts.called == 0
    assert len(results(project)) == 6


def test_a_rerun_with_every_result_stored_imports_no_litellm(tmp_path, fake_openai):
    run(_project(tmp_path, fake_openai), progress=False)
    out, err, imported = run_cli_in_fresh_process(tmp_path, "--quiet")
    assert "0 called, 0 from cache, 6 already stored, 0 errors" in out, err
    assert not imported


def test_429_with_retry_after_is_honoured_then_succeeds(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=2)
    fake_openai.fail("429", times=1, when="#c001", retry_after=1)
    started = time.monotonic()
    run(project, progress=False)
    assert time.monotonic() - started >= 1.0
    row = _rows(project).loc["c001"]
    assert row["error"] is None and row["attempts"] == 2 and row["score"] == 1.0
    assert fake_openai.count_for("#c001") == 2


def test_500_is_retried_to_success(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=2)
    fake_openai.fail("500", times=2, when="#c000")
    run(project, progress=False)
    row = _rows(project).loc["c000"]
    assert row["error"] is None and row["attempts"] == 3


def test_malformed_body_is_retried_to_success(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=2)
    fake_openai.fail("malformed", times=1, when="#c000")
    fake_openai.fail("empty_choices", times=1, when="#c001")
    run(project, progress=False)
    frame = _rows(project)
    assert frame["error"].isna().all() and list(frame["attempts"]) == [2, 2]


def test_stall_past_timeout_ends_as_recorded_error_not_a_pass(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=2, config={"timeout_s": 0.5, "retries": 1})
    fake_openai.fail("stall", times=None, when="#c000", stall_seconds=5)
    out = run(project, progress=False)
    row = _rows(project).loc["c000"]
    assert row["error_type"] in ("Timeout", "APITimeoutError") and row["attempts"] == 2
    assert row["score"] == 0.0 and not row["passed"]
    assert out.counts.errors == 1 and out.summary.loc[0, "errors"] == 1


def test_persistent_500_is_recorded_then_retried_on_rerun(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=3, config={"retries": 1})
    fake_openai.fail("500", times=None, when="#c002")
    run(project, progress=False)
    row = _rows(project).loc["c002"]
    assert row["error"] is not None and row["score"] == 0.0 and row["attempts"] == 2
    fake_openai.reset()
    again = run(project, progress=False)
    assert again.counts.called == 1  # errors are never cached: only the failed case is called again
    frame = _rows(project)
    assert len(frame) == 3 and frame["error"].isna().all()


def test_grader_change_regrades_from_cache_without_calls(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)
    run(project, progress=False)
    calls = fake_openai.count
    project = _project(tmp_path, fake_openai, graders=[{"type": "contains", "value": "zzz"}])
    out = run(project, progress=False)
    assert fake_openai.count == calls and out.counts.cached == 6
    assert _rows(project)["score"].eq(0.0).all()


def test_prompt_change_makes_new_calls_and_old_rows_stop_counting(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)
    run(project, progress=False)
    project = _project(tmp_path, fake_openai, prompt={"system": "Different.", "user": "{{ text }}"})
    out = run(project, progress=False)
    assert out.counts.called == 6
    assert len(results(project)) == 6
    assert len(results(project, current_only=False)) == 12


def test_no_cache_calls_again(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)
    run(project, progress=False)
    out = run(project, no_cache=True, progress=False)
    assert out.counts.called == 6 and len(results(project)) == 6


def test_missing_key_skips_the_model_with_one_line(tmp_path, capsys):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "gpt": {"litellm": "openai/gpt-4.1-mini"}},
                  specs={"t": spec(candidates=["rule", "gpt"])})
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("OPENAI_API_KEY", raising=False)
        out = run(load_project(tmp_path), progress=True)
    assert out.skipped == {"gpt": "OPENAI_API_KEY is not set"}
    assert "skipped gpt: OPENAI_API_KEY is not set" in capsys.readouterr().err
    # the rest of the run still happens: every case of the other candidate is called and stored
    frame = results(load_project(tmp_path))
    assert out.counts.called == 6 and len(frame) == 6 and set(frame["model"]) == {"rule"}


def test_crashing_python_candidate_is_a_recorded_error(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:boom"}})
    out = run(load_project(tmp_path), progress=False)
    assert out.counts.errors == 6
    assert results(load_project(tmp_path))["error"].str.contains("rule exploded").all()


def test_api_key_never_lands_in_the_store(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)
    fake_openai.fail("500", times=None, when="#c000")
    run(project, progress=False)
    db = tmp_path / ".tierwise" / "results.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(FULL)")
    con.close()
    for path in tmp_path.joinpath(".tierwise").iterdir():
        assert SECRET.encode() not in path.read_bytes()


def test_sigkill_midway_loses_nothing_and_resume_calls_only_the_rest(tmp_path):
    n = 60
    with FakeOpenAI(delay=0.05) as server:
        _project(tmp_path, server, n=n, config={"concurrency": 2})
        env = {**os.environ, "TW_FAKE_KEY": SECRET, "PYTHONPATH": str(Path(__file__).parents[2])}
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--quiet", "--project", str(tmp_path)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = tmp_path / ".tierwise" / "results.db"
        deadline = time.monotonic() + 120
        stored = 0
        while time.monotonic() < deadline and stored < 10:
            time.sleep(0.05)
            stored = _count(db)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        finished = {r for r, in _query(db, "SELECT case_id FROM results WHERE error IS NULL")}
        assert 10 <= len(finished) < n, "the kill should land midway"
        calls_before = {f"#{c}": server.count_for(f"#{c}") for c in finished}
        out = run(load_project(tmp_path), progress=False)
        assert out.counts.reused == len(finished) and out.counts.called == n - len(finished)
        assert all(server.count_for(tag) == calls_before[tag] for tag in calls_before), "a finished case was called again"
        rows = _query(db, "SELECT case_id, COUNT(*) FROM results GROUP BY case_id")
        assert len(rows) == n and all(count == 1 for _, count in rows)


def _count(db: Path) -> int:
    try:
        return _query(db, "SELECT COUNT(*) FROM results")[0][0]
    except sqlite3.Error:
        return 0


def _query(db: Path, sql: str):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _own_group() -> None:
    """preexec_fn: SIGINT at its default, in a process group of its own (a terminal's Ctrl-C
    reaches every process of the foreground group: the run's call workers and their server too)."""
    interruptible()
    os.setpgrp()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_keeps_finished_results_and_exits_130(tmp_path, workers):
    n = 60
    with FakeOpenAI(delay=0.05) as server:
        _project(tmp_path, server, n=n, config={"concurrency": 2})
        env = {**os.environ, "TW_FAKE_KEY": SECRET, "PYTHONPATH": str(Path(__file__).parents[2])}
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--quiet", "--project", str(tmp_path),
                                 "--workers", workers],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_own_group)
        db = tmp_path / ".tierwise" / "results.db"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _count(db) < 6:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err  # neither the run nor a worker or their server
        assert "run the same command again to resume" in err
        stored = _count(db)
        assert 6 <= stored < n
        status = _query(db, "SELECT status FROM runs")[0][0]
        assert status == "interrupted"
        out = run(load_project(tmp_path), progress=False)
        assert out.counts.reused == stored and out.counts.called == n - stored


@pytest.mark.postgres
def test_run_against_postgresql_store(tmp_path, pg_url):
    write_project(tmp_path, config={"store": pg_url})
    project = load_project(tmp_path)
    first = run(project, progress=False)
    again = run(project, progress=False)
    assert first.counts.called == 6 and again.counts.reused == 6
    assert len(results(project)) == 6 and results(project)["score"].eq(1.0).all()


def test_python_api_returns_frames(tmp_path):
    import harness

    write_project(tmp_path)
    project = harness.load_project(tmp_path)
    harness.run(project, progress=False)
    frame, summary = harness.results(project), harness.summary(project)
    assert len(frame) == 6 and {"task", "model", "case_id", "output", "score", "latency_ms", "cost"} <= set(frame.columns)
    assert list(summary[["task", "model", "n"]].itertuples(index=False, name=None)) == [("t", "rule", 6)]


def test_editing_an_expected_answer_regrades_without_calling(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=4)
    run(project, progress=False)
    calls = fake_openai.count
    golden = tmp_path / "golden_sets" / "t.jsonl"
    golden.write_text(golden.read_text().replace('"expected": "yes"', '"expected": "maybe"'))
    project = load_project(tmp_path)
    out = run(project, progress=False)
    assert fake_openai.count == calls and out.counts.cached == 2 and out.counts.reused == 2
    assert list(results(project).sort_values("case_id")["score"]) == [0.0, 1.0, 0.0, 1.0]


def test_editing_a_python_rule_reruns_it(tmp_path):
    write_project(tmp_path)
    run(load_project(tmp_path), progress=False)
    rules = tmp_path / "rules.py"
    rules.write_text(rules.read_text().replace('return vars.get("text", "")', 'return "nonsense"', 1))
    project = load_project(tmp_path)
    out = run(project, progress=False)
    assert out.counts.called == 6 and results(project)["score"].eq(0.0).all()


def test_python_rule_returning_a_dict_is_json(tmp_path):
    write_project(tmp_path, files={"rules.py": "def echo(vars):\n    return {'text': vars['text'], 'n': None}\n"},
                  specs={"t": spec(graders=[{"type": "json", "fields": ["text"]}])},
                  golden={"t": [{"id": "a", "vars": {"text": "yes"}, "expected": {"text": "yes"}}]})
    project = load_project(tmp_path)
    run(project, progress=False)
    row = results(project).iloc[0]
    assert row["output"] == '{"text": "yes", "n": null}' and row["score"] == 1.0
