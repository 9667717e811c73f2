"""The usage ledger's writer against stores that refuse rows: one bad row never blocks the
others, and every row not written is counted and logged once."""

from __future__ import annotations

import logging
import time

import pytest

from harness.client import LedgerWriter
from harness.store import TRUNCATED, Store


def _row(i: int, **extra) -> dict:
    row = {"at": 1_700_000_000.0 + i, "call_id": f"c{i:04d}", "task": "t", "model": "m", "target": "openai/m",
           "attempt": 1, "kind": "primary", "outcome": "ok", "final": True, "prompt_tokens": 10,
           "completion_tokens": 2, "cost": 0.001, "latency_ms": 100.0, "trace": f"trace-{i}", "step": "route"}
    row.update(extra)
    return row


def _writer(url: str, **kw) -> LedgerWriter:
    kw.setdefault("flush_s", 0.02)
    kw.setdefault("retry_s", 0.02)
    kw.setdefault("max_retry_s", 0.05)
    return LedgerWriter(url, **kw)


def _stored(url: str) -> list[dict]:
    store = Store(url)
    try:
        return store.usage_rows()
    finally:
        store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("pg_url")


def test_a_long_trace_and_a_nul_byte_are_fitted_and_the_100_rows_after_them_land(url):
    writer = _writer(url)
    long_trace = "r" * 500
    writer.put(_row(0, trace=long_trace, error="bad\x00byte", step="s\x00tep"))
    for i in range(1, 101):
        writer.put(_row(i))
    assert writer.flush(20)
    stats = writer.close()
    rows = _stored(url)
    assert (stats.written, stats.pending, stats.not_written, len(rows)) == (101, 0, 0, 101)
    first = rows[0]
    assert len(first["trace"]) == 200 and first["trace"] == "r" * (200 - len(TRUNCATED)) + TRUNCATED
    assert (first["error"], first["step"]) == ("badbyte", "step")
    assert [r["call_id"] for r in rows] == [f"c{i:04d}" for i in range(101)]


def test_a_row_the_store_refuses_is_written_alone_counted_and_the_rest_of_its_batch_lands(url, caplog):
    # An integer no INTEGER column holds (PostgreSQL: over 2**31; SQLite: over 2**63).
    writer = _writer(url, batch_size=50)
    for i in range(120):
        writer.put(_row(i, prompt_tokens=2**70) if i == 7 else _row(i))
    assert writer.flush(30)
    with caplog.at_level(logging.WARNING, logger="harness.client"):
        stats = writer.close()
        writer.close()  # logged once, however often it is closed
    rows = _stored(url)
    assert len(rows) == 119 and "c0007" not in {r["call_id"] for r in rows}
    assert (stats.written, stats.refused, stats.not_written) == (119, 1, 1)
    assert "c0007" in stats.last_refused
    notes = [r.getMessage() for r in caplog.records if "usage-ledger" in r.getMessage()]
    assert len(notes) == 1 and "1 usage-ledger rows not written" in notes[0] and "1 refused" in notes[0]


def test_rows_still_queued_when_close_gives_up_are_counted_as_lost(tmp_path, caplog):
    blocker = tmp_path / "down"
    blocker.write_text("a file where the store's folder should be")
    writer = _writer(f"sqlite:///{blocker / 'ledger.db'}")
    for i in range(4):
        writer.put(_row(i))
    time.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="harness.client"):
        stats = writer.close(timeout=0.2)
    assert writer.put(_row(9)) is False
    after = writer.stats()
    assert (stats.written, stats.lost, stats.not_written) == (0, 4, 4)
    assert (after.dropped, after.not_written, after.pending) == (1, 5, 0)
    (note,) = [r.getMessage() for r in caplog.records if "usage-ledger" in r.getMessage()]
    assert "4 usage-ledger rows not written" in note and "4 queued at close" in note


def test_the_store_reads_back_the_ledger_oldest_first_with_the_columns_asked(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = Store(url)
    try:
        done = store.append_usage([_row(2), _row(1)])
        assert (done.written, done.refused) == (2, [])
        assert store.usage_rows(["call_id", "at"]) == [{"call_id": "c0001", "at": 1_700_000_001.0},
                                                       {"call_id": "c0002", "at": 1_700_000_002.0}]
    finally:
        store.close()
