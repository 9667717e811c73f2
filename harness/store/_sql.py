"""The store's SQL plumbing: engines (SQLite with WAL, PostgreSQL) that redact every write,
reading results into pandas, and the temporary table of current call keys that selects the
current rows in SQL."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ..errors import MissingDependency, StoreError
from ._schema import results


CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


def read_frame(conn: sa.Connection, query: sa.Select):
    """`pandas.read_sql(query, conn)`, the same frame (values, dtypes, index), built from plain
    tuples: pandas turns SQLAlchemy's Row objects into tuples one by one, at several times the
    cost of the query itself."""
    import pandas as pd

    result = conn.execute(query)
    return pd.DataFrame.from_records([tuple(row) for row in result], columns=list(result.keys()), coerce_float=True)


def current_rows(current: dict[tuple[str, str], dict[tuple[str, str], tuple[str, str, str]]]
                 ) -> list[tuple[str, str, str, str, str, str]]:
    """Plan.current_keys as rows of (task, model, case id, call key, case hash, grader hash): one
    per call the specs ask for."""
    return [(task, model, case[0], *key) for (task, model), cases in current.items() for case, key in cases.items()]


_CURRENT_COLUMNS = ("task", "model", "case_id", "call_key", "case_hash", "grader_hash")


@contextmanager
def current_keys_table(conn: sa.Connection, rows: list[tuple[str, str, str, str, str, str]]):
    """A temporary table of current (task, model, case id, call key, case hash, grader hash),
    dropped on exit. Joined on the results' unique key, it selects the current rows in SQL."""
    # (task, model, case id, call key) is unique in the current keys (a case has one call key per
    # repeat); as the primary key it also indexes the table for NOT EXISTS lookups (prune).
    table = sa.Table(f"tw_current_{uuid.uuid4().hex[:8]}", sa.MetaData(),
                     *(sa.Column(name, sa.String(200) if name in ("task", "model", "case_id") else sa.String(64),
                                 primary_key=name in ("task", "model", "case_id", "call_key"))
                       for name in _CURRENT_COLUMNS), prefixes=["TEMPORARY"])
    table.create(conn)
    try:
        if rows:  # straight to the driver: SQLAlchemy's per-row parameter handling costs more than the insert
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(_CURRENT_COLUMNS)}) "
                                 f"VALUES ({', '.join(mark for _ in _CURRENT_COLUMNS)})", rows)
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"ANALYZE {table.name}"))  # a temp table has no statistics otherwise
        yield table
    finally:
        table.drop(conn)
        conn.commit()


def matches_current(table: sa.Table):
    return sa.and_(*(results.c[name] == table.c[name] for name in _CURRENT_COLUMNS))


def dialect_insert(name: str):
    """INSERT with ON CONFLICT for the dialects (by name) that have it (SQLite, PostgreSQL), else None."""
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    return insert


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"store {url}: cannot create the folder {Path(path).parent} "
                                 f"({exc.strerror or exc}); fix: set store: in tierwise.yaml (or --store) "
                                 f"to a path you can write, e.g. sqlite:///.tierwise/results.db") from None
        engine = _redacting(sa.create_engine(url, connect_args={"timeout": 30}))

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # WAL: readers never block the writer; NORMAL: no fsync per commit
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    try:
        return _redacting(sa.create_engine(url, pool_pre_ping=True))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise StoreError(f"store URL {safe_url(url)!r} is not usable ({exc}); fix: use sqlite:///path.db or "
                         f"postgresql+psycopg://user@host/db") from None
    except ModuleNotFoundError as exc:
        extra = "postgres" if url.startswith("postgres") else None
        raise MissingDependency(exc.name or "the driver", extra, "the store URL needs it") from None


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<store url>"


def first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]


# The statements that write a table, and the table they write; the temporary table of current
# keys holds only hashes and ids the store already holds, and is left alone (it is the hot path).
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE)\s+"?([A-Za-z_][A-Za-z0-9_]*)', re.I)


def _redacting(engine: sa.Engine) -> sa.Engine:
    """The one redaction path of the store: every INSERT and UPDATE any code sends through this
    engine (results, grades and their detail, the response cache, runs, the usage ledger, and
    whatever table comes next) has each text parameter passed through util.redactor before it
    reaches the driver, so no write method can forget to. Reads are left as they are."""

    @sa.event.listens_for(engine, "before_cursor_execute", retval=True)
    def _hide(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 - the event's signature
        target = _WRITE.match(statement)
        if target is None or target.group(1).startswith("tw_current_") or not parameters:
            return statement, parameters
        from ..util import redactor

        hide = redactor()
        # executemany sends a list of rows; a batched "insertmanyvalues" INSERT one flat row
        # (with executemany still true), so the shape decides, not the flag.
        if isinstance(parameters, list) and isinstance(parameters[0], (tuple, list, dict)):
            return statement, [_redacted(row, hide) for row in parameters]
        return statement, _redacted(parameters, hide)

    return engine


_SHORTEST_SECRET = 6  # util.register_secret's minimum; shorter texts hold no secret and no key shape


def _redacted(row, hide):
    """One statement's parameters (a tuple, list or dict of values, as the driver takes them)
    with every text redacted; other values as they are."""
    if isinstance(row, dict):
        return {k: hide(v) if isinstance(v, str) and len(v) >= _SHORTEST_SECRET else v for k, v in row.items()}
    return type(row)(hide(v) if isinstance(v, str) and len(v) >= _SHORTEST_SECRET else v for v in row)
