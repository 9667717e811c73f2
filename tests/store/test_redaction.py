"""One redaction path for every write to the store: a key under an arbitrary `api_key_env` name,
echoed by a candidate and by its judge, is absent from results, grades.detail, the response
cache, the usage ledger's captured output and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from harness import Client, build_report, load_project, recommend, run
from harness.store import Store
from tests.fake_openai import FakeOpenAI
from tests.projfix import spec, write_project

# Neither value is key-shaped and neither variable's name ends in KEY/TOKEN/SECRET/PASSWORD:
# only the catalog's api_key_env can tell Tierwise they are secrets.
JUDGE_CRED = "acme-judge-3c9f1e77b2d04a61"
CAND_CRED = "acme-cand-9b2e5d11c7f04e83"


def _echo(body: dict) -> str:
    """A model that leaks both keys: the judge in its reason, the candidate in its answer."""
    if "impartial grader" in json.dumps(body["messages"]):
        return json.dumps({"reason": f"graded with {JUDGE_CRED}", "verdict": "pass"})
    return f"yes {CAND_CRED} {JUDGE_CRED}"


@pytest.fixture
def leaky(monkeypatch):
    monkeypatch.setenv("ACME_JUDGE_CRED", JUDGE_CRED)
    monkeypatch.setenv("ACME_CAND_CRED", CAND_CRED)
    with FakeOpenAI(responder=_echo) as server:
        yield server


def _project(root: Path, server: FakeOpenAI) -> Path:
    models = {"cand": {"litellm": "openai/fake-cand", "api_base": server.base_url, "api_key_env": "ACME_CAND_CRED"},
              "judge": {"litellm": "openai/fake-judge", "api_base": server.base_url, "api_key_env": "ACME_JUDGE_CRED"}}
    write_project(root, models=models, config={"retries": 0, "retry_backoff_s": 0, "timeout_s": 5},
                  specs={"t": spec(candidates=["cand"], graders=[{"type": "llm_judge", "rubric": "Says yes?",
                                                                   "judge": "judge"}])},
                  golden={"t": [{"id": f"c{i}", "vars": {"text": "yes"}, "expected": "yes"} for i in range(2)]})
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": {"model": "openai/fake-cand"}}}))
    return root


def _table(root: Path, table: str) -> str:
    engine = sa.create_engine(f"sqlite:///{root / '.tierwise' / 'results.db'}")
    try:
        with engine.connect() as conn:
            return "\n".join(repr(tuple(r)) for r in conn.execute(sa.text(f"SELECT * FROM {table}")))
    finally:
        engine.dispose()


def test_keys_are_redacted_on_every_surface_of_the_store_and_the_report(tmp_path, leaky):
    root = _project(tmp_path / "p", leaky)
    project = load_project(root)
    run(project, progress=False)
    with Client(root, capture=True) as client:
        assert JUDGE_CRED in client.complete("t", text="yes").output  # the caller gets the answer as it is
    files = build_report(project, recommend(project), tmp_path / "out")

    surfaces = {
        "results": _table(root, "results"),
        "grades": _table(root, "grades"),
        "grades.detail": _table(root, "(SELECT detail FROM grades)"),
        "response_cache": _table(root, "response_cache"),
        "usage_ledger.output": _table(root, "(SELECT output FROM usage_ledger)"),
        "report": "".join(Path(p).read_text() for p in (files.html, files.markdown, files.json)),
    }
    leaked = [where for where, text in surfaces.items() if JUDGE_CRED in text or CAND_CRED in text]
    assert leaked == []
    # the echoes happened, and were redacted (not dropped)
    assert "graded with <ACME_JUDGE_CRED>" in surfaces["grades.detail"]
    assert "yes <ACME_CAND_CRED> <ACME_JUDGE_CRED>" in surfaces["usage_ledger.output"]
    assert "graded with <ACME_JUDGE_CRED>" in surfaces["response_cache"]  # the judge's cached answer
    assert "yes <ACME_CAND_CRED> <ACME_JUDGE_CRED>" in surfaces["response_cache"]  # the candidate's
    assert JUDGE_CRED.encode() not in (root / ".tierwise" / "results.db").read_bytes()


def test_any_write_through_the_store_is_redacted_whatever_the_table(tmp_path, monkeypatch):
    """The path is the store's engine, not each write method: a run's info, and a raw insert."""
    from harness.util import register_secret

    register_secret("plain-cred-0a1b2c3d4e", "SOME_CRED")
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    run_id = store.start_run(info={"note": "called with plain-cred-0a1b2c3d4e"})
    with store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO response_cache (key, model, created_at, response) VALUES "
                             "(:k, 'm', 0, :r)"), {"k": "k1", "r": json.dumps({"output": "plain-cred-0a1b2c3d4e"})})
    (info,) = [r["info"] for r in store.runs([run_id])]
    assert json.loads(info)["note"] == "called with <SOME_CRED>"
    assert store.cached_responses(["k1"]) == {"k1": {"output": "<SOME_CRED>"}}
    store.close()
