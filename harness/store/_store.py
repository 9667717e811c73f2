"""The results store: SQLAlchemy 2.0 Core over SQLite (default, WAL) or PostgreSQL.

Tables: runs, results (one row per task x model x case x call key), grades, and a
response cache keyed on model + rendered messages + every call parameter. The schema is
versioned by an ordered list of named migrations.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, get_args

import sqlalchemy as sa

from ..errors import EnvironmentFailure, StoreError
from ._migrations import MIGRATIONS, migrations_table
from ._schema import ResultRow, RunStatus, grades, response_cache, results, runs
from ._sql import (
    CHUNK,
    current_keys_table,
    current_rows,
    dialect_insert,
    first_line,
    make_engine,
    matches_current,
    read_frame,
    safe_url,
)

if TYPE_CHECKING:
    from ._usage import UsageWrite

# pg_advisory_xact_lock key for schema changes: any constant, the same in every tierwise.
_MIGRATION_LOCK = 0x7469_6572_7769_7365 & 0x7FFF_FFFF_FFFF_FFFF  # "tierwise"
_IN_CHUNK = 900  # ids per IN (…) query: under SQLite's oldest bound-parameter limit
STALE_RUN_S = 6 * 3600  # a `running` run from another host with no write for this long is abandoned


@lru_cache(maxsize=8)
def _results_upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (task, model, case, call key) DO UPDATE … RETURNING the keys and id,
    for rows of these columns; None where the dialect has no upsert. Built once per store kind,
    not per batch: building it (its `excluded` columns) was a fifth of the writer's CPU."""
    insert = dialect_insert(dialect)
    if insert is None:
        return None
    stmt = insert(results)
    stmt = stmt.on_conflict_do_update(
        index_elements=[results.c.task, results.c.model, results.c.case_id, results.c.call_key],
        set_={k: stmt.excluded[k] for k in columns})
    return stmt.returning(results.c.task, results.c.model, results.c.case_id, results.c.call_key, results.c.id)


@lru_cache(maxsize=4)
def _cache_upsert(dialect: str) -> Any:
    """The response cache's upsert (None where the dialect has none): the newest answer wins, so
    after --no-cache a regrade uses what was called last."""
    insert = dialect_insert(dialect)
    if insert is None:
        return None
    stmt = insert(response_cache)
    return stmt.on_conflict_do_update(index_elements=[response_cache.c.key],
                                      set_={"response": stmt.excluded.response, "created_at": stmt.excluded.created_at})


