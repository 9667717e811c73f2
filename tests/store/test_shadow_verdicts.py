"""store/_shadow.py's verdict writes: bounded batches, each one transaction (a failing batch undoes
itself only), a failure replaced by a verdict, a pair given twice keeping its last verdict."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from harness.store import VERDICT_BATCH, Store

JUDGE = "j" * 64


def verdict(i: int, outcome: str | None = "tie", **changes) -> dict:
    return {"shadow_id": i, "task": "reply", "judge": JUDGE, "judged_at": 1.0, "outcome": outcome,
            "orders": None, "error": None if outcome else "judge down", "eval_cost": 0.0, **changes}


@pytest.fixture
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'r.db'}") as s:
        yield s


def commits(store: Store) -> list[int]:
    seen: list[int] = []
    sa.event.listen(store.engine, "commit", lambda conn: seen.append(1))
    return seen


def test_verdicts_are_written_in_bounded_batches_one_transaction_each(store):
    n = 2 * VERDICT_BATCH + 50
    seen = commits(store)
    assert store.write_shadow_verdicts([verdict(i) for i in range(n)]) == n
    assert len(seen) == 3
    assert sorted(store.shadow_verdicts("reply", JUDGE)) == list(range(n))


def test_a_failing_batch_undoes_itself_and_loses_no_earlier_one(store):
    rows = [verdict(i) for i in range(2 * VERDICT_BATCH + 50)]
    rows[VERDICT_BATCH + 7]["task"] = None  # NOT NULL: the second batch fails
    with pytest.raises(sa.exc.IntegrityError):
        store.write_shadow_verdicts(rows)
    assert sorted(store.shadow_verdicts("reply", JUDGE)) == list(range(VERDICT_BATCH))


def test_a_verdict_replaces_a_recorded_failure_and_a_repeated_pair_keeps_its_last(store):
    store.write_shadow_verdicts([verdict(i, None) for i in range(3)])
    store.write_shadow_verdicts([verdict(0, "win"), verdict(1, "loss"), verdict(1, "tie")])
    stored = store.shadow_verdicts("reply", JUDGE)
    assert {i: v["outcome"] for i, v in stored.items()} == {0: "win", 1: "tie", 2: None}
    assert stored[2]["error"] == "judge down" and stored[0]["error"] is None


def test_verdicts_of_another_judge_are_left_alone(store):
    store.write_shadow_verdicts([verdict(0, "loss", judge="k" * 64)])
    store.write_shadow_verdicts([verdict(0, "win")])
    assert store.shadow_verdicts("reply", "k" * 64)[0]["outcome"] == "loss"
    assert store.shadow_verdicts("reply", JUDGE)[0]["outcome"] == "win"
