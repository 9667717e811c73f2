"""Nothing fails quietly: a run whose calls fail says so where it happens, counts it, exits 1,
and records it; a failure no retry can cure is not retried."""

from __future__ import annotations

import asyncio
import json

import pytest

from harness import arun, load_project, recommend, run
from harness.store import Store
from tests.projfix import tierwise, spec, write_project

SECRET = "sk-test-error-visibility-0123456789"


def _project(tmp_path, server, n=6, **spec_kw):
    models = {"api": {"litellm": "openai/fake-model", "api_base": server.base_url, "api_key_env": "TW_FAKE_KEY",
                      "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}},
              "rule": {"python": "rules:echo"}}
    golden = [{"id": f"c{i}", "vars": {"text": f"yes #c{i}"}, "expected": "yes"} for i in range(n)]
    write_project(tmp_path, models=models, config={"retries": 3, "retry_backoff_s": 0.01, "timeout_s": 5},
                  specs={"t": spec(candidates=["rule", "api"], **spec_kw)}, golden={"t": golden})
    return load_project(tmp_path)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", SECRET)




@pytest.mark.parametrize("kind, error_type", [("401", "AuthenticationError"), ("404", "NotFoundError")])
def test_a_failure_no_retry_can_cure_is_called_once(tmp_path, fake_openai, kind, error_type):
    project = _project(tmp_path, fake_openai, n=4)
    fake_openai.fail(kind, times=None)
    result = run(project, models=["api"], progress=False)
    assert fake_openai.count == 4  # one attempt per case, no retries
    assert result.counts.errors == 4
    rows = Store(project.store_url()).results_frame()
    assert set(rows["error_type"]) == {error_type} and set(rows["attempts"]) == {1}


def test_a_run_whose_every_call_fails_shows_the_error_exits_1_and_is_recorded(tmp_path, fake_openai, monkeypatch,
                                                                             capsys):
    _project(tmp_path, fake_openai)
    fake_openai.fail("401", times=None)
    code, out, err = tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path))
    assert code == 1
    assert "! t × api: AuthenticationError" in err  # shown as it happens, with its cause
    assert "errors: t × api: 6/6 calls failed (over the limit 10%); first: AuthenticationError" in err
    assert "run failed: 1 task × model pairs passed their error limit" in err
    assert SECRET not in out + err
    [record] = Store(load_project(tmp_path).store_url()).runs()
    assert record["status"] == "finished_with_errors"
    assert json.loads(record["info"])["errors"]["t × api"]["errors"] == 6

    code, out, _ = tierwise(monkeypatch, capsys, "recommend", "--project", str(tmp_path))
    assert "api: all 6 calls failed: AuthenticationError" in out


def test_max_errors_sets_the_limit(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=10)
    fake_openai.fail("500", times=None, when="#c3")  # one case fails all four attempts
    result = run(project, models=["api"], progress=False, max_errors=0.2)
    assert [e.errors for e in result.errors] == [1] and not result.failed
    assert run(project, models=["api"], progress=False, max_errors=0.0).failed


def test_recommend_says_when_a_candidate_was_not_run_under_the_current_spec(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)
    run(project, progress=False)
    write_project(tmp_path, models={"api": {"litellm": "openai/fake-model", "api_base": fake_openai.base_url,
                                            "api_key_env": "TW_FAKE_KEY", "price": {"per_call": 0.001}},
                                    "rule": {"python": "rules:echo"}},
                  specs={"t": spec(candidates=["rule", "api"], prompt={"system": "Changed.", "user": "{{ text }}"})},
                  golden={"t": [{"id": f"c{i}", "vars": {"text": "yes"}, "expected": "yes"} for i in range(6)]})
    [decision] = recommend(load_project(tmp_path)).decisions
    api = next(c for c in decision.candidates if c.model == "api")
    assert api.why_not.startswith("not evaluated under the current spec")


def test_run_works_inside_a_running_event_loop_and_has_an_async_form(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)

    async def notebook_cell():
        first = run(project, models=["rule"], progress=False)  # a sync call inside a running loop
        second = await arun(project, progress=False)
        return first, second

    first, second = asyncio.run(notebook_cell())
    assert first.counts.called == 6 and second.counts.reused == 6 and second.counts.called == 6
    assert len(repr(second)) < 300 and repr(second).startswith("RunResult(run_id=")