class Store:
    """A results store at a SQLAlchemy URL, migrated to the current schema on open."""

    def __init__(self, url: str, must_exist: bool = False):
        """must_exist: a reader (recommend, report) is told "no results yet" rather than
        creating an empty SQLite database."""
        self.url = url
        self.rejected: list[str] = []  # rows the database refused even as failed calls (write_results)
        if must_exist and _sqlite_path(url) is not None and not _sqlite_path(url).exists():
            raise StoreError(f"{_sqlite_path(url)}: no results yet (the store does not exist); fix: run `tierwise run` "
                             f"first, or point --store / tierwise.yaml's store: at the store that has them")
        self.engine = make_engine(url)
        self._migrate()

    @staticmethod
    def missing(url: str) -> bool:
        """True when the URL names a SQLite file that does not exist yet (nothing was run)."""
        path = _sqlite_path(url)
        return path is not None and not path.exists()

    @staticmethod
    def empty_frame():
        """A results frame with no rows and the columns of results_frame."""
        import pandas as pd

        return pd.DataFrame({c.name: pd.Series(dtype=object) for c in results.columns})

    # -- schema -----------------------------------------------------------------
    def _migrate(self) -> None:
        """Bring the store to the current schema. Several CI shards may open a new store at
        once: the first takes a lock (PostgreSQL: a transaction-scoped advisory lock; SQLite:
        BEGIN IMMEDIATE, the database's write lock), the others wait for it and then find every
        migration applied. A store already current is only read, never locked."""
        try:
            if self._pending_migrations():
                self._apply_migrations()
        except sa.exc.OperationalError as exc:
            if _sqlite_path(self.url) is not None:  # a path that cannot be a database: bad input
                raise StoreError(f"{safe_url(self.url)}: cannot open the store ({first_line(exc)}); fix: check the "
                                 f"store URL in tierwise.yaml or --store, and that it is writable") from None
            # a database server that is down or refuses us: not bad input, and re-running may succeed
            raise EnvironmentFailure(f"{safe_url(self.url)}: cannot reach or open the store ({first_line(exc)}); "
                                     f"fix: check that the database server runs and "
                                     f"accepts this user, and the store URL in tierwise.yaml or --store") from None
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"{safe_url(self.url)}: cannot open the store ({first_line(exc)}); "
                             f"fix: check the store URL in tierwise.yaml or --store, and that it is writable") from None

    def _pending_migrations(self, conn: sa.Connection | None = None) -> list:
        """The migrations this store still needs; a store from a newer tierwise is refused."""
        if conn is None:
            with self.engine.connect() as conn:
                return self._pending_migrations(conn)
        if not sa.inspect(conn).has_table(migrations_table.name):
            return list(MIGRATIONS)
        applied = {r[0] for r in conn.execute(sa.select(migrations_table.c.name))}
        unknown = sorted(applied - {name for name, _ in MIGRATIONS})
        if unknown:
            raise StoreError(f"{safe_url(self.url)}: store has migration {unknown[-1]!r} from a newer "
                             f"tierwise; fix: upgrade tierwise (pip install -U tierwise)")
        return [(name, fn) for name, fn in MIGRATIONS if name not in applied]

    def _apply_migrations(self) -> None:
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            migrations_table.create(conn, checkfirst=True)
            for name, fn in self._pending_migrations(conn):
                fn(conn)
                conn.execute(migrations_table.insert().values(name=name, applied_at=time.time()))
            conn.commit()

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(migrations_table)).scalar_one()

    # -- runs -------------------------------------------------------------------
    def start_run(self, **fields: Any) -> str:
        """Record a new run (its process id and host in info, so a later run can tell when it
        died), marking earlier runs that died without finishing `abandoned` first."""
        import socket

        run_id = uuid.uuid4().hex[:12]
        info = {**(fields.pop("info", None) or {}), "pid": os.getpid(), "host": socket.gethostname()}
        self.mark_abandoned()
        with self.engine.begin() as conn:
            conn.execute(runs.insert().values(id=run_id, started_at=time.time(), status="running",
                                              info=json.dumps(info), **fields))
        return run_id

    def mark_abandoned(self, stale_s: float = STALE_RUN_S) -> list[str]:
        """Runs still `running` whose process is gone (killed with SIGKILL, a lost CI machine)
        become `abandoned`. On this host a run is gone when its process id is not alive; a run
        from another host when it has written nothing for stale_s seconds (6 hours by default).
        Returns their ids."""
        import socket

        host, now = socket.gethostname(), time.time()
        gone = []
        with self.engine.connect() as conn:
            running = conn.execute(sa.select(runs.c.id, runs.c.started_at, runs.c.info)
                                   .where(runs.c.status == "running")).all()
            for run_id, started_at, info_text in running:
                try:
                    info = json.loads(info_text or "{}")
                except ValueError:
                    info = {}
                if info.get("host") == host and isinstance(info.get("pid"), int):
                    if not _alive(info["pid"]):
                        gone.append(run_id)
                    continue
                last = conn.execute(sa.select(sa.func.max(results.c.created_at))
                                    .where(results.c.run_id == run_id)).scalar()
                if now - max(last or 0.0, started_at or 0.0) > stale_s:
                    gone.append(run_id)
        if gone:
            with self.engine.begin() as conn:
                conn.execute(runs.update().where(runs.c.id.in_(gone), runs.c.status == "running")
                             .values(status="abandoned"))
        return gone

    def finish_run(self, run_id: str, status: RunStatus, info: dict[str, Any] | None = None) -> None:
        """Record how a run ended (a RunStatus other than running) and its final info."""
        if status not in get_args(RunStatus) or status == "running":
            raise ValueError(f"run status {status!r}: not how a run ends; one of "
                             f"{', '.join(s for s in get_args(RunStatus) if s != 'running')}")
        values: dict[str, Any] = {"finished_at": time.time(), "status": status}
        if info is not None:
            values["info"] = json.dumps(info)
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))

    def runs(self, ids: Iterable[str] | None = None, group: str | None = None) -> list[dict[str, Any]]:
        """Run records, oldest first; only these ids, or only one run group's, when given."""
        query = sa.select(runs).order_by(runs.c.started_at)
        if group is not None:
            query = query.where(runs.c.run_group == group)
        with self.engine.connect() as conn:
            if ids is None:
                return [dict(r) for r in conn.execute(query).mappings()]
            wanted, out = sorted(set(ids)), []
            for start in range(0, len(wanted), CHUNK):
                out += [dict(r) for r in conn.execute(query.where(runs.c.id.in_(wanted[start:start + CHUNK])))
                        .mappings()]
        return sorted(out, key=lambda r: r["started_at"])

    # -- results ----------------------------------------------------------------
    def reusable(self, task: str, model: str) -> set[tuple[str, str, str, str]]:
        """(case id, call key, case hash, grader hash) of one task and model's stored results that
        a run may keep as they are: the call succeeded and every judge gave a verdict."""
        c = results.c
        query = sa.select(c.case_id, c.call_key, c.case_hash, c.grader_hash).where(
            c.task == task, c.model == model, c.error.is_(None), sa.or_(c.judge_errors.is_(None), c.judge_errors == 0))
        with self.engine.connect() as conn:
            return {tuple(r) for r in conn.execute(query)}

    def stored_pairs(self, tasks: list[str]) -> set[tuple[str, str]]:
        """The (task, model) pairs with any stored result, current or not."""
        query = sa.select(results.c.task, results.c.model).distinct().where(results.c.task.in_(tasks))
        with self.engine.connect() as conn:
            return {(r.task, r.model) for r in conn.execute(query)}

    def spend(self, run_id: str) -> float:
        """Dollars the calls of one run cost (cached answers and unpriced calls count nothing)."""
        query = sa.select(sa.func.coalesce(sa.func.sum(results.c.cost), 0.0)).where(
            results.c.run_id == run_id, results.c.cached.is_(False))
        with self.engine.connect() as conn:
            return float(conn.execute(query).scalar_one())

    def spend_by_model(self, run_id: str) -> dict[tuple[str, str], tuple[int, float]]:
        """Per (task, model): the priced calls one run made and the highest cost of one of them
        (cached answers count nothing): the measured rate `--budget` estimates the next call by."""
        query = (sa.select(results.c.task, results.c.model, sa.func.count(), sa.func.max(results.c.cost))
                 .where(results.c.run_id == run_id, results.c.cached.is_(False), results.c.cost.is_not(None))
                 .group_by(results.c.task, results.c.model))
        with self.engine.connect() as conn:
            return {(task, model): (int(n), float(top)) for task, model, n, top in conn.execute(query)}

    def results_until(self, task: str, until: float | None, columns: list[str]):
        """One task's results stored at or before `until` (unix time; None: all), oldest first:
        the store as it stood when a run finished, minus rows a later call has replaced since."""
        query = sa.select(*[results.c[c] for c in columns]).where(results.c.task == task).order_by(results.c.id)
        if until is not None:
            query = query.where(results.c.created_at <= until)
        with self.engine.connect() as conn:
            return read_frame(conn, query)

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
        per row, so the writer keeps up with many concurrent calls.

        Safe beside other writers (several runs or shards on one store): rows are written in
        key order, so two batches lock shared rows in the same order, and a deadlock or
        serialization failure the database still reports retries the batch. A row the
        database refuses (a value it cannot hold) never takes its batch down: the others
        are written, the refused one is stored as a failed call saying why, or, when even
        that is refused, listed in `self.rejected`. Returns the number of rows stored."""
        # A batch may finish the same call twice; the last write wins, as it would one by one.
        rows = sorted({_key(r): r for r in rows}.values(), key=_key)
        if not rows:
            return 0
        _prepare_rows(rows)
        try:
            self._transact(lambda conn: self._write_batch(conn, rows))
            return len(rows)
        except (sa.exc.DataError, sa.exc.IntegrityError):
            pass  # one row the database refuses: write the rest one by one
        written = 0
        for row in rows:
            try:
                self._transact(lambda conn: self._write_batch(conn, [row]))
                written += 1
                continue
            except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
                refused = first_line(exc)
            try:
                self._transact(lambda conn: self._write_batch(conn, [_refused_row(row, refused)]))
                row.error, row.output, row.score, row.passed = _refused_row(row, refused).error, None, 0.0, False
                written += 1
            except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
                self.rejected.append(f"{row.task} × {row.model} × case {row.case_id[:80]!r}: {first_line(exc)}")
        return written

    def _transact(self, work: Callable[[sa.Connection], Any], attempts: int = 8) -> Any:
        """Run work in one transaction, again after a deadlock, a serialization failure or a
        busy SQLite database (another writer held it), with jittered backoff."""
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if attempt == attempts - 1 or not _transient(exc):
                    raise
                time.sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random()))

    def _write_batch(self, conn: sa.Connection, rows: list[ResultRow]) -> None:
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
            self._insert_cache(conn, sorted(cache_rows.values(), key=lambda r: r["key"]))

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
        stmt = _results_upsert(conn.dialect.name, tuple(next(iter(batch.values()))))
        if stmt is not None:
            returned = conn.execute(stmt, list(batch.values()))
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
        stmt = _cache_upsert(conn.dialect.name)
        if stmt is not None:
            conn.execute(stmt, rows)
            return
        conn.execute(response_cache.delete().where(response_cache.c.key.in_([r["key"] for r in rows])))
        conn.execute(response_cache.insert(), rows)

    def results_frame(self, tasks: list[str] | None = None,
                      current: dict[tuple[str, str], dict[str, tuple[str, str, str]]] | None = None,
                      run_ids: Iterable[str] | None = None, columns: list[str] | None = None):
        """Results as a pandas DataFrame (one row per case x model), in the order they were stored.

        `current` maps (task, model) to {(case id, call key): (call key, case hash, grader hash)}
        of the current specs (Plan.current_keys; a case has one call key per repeat); when given,
        only matching rows are read: the keys go to a temporary table joined on the results'
        unique key in SQL, so the memory this takes is bounded by the current rows, not by the
        history. `run_ids` reads only those runs' rows; `columns` only those columns.
        """
        import pandas as pd

        cols = [results.c[c] for c in columns] if columns else [results]
        query = sa.select(*cols).order_by(results.c.id)
        if tasks:
            query = query.where(results.c.task.in_(tasks))
        with self.engine.connect() as conn:
            if run_ids is not None:
                ids = sorted(set(run_ids))
                frames = [read_frame(conn, query.where(results.c.run_id.in_(ids[i:i + CHUNK])))
                          for i in range(0, len(ids), CHUNK)] or [read_frame(conn, query.where(sa.false()))]
                frame = pd.concat(frames, ignore_index=True)
                return frame.sort_values("id", ignore_index=True) if "id" in frame else frame
            if current is None:
                return read_frame(conn, query)
            keys = [row for row in current_rows(current) if not tasks or row[0] in tasks]
            with current_keys_table(conn, keys) as table:
                query = query.join(table, matches_current(table))
                return read_frame(conn, query)

    def grades_frame(self, result_ids: list[int] | None = None):
        query = sa.select(grades)
        if result_ids is not None:
            query = query.where(grades.c.result_id.in_(result_ids))
        with self.engine.connect() as conn:
            return read_frame(conn, query)

    def task_runs(self, tasks: list[str] | None = None) -> list[tuple[str, str]]:
        """(task, run id) for every run that stored results of these tasks (all tasks without):
        one GROUP BY, not a read of the history."""
        query = sa.select(results.c.task, results.c.run_id).group_by(results.c.task, results.c.run_id)
        if tasks:
            query = query.where(results.c.task.in_(tasks))
        with self.engine.connect() as conn:
            return [(task, run_id) for task, run_id in conn.execute(query)]

    def grade_reasons(self, result_ids: Iterable[int]) -> Iterator[tuple[int, str, str, str | None]]:
        """(result id, grader, reason, detail) of every grade of these results, in grader order,
        read in chunks (a report of 10,000 cases asks for all of them)."""
        ids = sorted({int(i) for i in result_ids})
        g = grades.c
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                query = sa.select(g.result_id, g.grader, g.reason, g.detail).where(
                    g.result_id.in_(ids[start:start + _IN_CHUNK])).order_by(g.result_id, g.idx)
                yield from conn.execute(query).all()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append_usage(self, rows: Iterable[dict[str, Any]]) -> "UsageWrite":
        """Append usage-ledger rows (fitted to the table; a refused row alone): store/_usage.py."""
        from ._usage import append_usage

        return append_usage(self, rows)

    def usage_rows(self, columns: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The usage ledger's rows (these columns, default all), oldest first."""
        from ._usage import USAGE_COLUMNS, usage_rows

        return usage_rows(self, columns or USAGE_COLUMNS)

    def write_shadow_calls(self, rows: Iterable[dict[str, Any]]) -> int:
        """Store shadow-call rows (redacted); see store/_shadow.py."""
        from ._shadow import write_shadow_calls

        return write_shadow_calls(self.engine, rows)

    def shadow_calls(self, task: str | None = None, challenger: str | None = None,
                     since: float | None = None) -> list[dict[str, Any]]:
        """Shadow-call rows in call order (optionally one task, one challenger, since a time)."""
        from ._shadow import read_shadow_calls

        return read_shadow_calls(self.engine, task, challenger, since)

    def write_shadow_verdicts(self, rows: Iterable[dict[str, Any]]) -> int:
        """Store the pairwise judge's verdicts on shadow pairs; see store/_shadow.py."""
        from ._shadow import write_shadow_verdicts

        return write_shadow_verdicts(self.engine, rows)

    def shadow_verdicts(self, task: str, judge: str) -> dict[int, dict[str, Any]]:
        """A task's verdicts on shadow pairs by one judge fingerprint, by shadow call id."""
        from ._shadow import read_shadow_verdicts

        return read_shadow_verdicts(self.engine, task, judge)

    def write_live_verdicts(self, rows: Iterable[dict[str, Any]]) -> int:
        """Store the judge's verdicts on sampled live calls; see store/_shadow.py."""
        from ._shadow import write_live_verdicts

        return write_live_verdicts(self.engine, rows)

    def live_verdicts(self, task: str, judge: str) -> dict[str, dict[str, Any]]:
        """A task's verdicts on sampled live calls by one judge fingerprint, by call id."""
        from ._shadow import read_live_verdicts

        return read_live_verdicts(self.engine, task, judge)

    def call_inputs(self, call_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The template variables of these client calls, where the ledger captured them."""
        from ._usage import call_inputs

        return call_inputs(self, call_ids)

    def close(self) -> None:
        self.engine.dispose()

    # -- a run in progress, read while it writes (store/_progress.py; `tierwise view`) ------------
    def live_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Runs recorded `running` whose process is still there, newest first (nothing is written)."""
        from ._progress import live_runs

        return live_runs(self.engine, STALE_RUN_S, _alive, limit)

    def done_counts(self, current: dict, run_ids: Iterable[str] = ()) -> dict[tuple[str, str], int]:
        """(task, model) -> how many calls of `current` (Plan.current_keys) have a result a run keeps:
        written by `run_ids`, or stored without an error."""
        from ._progress import done_counts

        return done_counts(self.engine, current, run_ids)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a reused process id: the run that had it is not this one
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    except OSError:
        return True
    return True


def _sqlite_path(url: str) -> Path | None:
    """The database file of a sqlite:/// URL (None for other stores and in-memory ones)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.split("sqlite:///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" and not path.startswith("file:") else None


def _key(row: ResultRow) -> tuple[str, str, str, str]:
    return row.task, row.model, row.case_id, row.call_key


def _transient(exc: sa.exc.DBAPIError) -> bool:
    """A failure another attempt may cure: a deadlock or serialization failure (PostgreSQL
    40P01 / 40001), or SQLite busy past its timeout."""
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if state in ("40P01", "40001"):
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "deadlock detected" in text


def _refused_row(row: ResultRow, why: str) -> ResultRow:
    """The record of a result the database would not hold: a failed call that says why."""
    from dataclasses import replace

    return replace(row, messages=[], params={}, output=None, error=f"the store refused this result ({why[:300]})",
                   error_type="StoreError", finish_reason=None, score=0.0, passed=False, grades=[],
                   cache_key=None, cache_response=None)


def _prepare_rows(rows: list[ResultRow]) -> None:
    """Short provider strings cut to their columns' widths, the same on both stores. (Secrets
    are not this function's business: the engine redacts every write, store/_sql._redacting.)"""
    for row in rows:
        if row.finish_reason is not None and len(row.finish_reason) > 40:
            row.finish_reason = row.finish_reason[:40]
        if row.error_type is not None and len(row.error_type) > 100:
            row.error_type = row.error_type[:100]
