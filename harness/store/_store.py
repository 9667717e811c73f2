"""The results store: SQLAlchemy 2.0 Core over SQLite (default, WAL) or PostgreSQL.

Tables: runs, results (one row per task x model x case x call key), grades, and a
response cache keyed on model + rendered messages + every call parameter. The schema is
versioned by an ordered list of named migrations.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

from ..errors import StoreError
from ._schema import (
    MIGRATIONS,
    ResultRow,
    grades,
    migrations_table,
    response_cache,
    results,
    runs,
)


class Store:
    """A results store at a SQLAlchemy URL, migrated to the current schema on open."""

    def __init__(self, url: str):
        self.url = url
        self.engine = _make_engine(url)
        self._migrate()

    # -- schema -----------------------------------------------------------------
    def _migrate(self) -> None:
        # Several shards opening a new store at once race to create it: the losers find its
        # tables or migration rows already there, and trying again applies what is missing.
        for attempt in range(3):
            try:
                self._apply_migrations()
                return
            except sa.exc.SQLAlchemyError as exc:
                if attempt == 2:
                    raise StoreError(f"{safe_url(self.url)}: cannot prepare the store ({_first_line(exc)}); "
                                     f"fix: check the store URL and that it is writable") from None
                time.sleep(0.2 * (attempt + 1))

    def _apply_migrations(self) -> None:
        try:
            with self.engine.begin() as conn:
                migrations_table.create(conn, checkfirst=True)
                applied = {r[0] for r in conn.execute(sa.select(migrations_table.c.name))}
                known = {name for name, _ in MIGRATIONS}
                unknown = sorted(applied - known)
                if unknown:
                    raise StoreError(f"{safe_url(self.url)}: store has migration {unknown[-1]!r} from a newer "
                                     f"tierwise; fix: upgrade tierwise (pip install -U tierwise)")
                for name, fn in MIGRATIONS:
                    if name not in applied:
                        fn(conn)
                        conn.execute(migrations_table.insert().values(name=name, applied_at=time.time()))
        except sa.exc.OperationalError as exc:
            if "already exists" in str(exc):
                raise  # a concurrent migration; _migrate retries
            raise StoreError(f"{safe_url(self.url)}: cannot open the store ({_first_line(exc)}); "
                             f"fix: check the store URL in tierwise.yaml or --store") from None

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(migrations_table)).scalar_one()

    # -- runs -------------------------------------------------------------------
    def start_run(self, **fields: Any) -> str:
        run_id = uuid.uuid4().hex[:12]
        info = fields.pop("info", None)
        with self.engine.begin() as conn:
            conn.execute(runs.insert().values(id=run_id, started_at=time.time(), status="running",
                                              info=json.dumps(info or {}), **fields))
        return run_id

    def finish_run(self, run_id: str, status: str, info: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"finished_at": time.time(), "status": status}
        if info is not None:
            values["info"] = json.dumps(info)
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))

    def runs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.started_at)).mappings().all()
        return [dict(r) for r in rows]

    # -- results ----------------------------------------------------------------
    def existing(self, task: str, model: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Stored results of one task and model, keyed by (case_id, call_key)."""
        cols = [results.c.id, results.c.case_id, results.c.call_key, results.c.error,
                results.c.grader_hash, results.c.case_hash, results.c.judge_errors]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols).where(results.c.task == task, results.c.model == model))
            return {(r.case_id, r.call_key): dict(r._mapping) for r in rows}

    def cached_responses(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Cached responses for many call keys at once."""
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                query = sa.select(response_cache.c.key, response_cache.c.response).where(response_cache.c.key.in_(chunk))
                found.update({k: json.loads(v) for k, v in conn.execute(query)})
        return found

    def write_results(self, rows: Iterable[ResultRow]) -> int:
        """Write finished results in one transaction: upsert on (task, model, case, call key),
        replace their grades, and cache successful responses. A few statements per batch, not
        per row, so the writer keeps up with many concurrent calls."""
        # A batch may finish the same call twice; the last write wins, as it would one by one.
        rows = list({(r.task, r.model, r.case_id, r.call_key): r for r in rows}.values())
        if not rows:
            return 0
        with self.engine.begin() as conn:
            ids = self._upsert_results(conn, rows)
            conn.execute(grades.delete().where(grades.c.result_id.in_(ids)))
            grade_rows = [
                {"result_id": result_id, "idx": i, "grader": g["grader"],
                 "options": json.dumps(g["options"], sort_keys=True, default=str), "weight": g["weight"],
                 "score": g["score"], "passed": g["passed"], "reason": g["reason"],
                 "detail": json.dumps(g["detail"], ensure_ascii=False, default=str) if g.get("detail") else None,
                 "eval_cost": g.get("eval_cost")}
                for result_id, row in zip(ids, rows) for i, g in enumerate(row.grades)
            ]
            if grade_rows:
                conn.execute(grades.insert(), grade_rows)
            cache_rows = {row.cache_key: {"key": row.cache_key, "model": row.model, "created_at": time.time(),
                                          "response": json.dumps(row.cache_response, ensure_ascii=False)}
                          for row in rows if row.cache_key and row.cache_response is not None and row.error is None}
            for row in rows:  # a judge's answers, cached like a candidate's (never its failed calls)
                for entry in row.judge_cache or ():
                    cache_rows[entry["key"]] = {"key": entry["key"], "model": entry["model"], "created_at": time.time(),
                                                "response": json.dumps(entry["response"], ensure_ascii=False)}
            if cache_rows:
                self._insert_cache(conn, list(cache_rows.values()))
        return len(rows)

    def _upsert_results(self, conn: sa.Connection, rows: list[ResultRow]) -> list[int]:
        """Upsert the batch's result rows; returns their ids in order (one statement where the
        dialect has INSERT … ON CONFLICT … RETURNING)."""
        now = time.time()
        batch: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for row in rows:
            values = {k: v for k, v in row.__dict__.items()
                      if k not in ("grades", "cache_key", "cache_response", "judge_cache")}
            values["messages"] = json.dumps(row.messages, ensure_ascii=False)
            values["params"] = json.dumps(row.params, ensure_ascii=False, sort_keys=True, default=str)
            values["created_at"] = now
            batch[(row.task, row.model, row.case_id, row.call_key)] = values
        insert = _dialect_insert(conn)
        if insert is not None:
            stmt = insert(results)
            stmt = stmt.on_conflict_do_update(
                index_elements=[results.c.task, results.c.model, results.c.case_id, results.c.call_key],
                set_={k: stmt.excluded[k] for k in next(iter(batch.values()))})
            returned = conn.execute(stmt.returning(results.c.task, results.c.model, results.c.case_id,
                                                   results.c.call_key, results.c.id), list(batch.values()))
            ids = {tuple(r[:4]): r[4] for r in returned}
        else:
            ids = {key: self._upsert_one(conn, values) for key, values in batch.items()}
        return [ids[(row.task, row.model, row.case_id, row.call_key)] for row in rows]

    def _upsert_one(self, conn: sa.Connection, values: dict[str, Any]) -> int:
        key = (results.c.task == values["task"]) & (results.c.model == values["model"]) & \
              (results.c.case_id == values["case_id"]) & (results.c.call_key == values["call_key"])
        existing = conn.execute(sa.select(results.c.id).where(key)).scalar()
        if existing is None:
            return conn.execute(results.insert().values(**values)).inserted_primary_key[0]
        conn.execute(results.update().where(results.c.id == existing).values(**values))
        return existing

    def put_cache(self, entries: list[dict[str, Any]]) -> None:
        """Cache responses that have no result row yet ({key, model, response}): a candidate's
        answer waiting for its judge, so a crash before the judge is done loses no call."""
        if not entries:
            return
        now = time.time()
        rows = {e["key"]: {"key": e["key"], "model": e["model"], "created_at": now,
                           "response": json.dumps(e["response"], ensure_ascii=False)} for e in entries}
        with self.engine.begin() as conn:
            self._insert_cache(conn, list(rows.values()))

    def _insert_cache(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        insert = _dialect_insert(conn)
        if insert is not None:
            stmt = insert(response_cache)
            # The newest answer wins: after --no-cache, a regrade must use what was called last.
            conn.execute(stmt.on_conflict_do_update(index_elements=[response_cache.c.key],
                                                    set_={"response": stmt.excluded.response,
                                                          "created_at": stmt.excluded.created_at}), rows)
            return
        conn.execute(response_cache.delete().where(response_cache.c.key.in_([r["key"] for r in rows])))
        conn.execute(response_cache.insert(), rows)

    def results_frame(self, tasks: list[str] | None = None,
                      current: dict[tuple[str, str], dict[str, tuple[str, str, str]]] | None = None):
        """All results as a pandas DataFrame (one row per case x model).

        `current` maps (task, model) to {case id: (call key, case hash, grader hash)} of the
        current specs (Plan.current_keys); when given, only matching rows are returned, so a
        frame describes exactly what the specs and golden sets ask today.
        """
        import pandas as pd

        query = sa.select(results)
        if tasks:
            query = query.where(results.c.task.in_(tasks))
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        if current is not None and not frame.empty:
            keep = [current.get((task, model), {}).get(case_id) == (call_key, case_h, grader_h)
                    for task, model, case_id, call_key, case_h, grader_h
                    in zip(frame["task"], frame["model"], frame["case_id"], frame["call_key"],
                           frame["case_hash"], frame["grader_hash"])]
            frame = frame[keep].reset_index(drop=True)
        return frame

    def grades_frame(self, result_ids: list[int] | None = None):
        import pandas as pd

        query = sa.select(grades)
        if result_ids is not None:
            query = query.where(grades.c.result_id.in_(result_ids))
        with self.engine.connect() as conn:
            return pd.read_sql(query, conn)

    def close(self) -> None:
        self.engine.dispose()


def _dialect_insert(conn: sa.Connection):
    """INSERT with ON CONFLICT for the dialects that have it (SQLite, PostgreSQL), else None."""
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    return insert


def _make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # WAL: readers never block the writer; NORMAL: no fsync per commit
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise StoreError(f"store URL {safe_url(url)!r} is not usable ({exc}); fix: use sqlite:///path.db or "
                         f"postgresql+psycopg://user@host/db") from None
    except ModuleNotFoundError as exc:
        fix = "pip install 'tierwise[postgres]'" if url.startswith("postgres") else f"pip install {exc.name}"
        raise StoreError(f"store URL needs the {exc.name} driver; fix: {fix}") from None


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<store url>"


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
