"""`tierwise prune`: old runs' rows go; cited evidence and current rows stay."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.commands import prune, recommend
from harness.errors import ConfigError
from harness.project import load_project
from harness.registry import read_evidence, write_registry
from harness.runner import run
from harness.store import ResultRow, Store, prune_store
from tests.projfix import spec, write_project

DAY = 86400.0


def _row(run_id: str, case_id: str, call_key: str, task: str = "t") -> ResultRow:
    return ResultRow(run_id=run_id, task=task, model="m", case_id=case_id, call_key=call_key, spec_hash="s",
                     golden_hash="g", case_hash="h", grader_hash="gh", messages=[], params={}, output="x", error=None,
                     error_type=None, finish_reason="stop", prompt_tokens=1, completion_tokens=1, cost=0.0,
                     latency_ms=1.0, attempts=1, cached=False, score=1.0, passed=True,
                     grades=[{"grader": "exact", "options": {}, "weight": 1.0, "score": 1.0, "passed": True,
                              "reason": "ok"}])


def _store(tmp_path, runs: dict[str, tuple[float, str | None, list[tuple[str, str]]]], url: str | None = None) -> Store:
    """runs: id -> (started_at, group, [(case id, call key)])."""
    import sqlalchemy as sa

    from harness.store._schema import runs as runs_table

    db = Store(url or f"sqlite:///{tmp_path / 'r.db'}")
    with db.engine.begin() as conn:
        for run_id, (started, group, _) in runs.items():
            conn.execute(runs_table.insert().values(id=run_id, started_at=started, status="finished",
                                                    run_group=group, info="{}"))
    for run_id, (_, _, rows) in runs.items():
        db.write_results([_row(run_id, case, key) for case, key in rows])
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM grades")).scalar() == sum(len(r[2]) for r in runs.values())
    return db


def _left(db: Store) -> list[tuple[str, str, str]]:
    frame = db.results_frame()
    return sorted(zip(frame["run_id"], frame["case_id"], frame["call_key"]))


CURRENT = {("t", "m"): {("c1", "k3"): ("k3", "h", "gh"), ("c2", "k1"): ("k1", "h", "gh")}}


def _history(tmp_path, url: str | None = None) -> Store:
    # r1 (oldest): c1/k1 (superseded), c2/k1 (still current); r2: c1/k2 (superseded, cited); r3: c1/k3 (current)
    return _store(tmp_path, {"r1": (1 * DAY, None, [("c1", "k1"), ("c2", "k1")]),
                             "r2": (2 * DAY, None, [("c1", "k2"), ("c3", "k2")]),
                             "r3": (3 * DAY, None, [("c1", "k3")])}, url)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_keep_runs_drops_old_rows_but_not_cited_or_current(tmp_path, backend, request):
    db = _history(tmp_path, request.getfixturevalue("pg_url") if backend == "postgres" else None)
    out = prune_store(db, keep_runs=1, older_than_days=None, cited={"r2"}, current=CURRENT, now=4 * DAY)
    assert _left(db) == [("r1", "c2", "k1"), ("r2", "c1", "k2"), ("r2", "c3", "k2"), ("r3", "c1", "k3")]
    assert (out.results_removed, out.kept_cited, out.kept_current, out.runs_kept) == (1, 2, 1, 1)
    assert out.runs_removed == []   # r1 keeps its current row, r2 is cited
    assert len(db.grades_frame()) == 4
    db.close()


def test_a_run_left_without_rows_loses_its_record(tmp_path):
    db = _history(tmp_path)
    out = prune_store(db, keep_runs=1, older_than_days=None, cited=set(), current={}, now=4 * DAY)
    assert _left(db) == [("r3", "c1", "k3")] and out.runs_removed == ["r1", "r2"]
    assert [r["id"] for r in db.runs()] == ["r3"] and len(db.grades_frame()) == 1
    db.close()


def test_dry_run_removes_nothing_and_counts_the_same(tmp_path):
    db = _history(tmp_path)
    before = _left(db)
    dry = prune_store(db, keep_runs=1, older_than_days=None, cited=set(), current=CURRENT, dry_run=True, now=4 * DAY)
    assert _left(db) == before
    real = prune_store(db, keep_runs=1, older_than_days=None, cited=set(), current=CURRENT, now=4 * DAY)
    assert (dry.results_removed, dry.kept_current, dry.runs_removed) == \
        (real.results_removed, real.kept_current, real.runs_removed) == (3, 1, ["r2"])
    db.close()


def test_older_than_keeps_recent_runs(tmp_path):
    db = _history(tmp_path)
    prune_store(db, keep_runs=None, older_than_days=1.5, cited=set(), current={}, now=3.2 * DAY)
    assert _left(db) == [("r2", "c1", "k2"), ("r2", "c3", "k2"), ("r3", "c1", "k3")]
    db.close()


def test_a_run_group_counts_as_one_run(tmp_path):
    db = _store(tmp_path, {"a1": (1 * DAY, "g-old", [("c1", "k1")]),
                           "b1": (5 * DAY, "g-new", [("c1", "k2")]),
                           "b2": (5.1 * DAY, "g-new", [("c2", "k2")]),
                           "b3": (5.2 * DAY, "g-new", [("c3", "k2")])})
    out = prune_store(db, keep_runs=1, older_than_days=None, cited=set(), current={}, now=6 * DAY)
    assert sorted({r for r, _, _ in _left(db)}) == ["b1", "b2", "b3"] and out.runs_removed == ["a1"]
    db.close()


def test_prune_needs_a_rule(tmp_path):
    write_project(tmp_path)
    with pytest.raises(ConfigError, match=r"fix: pass --keep-runs N and/or --older-than DAYS"):
        prune(load_project(tmp_path))


def test_prune_keeps_what_recommend_and_the_evidence_need(tmp_path):
    write_project(tmp_path, specs={"t": spec(threshold=0.3)})
    project = load_project(tmp_path)
    run(project, progress=False)                                   # run 1: superseded below
    rules = tmp_path / "rules.py"                                  # a new version of the rule: new call keys
    rules.write_text(rules.read_text().replace('return vars.get("text", "")', 'return str(vars.get("text", ""))', 1))
    project = load_project(tmp_path)
    run(project, progress=False)                                   # run 2: current, cited
    write_registry(project, recommend(project))
    cited = read_evidence(project.registry_path).record("t").run_ids
    before = recommend(project)
    result = CliRunner().invoke(cli, ["prune", "--keep-runs", "0", "--project", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "removed 6 results of 2 old runs (1 run records)" in result.output
    db = Store(project.store_url())
    assert set(db.results_frame()["run_id"]) == set(cited) and len(db.results_frame()) == 6
    db.close()
    after = recommend(project)
    assert [(c.model, c.n, c.mean, c.lower) for c in after.decisions[0].candidates] == \
        [(c.model, c.n, c.mean, c.lower) for c in before.decisions[0].candidates]
