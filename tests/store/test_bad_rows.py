"""One documented key limit enforced by validate, the same on both stores; one row a store
refuses never takes its write batch down."""

import sys

import pytest

from harness.cli import main
from harness.store import ResultRow, Store
from tests.projfix import cases, write_project


def _row(case_id: str, output: str = "yes", **changes) -> ResultRow:
    values = dict(run_id="r1", task="t", model="m", case_id=case_id, call_key="k" * 64, spec_hash="s", golden_hash="g",
                  case_hash="c", grader_hash="h", messages=[{"role": "user", "content": "hi"}], params={},
                  output=output, error=None, error_type=None, finish_reason="stop", prompt_tokens=1,
                  completion_tokens=1, cost=0.0, latency_ms=1.0, attempts=1, cached=False, score=1.0, passed=True,
                  grades=[{"grader": "exact", "options": {}, "weight": 1.0, "score": 1.0, "passed": True,
                           "reason": "ok"}], cache_key=None, cache_response=None)
    values.update(changes)
    return ResultRow(**values)


def test_validate_refuses_a_case_id_over_200_characters(tmp_path, monkeypatch, capsys):
    rows = cases(3)
    rows[1]["id"] = "x" * 201
    write_project(tmp_path, golden={"t": rows})
    monkeypatch.setattr(sys, "argv", ["tierwise", "validate", "--project", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(
        'error: golden_sets/t.jsonl:2: "id" is 201 characters, over the limit of 200')


def test_a_200_character_case_id_is_accepted(tmp_path):
    from harness import load_project

    rows = cases(3)
    rows[1]["id"] = "x" * 200
    assert len(load_project(write_project(tmp_path, golden={"t": rows})).tasks["t"].golden) == 3


@pytest.mark.postgres
def test_one_refused_row_never_takes_its_batch_down(pg_url):
    store = Store(pg_url)
    try:
        rows = [_row("a"), _row("b", output="nul \x00 byte"), _row("c", finish_reason="x" * 90),
                _row("d" * 300), _row("e")]
        assert store.write_results(rows) == 4
        frame = store.results_frame()
        stored = dict(zip(frame["case_id"], frame["error"]))
        assert set(stored) == {"a", "b", "c", "e"}
        assert all(not isinstance(stored[k], str) for k in "ace")  # no error (NaN in the frame)
        assert stored["b"].startswith("the store refused this result (")
        assert len(store.rejected) == 1 and store.rejected[0].startswith("t × m × case 'ddd")
    finally:
        store.close()


def test_the_same_rows_on_sqlite(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/r.db")
    try:
        assert store.write_results([_row("a"), _row("c", finish_reason="x" * 90), _row("e")]) == 3
        frame = store.results_frame()
        assert sorted(frame["case_id"]) == ["a", "c", "e"] and frame["error"].isna().all()
        assert max(len(f) for f in frame["finish_reason"]) == 40
    finally:
        store.close()
