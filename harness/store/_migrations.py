"""The store's migrations: ordered, named, append-only, and frozen.

Each migration builds the schema as it was when the migration was written, never from today's
tables in _schema.py: a table created here is a private copy of its definition at that
migration, so a store made today and a store made by the first release reach the same schema
through the same steps (tests/store/test_old_stores.py opens a store written by each earlier
version, holding rows, and compares it with a new one). A change to a table is a new migration
here and the same change in _schema.py; an existing migration is never edited.

Until the migrations were frozen, 001 built its tables from the definitions of the day, so a
store made after 004, 005 or 007 was written already had their columns when those migrations
ran: they add a column only where it is missing.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

# The record of applied migrations (unchanged since the first release).
migrations_table = sa.Table(
    "tierwise_migrations", sa.MetaData(),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
)


def _m001_initial(conn: sa.Connection) -> None:
    # runs, results, grades and response_cache as the first release (1cfcefe) created them.
    frozen = sa.MetaData()
    tables = [
        sa.Table(
            "runs", frozen,
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("started_at", sa.Float, nullable=False),
            sa.Column("finished_at", sa.Float),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("tierwise_version", sa.String(40)),
            sa.Column("litellm_version", sa.String(40)),
            sa.Column("price_map_version", sa.String(80)),
            sa.Column("argv", sa.Text),
            sa.Column("info", sa.Text),
        ),
        sa.Table(
            "results", frozen,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("run_id", sa.String(32), nullable=False),
            sa.Column("task", sa.String(200), nullable=False),
            sa.Column("model", sa.String(200), nullable=False),
            sa.Column("case_id", sa.String(200), nullable=False),
            sa.Column("call_key", sa.String(64), nullable=False),
            sa.Column("spec_hash", sa.String(64), nullable=False),
            sa.Column("golden_hash", sa.String(64), nullable=False),
            sa.Column("case_hash", sa.String(64), nullable=False),
            sa.Column("grader_hash", sa.String(64), nullable=False),
            sa.Column("messages", sa.Text, nullable=False),
            sa.Column("params", sa.Text, nullable=False),
            sa.Column("output", sa.Text),
            sa.Column("error", sa.Text),
            sa.Column("error_type", sa.String(100)),
            sa.Column("finish_reason", sa.String(40)),
            sa.Column("prompt_tokens", sa.Integer),
            sa.Column("completion_tokens", sa.Integer),
            sa.Column("cost", sa.Float),
            sa.Column("latency_ms", sa.Float),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("cached", sa.Boolean, nullable=False),
            sa.Column("score", sa.Float),
            sa.Column("passed", sa.Boolean),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.UniqueConstraint("task", "model", "case_id", "call_key", name="uq_results_case_call"),
        ),
        sa.Table(
            "grades", frozen,
            sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"), primary_key=True),
            sa.Column("idx", sa.Integer, primary_key=True),
            sa.Column("grader", sa.String(100), nullable=False),
            sa.Column("options", sa.Text, nullable=False),
            sa.Column("weight", sa.Float, nullable=False),
            sa.Column("score", sa.Float, nullable=False),
            sa.Column("passed", sa.Boolean, nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
        ),
        sa.Table(
            "response_cache", frozen,
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("model", sa.String(200), nullable=False),
            sa.Column("response", sa.Text, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        ),
    ]
    for table in tables:
        table.create(conn, checkfirst=True)


def _m002_result_lookup_index(conn: sa.Connection) -> None:
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_results_task_model ON results (task, model)"))


def _m003_usage_ledger(conn: sa.Connection) -> None:
    # The usage ledger as 003 (82aeb93) created it; _schema.py says what each column holds.
    sa.Table(
        "usage_ledger", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("error_type", sa.String(100)),
        sa.Column("error", sa.Text),
        sa.Column("contract_reason", sa.Text),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("cost", sa.Float),
        sa.Column("latency_ms", sa.Float),
        sa.Column("trace", sa.String(200)),
        sa.Column("step", sa.String(200)),
        sa.Column("input", sa.Text),
        sa.Column("output", sa.Text),
    ).create(conn, checkfirst=True)
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_usage_task_at ON usage_ledger (task, at)"))
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_usage_trace ON usage_ledger (trace)"))


def _m004_judge_cost(conn: sa.Connection) -> None:
    _add_columns(conn, "results", [("eval_cost", "FLOAT"), ("judge_errors", "INTEGER")])
    _add_columns(conn, "grades", [("detail", "TEXT"), ("eval_cost", "FLOAT")])


def _m005_run_groups(conn: sa.Connection) -> None:
    _add_columns(conn, "runs", [("run_group", "VARCHAR(200)")])
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_runs_run_group ON runs (run_group)"))
    # Reading one run's rows (diff, prune) by run id instead of scanning the whole history.
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_results_run_id ON results (run_id)"))


def _m006_shadow_calls(conn: sa.Connection) -> None:
    # The shadow-call table as 006 (c0ad8d4) created it; _schema.py says what each column holds.
    sa.Table(
        "shadow_calls", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("incumbent", sa.String(200), nullable=False),
        sa.Column("challenger", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("agree", sa.Boolean, nullable=False),
        sa.Column("error_type", sa.String(100)),
        sa.Column("error", sa.Text),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("cost", sa.Float),
        sa.Column("latency_ms", sa.Float),
        sa.Column("trace", sa.String(200)),
        sa.Column("output", sa.Text),
        sa.Column("incumbent_output", sa.Text),
    ).create(conn, checkfirst=True)
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_shadow_task_at ON shadow_calls (task, challenger, at)"))


def _m007_result_confidence(conn: sa.Connection) -> None:
    _add_columns(conn, "results", [("confidence", "FLOAT")])


def _m008_usage_cascade_stage(conn: sa.Connection) -> None:
    _add_columns(conn, "usage_ledger", [("stage", "INTEGER"), ("deferred", "VARCHAR(20)"), ("defer_reason", "TEXT"),
                                        ("confidence", "FLOAT")])


def _m009_shadow_verdicts(conn: sa.Connection) -> None:
    # The pairwise verdicts on shadow pairs as 009 created them; _schema.py says what each column holds.
    sa.Table(
        "shadow_verdicts", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("shadow_id", sa.Integer, nullable=False),
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("judge", sa.String(64), nullable=False),
        sa.Column("judged_at", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(8)),
        sa.Column("orders", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("eval_cost", sa.Float),
    ).create(conn, checkfirst=True)
    conn.execute(sa.text("CREATE UNIQUE INDEX IF NOT EXISTS ix_shadow_verdict ON shadow_verdicts (shadow_id, judge)"))


def _m010_live_verdicts(conn: sa.Connection) -> None:
    # The judge's verdicts on sampled live calls as 010 created them; _schema.py says what each column holds.
    sa.Table(
        "live_verdicts", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("judge", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("judged_at", sa.Float, nullable=False),
        sa.Column("passed", sa.Boolean),
        sa.Column("score", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("eval_cost", sa.Float),
    ).create(conn, checkfirst=True)
    conn.execute(sa.text("CREATE UNIQUE INDEX IF NOT EXISTS ix_live_verdict ON live_verdicts (call_id, judge)"))


def _add_columns(conn: sa.Connection, table: str, columns: list[tuple[str, str]]) -> None:
    """ALTER TABLE … ADD COLUMN for each (name, SQL type) the table lacks (see the module's
    docstring for why one may be there already). The types are spelled as SQLAlchemy compiled
    them on SQLite and PostgreSQL when the migration was written."""
    have = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    for name, kind in columns:
        if name not in have:
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))


MIGRATIONS: list[tuple[str, Callable[[sa.Connection], None]]] = [
    ("001_initial", _m001_initial),
    ("002_result_lookup_index", _m002_result_lookup_index),
    ("003_usage_ledger", _m003_usage_ledger),
    ("004_judge_cost", _m004_judge_cost),
    ("005_run_groups", _m005_run_groups),
    ("006_shadow_calls", _m006_shadow_calls),
    ("007_result_confidence", _m007_result_confidence),
    ("008_usage_cascade_stage", _m008_usage_cascade_stage),
    ("009_shadow_verdicts", _m009_shadow_verdicts),
    ("010_live_verdicts", _m010_live_verdicts),
]
SCHEMA_VERSION = len(MIGRATIONS)
