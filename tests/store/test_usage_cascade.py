"""Migration 008: the usage ledger gains a cascade's stage, the signal it deferred on, why, and the
answer's probability; an older store gets the columns and its rows stay."""

from __future__ import annotations

import sqlalchemy as sa

from harness.store import SCHEMA_VERSION, Store


def _row(**extra) -> dict:
    return {"at": 1.0, "call_id": "c1", "task": "t", "model": "m", "target": "openai/m", "attempt": 1,
            "kind": "primary", "outcome": "ok", "final": True, **extra}


def test_008_adds_the_cascade_columns_to_an_older_ledger_and_they_round_trip(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Store(url) as store:
        store.append_usage([_row()])
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the ledger as 007 left it, with a row in it
        for column in ("stage", "deferred", "defer_reason", "confidence"):
            conn.execute(sa.text(f"ALTER TABLE usage_ledger DROP COLUMN {column}"))
        conn.execute(sa.text("DELETE FROM tierwise_migrations WHERE name = '008_usage_cascade_stage'"))
    engine.dispose()
    with Store(url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        store.append_usage([_row(call_id="c2", stage=1, deferred="confidence", defer_reason="confidence 0.5 < 0.9",
                                 confidence=0.5, outcome="deferred", final=False)])
        rows = store.usage_rows()
    assert [(r["call_id"], r["stage"], r["deferred"], r["confidence"]) for r in rows] == \
        [("c1", None, None, None), ("c2", 1, "confidence", 0.5)]
    assert rows[1]["defer_reason"] == "confidence 0.5 < 0.9"
