"""Shared fixtures. Environment set here takes effect before any test imports litellm."""

from __future__ import annotations

import os

# litellm otherwise fetches its model price map from GitHub at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# litellm's HTTP client honours HTTP(S)_PROXY; keep 127.0.0.1 traffic off any proxy.
for _name in ("NO_PROXY", "no_proxy"):
    _hosts = [h for h in os.environ.get(_name, "").split(",") if h]
    os.environ[_name] = ",".join(_hosts + [h for h in ("127.0.0.1", "localhost") if h not in _hosts])

import pytest  # noqa: E402

from tests.fake_openai import FakeOpenAI  # noqa: E402


@pytest.fixture
def fake_openai():
    """A started FakeOpenAI server with the default echo responder."""
    with FakeOpenAI() as server:
        yield server


PG_URL = os.environ.get("TIERWISE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url(request, tmp_path):
    """A SQLAlchemy URL into a fresh schema of the local PostgreSQL server, dropped afterwards."""
    pytest.importorskip("psycopg")
    import sqlalchemy as sa

    schema = f"tw_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError:
        admin.dispose()
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    yield PG_URL + f"?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
