"""A store written by each earlier version, holding rows, opened by today's Store (as simonw/llm's
migration tests do): the rows come back as they were, hashes and all, and the schema is a new
store's. The old schemas are literal DDL captured from those versions (tests/store/old_stores.py)."""

from __future__ import annotations

import json
import math

import pytest
import sqlalchemy as sa

from harness.store import MIGRATIONS, SCHEMA_VERSION, ResultRow, Store
from tests.store.old_stores import OLD_STORES, OldStore

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
OLD = [pytest.param(s, id=s.name.split()[0]) for s in OLD_STORES]

RUN = {"id": "9f3a1c2b7d4e", "started_at": 1_700_000_000.5, "finished_at": 1_700_000_093.25, "status": "finished",
       "tierwise_version": "0.1.0", "litellm_version": "1.40.1", "price_map_version": "litellm 1.40.1",
       "argv": "tierwise run triage", "info": json.dumps({"tasks": ["triage"], "models": ["m"], "skipped": {}}),
       "run_group": "nightly"}
HASHES = {"spec_hash": "5e" * 32, "golden_hash": "601d" * 16, "grader_hash": "9ade" * 16}
RESULTS = [
    {"run_id": RUN["id"], "task": "triage", "model": "m", "case_id": "t-001", "call_key": "c1" * 32,
     "case_hash": "ca5e" * 16, **HASHES, "messages": json.dumps([{"role": "user", "content": "charged twice"}]),
     "params": json.dumps({"max_tokens": 8, "temperature": 0}), "output": "billing", "error": None,
     "error_type": None, "finish_reason": "stop", "prompt_tokens": 21, "completion_tokens": 2, "cost": 0.000125,
     "latency_ms": 180.5, "attempts": 1, "cached": False, "score": 1.0, "passed": True, "created_at": 1_700_000_010.0,
     "eval_cost": 0.0003, "judge_errors": 0, "confidence": 0.875},
    {"run_id": RUN["id"], "task": "triage", "model": "m", "case_id": "t-002", "call_key": "c2" * 32,
     "case_hash": "ca5f" * 16, **HASHES, "messages": json.dumps([{"role": "user", "content": "login fails"}]),
     "params": json.dumps({"max_tokens": 8, "temperature": 0}), "output": None, "error": "HTTP 500 from the provider",
     "error_type": "InternalServerError", "finish_reason": None, "prompt_tokens": None, "completion_tokens": None,
     "cost": None, "latency_ms": 30000.0, "attempts": 3, "cached": False, "score": 0.0, "passed": False,
     "created_at": 1_700_000_040.0, "eval_cost": None, "judge_errors": None, "confidence": None},
]
GRADE = {"idx": 0, "grader": "exact", "options": json.dumps({"normalize": ["strip", "lower"]}), "weight": 1.0,
         "score": 1.0, "passed": True, "reason": "expected 'billing', got 'billing'",
         "detail": json.dumps({"votes": [1, 1, 1]}), "eval_cost": 0.0003}
CACHE = {"key": "c1" * 32, "model": "m", "response": json.dumps({"output": "billing", "finish_reason": "stop"}),
         "created_at": 1_700_000_010.0}
USAGE = [
    {"at": 1_700_000_500.0, "call_id": "a" * 32, "task": "triage", "model": "m", "target": "openai/m", "attempt": 1,
     "kind": "primary", "outcome": "error", "final": False, "error_type": "RateLimitError", "error": "429",
     "contract_reason": None, "prompt_tokens": None, "completion_tokens": None, "cost": None, "latency_ms": 40.0,
     "trace": "req-42", "step": "route", "input": None, "output": None},
    {"at": 1_700_000_501.0, "call_id": "a" * 32, "task": "triage", "model": "backup", "target": "anthropic/b",
     "attempt": 2, "kind": "fallback", "outcome": "ok", "final": True, "error_type": None, "error": None,
     "contract_reason": None, "prompt_tokens": 20, "completion_tokens": 2, "cost": 0.0002, "latency_ms": 310.0,
     "trace": "req-42", "step": "route", "input": None, "output": None},
]
SHADOW = {"at": 1_700_000_502.0, "call_id": "a" * 32, "task": "triage", "incumbent": "backup", "challenger": "m",
          "outcome": "ok", "agree": True, "error_type": None, "error": None, "prompt_tokens": 20,
          "completion_tokens": 2, "cost": 0.0001, "latency_ms": 150.0, "trace": "req-42", "output": None,
          "incumbent_output": None}
ADDED_LATER = {"runs": {"run_group"}, "results": {"eval_cost", "judge_errors", "confidence"},
               "grades": {"detail", "eval_cost"}, "usage_ledger": {"stage", "deferred", "defer_reason", "confidence"}}


def _url(backend: str, tmp_path, request, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / name}"
    return request.getfixturevalue("pg_schemas")()


