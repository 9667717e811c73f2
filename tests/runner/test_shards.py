"""Sharded runs: several `tierwise run --shard i/n --run-group NAME` processes at once against
one store, read back as one run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.commands import recommend
from harness.errors import StoreError
from harness.fingerprint import case_hash
from harness.project import load_project
from harness.runner import run
from harness.store import Store, group_status
from tests.projfix import cases, spec, write_project

ROOT = Path(__file__).resolve().parents[2]

RULES = '''
def echo(vars):
    return vars.get("text", "")

def half(vars):
    # right on cases whose text has an even length, so it misses the bar
    text = vars.get("text", "")
    return text if len(text) % 2 == 0 else "wrong"
'''
MODELS = {"cheap": {"python": "rules:half", "price": {"per_call": 0.0001}},
          "good": {"python": "rules:echo", "price": {"per_call": 0.001}}}
LABELS = ("ab", "abc", "abcd", "xyz", "hello", "okay")


def _project(root: Path, store: str):
    golden = {"a": cases(45, LABELS), "b": cases(30, LABELS)}
    specs = {name: spec(name, candidates=["cheap", "good"], threshold=0.8) for name in golden}
    write_project(root, models=MODELS, specs=specs, golden=golden, config={"store": store},
                  files={"rules.py": RULES})
    return load_project(root)


def _shard_cmd(root: Path, i: int, n: int, group: str, store: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "run", "--shard", f"{i}/{n}", "--run-group", group,
            "--store", store, "--project", str(root), "--quiet"]


def _run_shards(root: Path, n: int, group: str, store: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    start = time.monotonic()
    procs = [subprocess.Popen(_shard_cmd(root, i, n, group, store), cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(1, n + 1)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{out}\n{err}"
    return time.monotonic() - start


def _rows(store: str) -> list[tuple]:
    engine = sa.create_engine(store)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT task, model, case_id, call_key, output, score, passed, run_id "
                                    "FROM results")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _decisions(rec) -> list[tuple]:
    return [(d.task, d.status, d.recommended, tuple((c.model, c.n, round(c.mean, 9), round(c.lower, 9))
                                                     for c in d.candidates)) for d in rec.decisions]


@pytest.mark.postgres
def test_three_shards_at_once_equal_one_unsharded_run(tmp_path, pg_url):
    sharded = _project(tmp_path / "sharded", pg_url)
    seconds = _run_shards(tmp_path / "sharded", 3, "g", pg_url)

    single_url = f"sqlite:///{tmp_path / 'single.db'}"
    single = _project(tmp_path / "single", single_url)
    run(single, progress=False)

    rows, expected = _rows(pg_url), _rows(single_url)
    keys = [r[:4] for r in rows]
    assert len(keys) == len(set(keys)) == (45 + 30) * 2          # no duplicate, no missing row
    assert sorted(r[:7] for r in rows) == sorted(r[:7] for r in expected)
    # each shard's run wrote only its own cases
    db = Store(pg_url)
    try:
        status = group_status(db, "g")
        assert status.complete and status.shards == 3 and status.finished == [1, 2, 3]
        shard_of = {r["id"]: r for r in status.runs}
        by_case = {(t, c.id): int(case_hash(c), 16) % 3 + 1 for t in ("a", "b") for c in sharded.tasks[t].golden.cases}
        for task, _, case_id, *_, run_id in rows:
            info = __import__("json").loads(shard_of[run_id]["info"])
            assert info["shard"] == [by_case[(task, case_id)], 3]
    finally:
        db.close()

    got = recommend(sharded, store=pg_url, run_group="g")
    want = recommend(single, store=single_url)
    assert _decisions(got) == _decisions(want)
    assert [d.recommended for d in got.decisions] == ["good", "good"]
    assert sorted(map(tuple, got.frame[["task", "model", "case_id", "score"]].values.tolist())) == \
        sorted(map(tuple, want.frame[["task", "model", "case_id", "score"]].values.tolist()))
    print(f"\n3 shards, {len(rows)} rows, {seconds:.1f} s wall (3 processes)")


def test_incomplete_group_is_refused_with_the_missing_shards(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    project = _project(tmp_path, url)
    run(project, shard=(1, 3), run_group="g", progress=False)
    run(project, shard=(3, 3), run_group="g", progress=False)
    with pytest.raises(StoreError, match=r"run group 'g' is not complete: shard 2/3 has no run; fix: wait for"):
        recommend(project, store=url, run_group="g")
    run(project, shard=(2, 3), run_group="g", progress=False)
    assert [d.recommended for d in recommend(project, store=url, run_group="g").decisions] == ["good", "good"]


def test_unknown_group_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    project = _project(tmp_path, url)
    with pytest.raises(StoreError, match=r"no run belongs to run group 'nope'"):
        recommend(project, store=url, run_group="nope")


def _two_shards_the_last_marked(tmp_path, status: str):
    """Both shards of group g run, every result stored, then the last run's status set to `status`."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    project = _project(tmp_path, url)
    for i in (1, 2):
        run(project, shard=(i, 2), run_group="g", progress=False)
    db = Store(url)
    last = db.runs(group="g")[-1]["id"]
    db.finish_run(last, status)
    return project, url, db, last


def test_interrupted_shard_makes_the_group_incomplete_until_rerun(tmp_path):
    project, url, db, last = _two_shards_the_last_marked(tmp_path, "interrupted")
    assert group_status(db, "g").problems == [f"shard 2/2 is interrupted (run {last})"]
    db.close()
    run(project, shard=(2, 2), run_group="g", progress=False)   # the retried job
    db = Store(url)
    assert group_status(db, "g").complete
    db.close()


def test_a_shard_that_finished_with_errors_over_the_limit_completes_its_group(tmp_path):
    # Its calls were all made; a re-run would make the failing ones again, and the group would
    # stay incomplete for as long as the provider fails.
    project, url, db, _ = _two_shards_the_last_marked(tmp_path, "finished_with_errors")
    status = group_status(db, "g")
    db.close()
    assert status.complete and status.finished == [1, 2]
    assert [d.recommended for d in recommend(project, store=url, run_group="g").decisions] == ["good", "good"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_processes_create_one_store_without_error(tmp_path, backend, request):
    url = f"sqlite:///{tmp_path / 'new.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    code = f"from harness.store import Store; Store({url!r}).close()"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.text("SELECT name FROM tierwise_migrations ORDER BY name"))]
    engine.dispose()
    from harness.store import MIGRATIONS

    assert names == sorted(name for name, _ in MIGRATIONS)


def test_gate_rerun_with_a_run_group_judges_the_shards_results_without_running(tmp_path):
    from harness.commands import gate
    from harness.registry import write_registry

    url = f"sqlite:///{tmp_path / 'r.db'}"
    project = _project(tmp_path, url)
    for i in (1, 2):
        run(project, shard=(i, 2), run_group="g", progress=False)
    write_registry(project, recommend(project, run_group="g"))
    db = Store(url)
    runs_before = len(db.runs())
    result = gate(project, rerun=True, run_group="g")
    assert result.ok and all(t.rerun and "re-evaluated" in t.message for t in result.tasks)
    assert len(db.runs()) == runs_before            # the gate itself ran nothing
    db.finish_run(db.runs(group="g")[-1]["id"], "failed")
    db.close()
    with pytest.raises(StoreError, match=r"shard 2/2 is failed"):
        gate(project, rerun=True, run_group="g")
