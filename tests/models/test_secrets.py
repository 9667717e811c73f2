"""A key read through api_key_env under any variable name never reaches the store (SQLite or
PostgreSQL), the report, or any output, even when the provider echoes it back."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.util import redact, register_secret
from tests.projfix import spec, write_project

REPO = Path(__file__).resolve().parents[2]
SECRET = "tw-cred-5f3a9c2e71d04b88"  # not key-shaped, and its variable's name does not say "KEY"


def _tierwise(root: Path, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MY_CRED": SECRET, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args, "--project", str(root)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=240)


def _project(root: Path, server) -> Path:
    models = {"api": {"litellm": "openai/fake-model", "api_base": server.base_url, "api_key_env": "MY_CRED"}}
    return write_project(root, models=models, specs={"t": spec(candidates=["api"])},
                         config={"retries": 1, "retry_backoff_s": 0})


def _dump(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(repr(row) for table in meta.sorted_tables for row in conn.execute(sa.select(table)))
    finally:
        engine.dispose()


def _files_text(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def test_echoed_key_is_absent_from_sqlite_store_report_and_output(tmp_path, fake_openai):
    root = _project(tmp_path / "p", fake_openai)
    fake_openai.fail("echo_auth", times=None)
    ran = _tierwise(root, "run", env_extra={"LITELLM_LOG": "DEBUG"})
    assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
    assert fake_openai.count >= 6
    stored = _dump(f"sqlite:///{root / '.tierwise' / 'results.db'}")
    assert "Authorization: Bearer <MY_CRED>" in stored  # the echo happened, and was redacted
    reported = _tierwise(root, "report", "--out", str(root / "reports"))
    assert reported.returncode == 0, reported.stderr
    html = (root / "reports" / "index.html").read_text()
    assert "&lt;MY_CRED&gt;" in html or "\\u003cMY_CRED\\u003e" in html
    for text in (stored, ran.stdout, ran.stderr, reported.stdout, reported.stderr):
        assert SECRET not in text
    assert SECRET.encode() not in _files_text(root)


@pytest.mark.postgres
def test_echoed_key_is_absent_from_the_postgres_store(tmp_path, fake_openai, pg_url):
    root = _project(tmp_path / "p", fake_openai)
    fake_openai.fail("echo_auth", times=None)
    ran = _tierwise(root, "run", "--store", pg_url)
    assert "Traceback" not in ran.stderr, ran.stderr[-3000:]
    stored = _dump(pg_url)
    assert "Authorization: Bearer <MY_CRED>" in stored
    assert SECRET not in stored + ran.stdout + ran.stderr


def test_registered_secret_is_redacted_whatever_its_shape(monkeypatch):
    register_secret("plain-value-xyz", "WHATEVER")
    assert redact("got plain-value-xyz back") == "got <WHATEVER> back"


def test_a_secret_put_in_the_environment_or_changed_after_a_redaction_is_redacted(monkeypatch):
    from harness.util import redact

    monkeypatch.setenv("TW_LATE_TOKEN", "first-secret-value")
    assert redact("a first-secret-value b") == "a <TW_LATE_TOKEN> b"
    monkeypatch.setenv("TW_LATE_TOKEN", "second-secret-value")
    assert redact("first-secret-value second-secret-value") == "first-secret-value <TW_LATE_TOKEN>"
    monkeypatch.delenv("TW_LATE_TOKEN")
    assert redact("second-secret-value") == "second-secret-value"