def _write_old_store(url: str, old: OldStore) -> dict[str, set[str]]:
    """The store as `old` left it, holding rows through its own columns; returns those columns."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in old.statements(conn.dialect.name):
            conn.execute(sa.text(statement))
        for i, name in enumerate(old.applied):
            conn.execute(sa.text("INSERT INTO tierwise_migrations (name, applied_at) VALUES (:n, :at)"),
                         {"n": name, "at": 1_600_000_000.0 + i})
        inspector = sa.inspect(conn)
        have = {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}

        def insert(table: str, row: dict) -> None:
            row = {k: v for k, v in row.items() if k in have[table]}
            names = ", ".join(f'"{k}"' for k in row)
            conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})"), row)

        insert("runs", RUN)
        for row in RESULTS:  # ids from the table's own sequence, as the old store gave them
            insert("results", row)
        result_id = conn.execute(sa.text("SELECT id FROM results WHERE case_id = 't-001'")).scalar_one()
        insert("grades", {"result_id": result_id, **GRADE})
        insert("response_cache", CACHE)
        if "usage_ledger" in have:
            for row in USAGE:
                insert("usage_ledger", row)
        if "shadow_calls" in have:
            insert("shadow_calls", SHADOW)
    engine.dispose()
    return have


def _expected(row: dict, table: str, had: dict[str, set[str]]) -> dict:
    """The row as the migrated store should give it back: columns added since the old store NULL."""
    return {k: (v if k in had[table] else None) for k, v in row.items()}


def _schema(url: str) -> dict:
    """Every table's columns (in order, with type, nullability and default), keys, indexes and
    foreign keys, as the database reports them."""
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    schema = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in inspector.get_columns(table)],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
            "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                    tuple(f["referred_columns"]), f["options"].get("ondelete"))
                                   for f in inspector.get_foreign_keys(table)),
        }
    engine.dispose()
    return schema


def _clean(value):
    """A frame's missing value (NaN, None) as None, numpy scalars as Python values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("old", OLD)
def test_a_store_written_by_an_earlier_version_keeps_its_rows(tmp_path, request, backend, old):
    url = _url(backend, tmp_path, request, "old.db")
    had = _write_old_store(url, old)
    with Store(url) as db:
        assert db.schema_version() == SCHEMA_VERSION
        assert db.runs() == [_expected(RUN, "runs", had)]
        frame = db.results_frame()
        got = [{k: _clean(v) for k, v in row.items() if k != "id"} for row in frame.to_dict("records")]
        assert got == [_expected(row, "results", had) for row in RESULTS]
        grades = [{k: _clean(v) for k, v in row.items()} for row in db.grades_frame().to_dict("records")]
        assert grades == [{"result_id": int(frame.loc[0, "id"]), **_expected(GRADE, "grades", had)}]
        assert db.cached_responses([CACHE["key"]]) == {CACHE["key"]: json.loads(CACHE["response"])}
        # the stored hashes still say "current": a run today reuses the succeeded call, not the failed one
        assert db.reusable("triage", "m") == {("t-001", "c1" * 32, "ca5e" * 16, "9ade" * 16)}
        assert db.usage_rows() == ([{**u, **dict.fromkeys(ADDED_LATER["usage_ledger"])} for u in USAGE]
                                   if "usage_ledger" in had else [])
        assert [{k: v for k, v in r.items() if k != "id"} for r in db.shadow_calls()] == \
            ([SHADOW] if "shadow_calls" in had else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("old", OLD)
def test_a_migrated_store_takes_new_rows_after_its_old_ones(tmp_path, request, backend, old):
    url = _url(backend, tmp_path, request, "old.db")
    _write_old_store(url, old)
    row = ResultRow(**{k: v for k, v in RESULTS[0].items() if k not in ("created_at",)} | {
        "case_id": "t-003", "messages": [], "params": {}, "grades": [], "cost": 0.5})
    again = ResultRow(**{**row.__dict__, "case_id": "t-001", "call_key": "c1" * 32, "output": "account"})
    with Store(url) as db:
        db.write_results([row, again])  # a new case, and the old case's call answered again
        frame = db.results_frame().set_index("case_id")
        assert list(frame.index) == ["t-001", "t-002", "t-003"] and frame["id"].is_unique
        assert frame.loc["t-001", "output"] == "account" and frame.loc["t-003", "confidence"] == 0.875
        assert len(db.grades_frame()) == 0  # the rewritten call's old grades went with it
        assert db.append_usage(USAGE).written == 2


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("old", OLD)
def test_a_migrated_store_has_exactly_the_schema_of_a_new_one(tmp_path, request, backend, old):
    """Migrated from 001 (the frozen first migration) and from every later version, the schema is
    a new store's; and a new store's is the one today's tierwise (010, the live verdicts) wrote."""
    old_url, new_url = _url(backend, tmp_path, request, "old.db"), _url(backend, tmp_path, request, "new.db")
    _write_old_store(old_url, old)
    Store(old_url).close()
    Store(new_url).close()
    migrated, new = _schema(old_url), _schema(new_url)
    assert set(new) == {"tierwise_migrations", "runs", "results", "grades", "response_cache", "usage_ledger",
                        "shadow_calls", "shadow_verdicts", "live_verdicts"}
    assert migrated == new


def test_the_migrations_build_the_tables_the_queries_use(tmp_path):
    """Today's table definitions (store/_schema.py) and the frozen migrations agree, column for
    column: a column added to one and not the other fails here."""
    from harness.store._schema import metadata

    url = f"sqlite:///{tmp_path / 'new.db'}"
    Store(url).close()
    built = _schema(url)
    engine = sa.create_engine(url)
    for table in metadata.sorted_tables:
        wanted = [(c.name, c.type.compile(dialect=engine.dialect), c.nullable) for c in table.columns]
        assert [c[:3] for c in built[table.name]["columns"]] == wanted, table.name
        assert built[table.name]["primary key"] == [c.name for c in table.primary_key.columns]
    engine.dispose()


def test_the_newest_old_store_is_the_current_version():
    """A new migration needs the store the version before it wrote, captured into old_stores.py."""
    assert OLD_STORES[-1].applied == tuple(name for name, _ in MIGRATIONS), \
        "add the DDL the previous tierwise ran to tests/store/old_stores.py as the newest OldStore"
