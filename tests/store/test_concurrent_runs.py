"""Four `tierwise run` processes at once on one store (PostgreSQL and SQLite): no error, no
duplicate, no missing row; and the batch writer's lock order and retry."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.store import Store
from tests.projfix import RULES, cases, spec, write_project

REPO = Path(__file__).resolve().parents[2]
N_CASES = 200
MODELS = {"rule": {"python": "rules:jittered"}, "upper": {"python": "rules:upper"}}
# Calls finish in a random order, so each run's write batches hold the same keys in a different order.
JITTERED = """
import random, time

def jittered(vars):
    time.sleep(random.random() * 0.02)
    return vars.get("text", "")
"""


def _four_runs(tmp_path: Path, store: str) -> None:
    root = write_project(tmp_path / "p", models=MODELS, specs={"t": spec(candidates=["rule", "upper"])},
                         golden={"t": cases(N_CASES)}, config={"store": store},
                         files={"rules.py": RULES + JITTERED})
    Store(store if not store.startswith("sqlite:///.") else f"sqlite:///{root}/.tierwise/results.db").close()
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    procs = [subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--project", str(root), "--quiet",
                               "--no-cache"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for code, err in outcomes:
        assert code == 0 and "Traceback" not in err, err[-3000:]
    url = store if not store.startswith("sqlite:///.") else f"sqlite:///{root}/.tierwise/results.db"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT model, case_id, count(*) FROM results GROUP BY model, case_id")).all()
            n_grades = conn.execute(sa.text("SELECT count(*) FROM grades")).scalar_one()
            statuses = [r[0] for r in conn.execute(sa.text("SELECT status FROM runs"))]
            errors = conn.execute(sa.text("SELECT count(*) FROM results WHERE error IS NOT NULL")).scalar_one()
    finally:
        engine.dispose()
    expected = {(m, c["id"]) for m in MODELS for c in cases(N_CASES)}
    assert {(m, c) for m, c, _ in keys} == expected          # no missing row
    assert all(n == 1 for _, _, n in keys)                   # no duplicate
    assert n_grades == len(expected) and errors == 0
    assert statuses == ["finished"] * 4


@pytest.mark.postgres
def test_four_concurrent_runs_on_one_postgres_store(tmp_path, pg_url):
    _four_runs(tmp_path, pg_url)


def test_four_concurrent_runs_on_one_sqlite_store(tmp_path):
    _four_runs(tmp_path, "sqlite:///.tierwise/results.db")


def _rows(n: int):
    from tests.store.test_bad_rows import _row

    return [_row(f"c{i:04d}", call_key=f"{i:064d}") for i in range(n)]


@pytest.mark.postgres
def test_writers_in_opposite_orders_do_not_deadlock(pg_url):
    """Four writers upserting the same 1,500 keys, batches shuffled: the store writes in key order,
    so no batch meets a deadlock. Retries are off here: the store retries a deadlocked batch, which
    would hide unsorted writes (with them, this test fails in its first rounds)."""
    import random
    import threading

    Store(pg_url).close()
    failures: list[BaseException] = []

    def writer(seed: int) -> None:
        store, rng = Store(pg_url), random.Random(seed)
        transact = store._transact
        store._transact = lambda work: transact(work, attempts=1)  # a deadlock is a failure, not a retry
        try:
            for _ in range(4):
                rows = _rows(1500)
                rng.shuffle(rows)
                store.write_results(rows)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[0]
    store = Store(pg_url)
    try:
        assert len(store.results_frame()) == 1500
    finally:
        store.close()
