"""Shared fixtures. Environment set here takes effect before any test imports litellm."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

# litellm otherwise fetches its model price map from GitHub at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# litellm's HTTP client honours HTTP(S)_PROXY; keep 127.0.0.1 traffic off any proxy.
for _name in ("NO_PROXY", "no_proxy"):
    _hosts = [h for h in os.environ.get(_name, "").split(",") if h]
    os.environ[_name] = ",".join(_hosts + [h for h in ("127.0.0.1", "localhost") if h not in _hosts])

import pytest  # noqa: E402

from tests.fake_openai import FakeOpenAI  # noqa: E402


def in_ci() -> bool:
    """True under CI: any non-empty CI other than "0" or "false" (CI itself sets CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def require(condition: object, why: str) -> None:
    """Skip the test when a service or dependency that CI installs is missing -- or, under CI, fail it.

    scripts/test installs the [local,dev] extras and Chromium and starts PostgreSQL, so in CI a missing
    one is a broken setup, and a test that skips there would pass without checking anything. Outside CI
    the test skips with `why` as its one-line reason. This is the only place that rule is written.
    """
    if condition:
        return
    if in_ci():
        pytest.fail(f"{why} (CI={os.environ['CI']!r}: CI provides this, so its absence fails the test)", pytrace=False)
    pytest.skip(why)


def require_module(name: str, why: str | None = None) -> ModuleType:
    """`pytest.importorskip` under `require`'s rule: the imported module, a skip, or under CI a failure."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(False, why or f"needs {name} ({exc})")
        raise  # unreachable: require skipped or failed


def pytest_runtest_setup(item):
    """`@pytest.mark.requires(condition, why)` (or a module's pytestmark) runs `require` before the test."""
    for mark in item.iter_markers("requires"):
        require(*mark.args, **mark.kwargs)


@pytest.fixture
def fake_openai():
    """A started FakeOpenAI server with the default echo responder."""
    with FakeOpenAI() as server:
        yield server


PG_URL = os.environ.get("TIERWISE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_schemas(tmp_path):
    """Makes SQLAlchemy URLs, each into a fresh schema of the local PostgreSQL server; all dropped afterwards."""
    require_module("psycopg", "needs psycopg: pip install -e '.[dev]'")
    import sqlalchemy as sa

    admin, made = sa.create_engine(PG_URL), []

    def make() -> str:
        schema = f"tw_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}_{len(made)}"
        try:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        except sa.exc.OperationalError as exc:
            where = sa.engine.make_url(PG_URL).render_as_string(hide_password=True)
            require(False, f"no PostgreSQL server at {where} ({str(exc.orig).strip().splitlines()[0]})")
        made.append(schema)
        return PG_URL + f"?options=-csearch_path%3D{schema}"

    yield make
    if made:
        with admin.begin() as conn:
            for schema in made:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_schemas):
    """A SQLAlchemy URL into a fresh schema of the local PostgreSQL server, dropped afterwards."""
    return pg_schemas()


def interruptible() -> None:
    """preexec_fn for a child a test will Ctrl-C: SIGINT back to its default. A shell's background
    job (`nohup … &`, a CI runner's) starts with SIGINT ignored, every child inherits that, and
    Python then installs no KeyboardInterrupt handler: the test would see the run finish instead."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
