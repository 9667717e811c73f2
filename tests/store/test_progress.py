"""What a run in progress has done, read while it writes: which runs are live, and how many of a
plan's calls have a result the run keeps (store/_progress.py)."""

from __future__ import annotations

import json
import socket
import time

import pytest
import sqlalchemy as sa

from harness.store import ResultRow, Store
from harness.store._schema import runs


def _row(case_id: str, run_id: str, error: str | None = None) -> ResultRow:
    return ResultRow(run_id=run_id, task="t", model="m", case_id=case_id, call_key=f"k-{case_id}", spec_hash="s",
                     golden_hash="g", case_hash=f"h-{case_id}", grader_hash="gh", messages=[], params={},
                     output=None if error else "yes", error=error, error_type="X" if error else None,
                     finish_reason=None if error else "stop", prompt_tokens=1, completion_tokens=1, cost=0.0,
                     latency_ms=1.0, attempts=1, cached=False, score=0.0 if error else 1.0, passed=not error,
                     grades=[], cache_key=None, cache_response=None)


def _plan(cases: list[str], grader_hash: str = "gh") -> dict:
    """Plan.current_keys for task t, model m and these cases."""
    return {("t", "m"): {(c, f"k-{c}"): (f"k-{c}", f"h-{c}", grader_hash) for c in cases}}


@pytest.fixture()
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'results.db'}") as db:
        yield db


def test_a_stored_failure_is_done_only_once_the_run_has_written_it(store):
    store.write_results([_row("c1", "old"), _row("c2", "old", error="boom"), _row("c3", "new", error="boom")])
    plan = _plan(["c1", "c2", "c3", "c4"])
    assert store.done_counts(plan, ["new"]) == {("t", "m"): 2}   # c1 reused; c3 failed in this run; c2 to redo
    assert store.done_counts(plan, []) == {("t", "m"): 1}
    assert store.done_counts(_plan(["c1"], grader_hash="other"), ["new"]) == {}   # not current: regraded
    assert store.done_counts({}, ["new"]) == {}


def _set(store: Store, run_id: str, **values) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(**values))


def test_a_run_is_live_while_its_process_is_and_reading_marks_nothing(store):
    here = store.start_run(info={"tasks": ["t"]})
    assert store.live_runs() == []   # this process's id: the run that had it is not this one
    _set(store, here, info=json.dumps({"pid": 1, "host": socket.gethostname()}))   # pid 1 is alive
    assert [r["id"] for r in store.live_runs()] == [here]
    elsewhere = store.start_run()
    _set(store, elsewhere, info=json.dumps({"pid": 1, "host": "another-host"}), started_at=time.time() - 7 * 3600)
    assert [r["id"] for r in store.live_runs()] == [here]   # silent for 7 hours on another host
    store.write_results([_row("c1", elsewhere)])
    assert {r["id"] for r in store.live_runs()} == {here, elsewhere}   # it wrote just now
    assert {r["status"] for r in store.runs()} == {"running"}
    assert len(store.live_runs(limit=1)) == 1
