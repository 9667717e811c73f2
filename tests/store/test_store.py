import pytest
import sqlalchemy as sa

from harness.errors import StoreError
from harness.store import MIGRATIONS, SCHEMA_VERSION, ResultRow, Store
from harness.store._migrations import migrations_table
from tests.conftest import require_module


def _row(case_id: str = "c1", call_key: str = "k1", error: str | None = None, **kw) -> ResultRow:
    values = dict(run_id="r1", task="t", model="m", case_id=case_id, call_key=call_key, spec_hash="s",
                  golden_hash="g", case_hash="h", grader_hash="gh", messages=[{"role": "user", "content": "hi"}],
                  params={"temperature": 0}, output=None if error else "yes", error=error,
                  error_type="X" if error else None, finish_reason="stop", prompt_tokens=3, completion_tokens=1,
                  cost=0.001, latency_ms=12.0, attempts=1, cached=False, score=0.0 if error else 1.0,
                  passed=not error, grades=[] if error else [{"grader": "exact", "options": {}, "weight": 1.0,
                                                              "score": 1.0, "passed": True, "reason": "ok"}],
                  cache_key=None if error else call_key,
                  cache_response=None if error else {"output": "yes", "finish_reason": "stop"})
    values.update(kw)
    return ResultRow(**values)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'results.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = Store(url)
    yield s
    s.close()


def test_new_store_is_at_current_schema_version(store):
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)


def test_reopening_applies_no_migration_twice(store):
    again = Store(store.url)
    assert again.schema_version() == SCHEMA_VERSION
    again.close()


def test_store_from_a_newer_tierwise_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(migrations_table.insert().values(name="999_future", applied_at=0))
    with pytest.raises(StoreError, match=r"migration '999_future' from a newer tierwise; fix: upgrade"):
        Store(url)


def test_result_with_grades_round_trips(store):
    store.write_results([_row()])
    frame = store.results_frame()
    assert frame.loc[0, "output"] == "yes" and frame.loc[0, "score"] == 1.0
    grades = store.grades_frame()
    assert list(grades["grader"]) == ["exact"]


@pytest.mark.parametrize("rows", [True, False])
def test_results_and_grades_frames_are_what_pandas_read_sql_gives(store, rows):
    import pandas as pd

    from harness.store._schema import grades, results

    store.write_results([_row("c1"), _row("c2", error="boom", latency_ms=None, prompt_tokens=None), _row("c3")])
    where = sa.true() if rows else sa.false()
    with store.engine.connect() as conn:
        expected = pd.read_sql(sa.select(results).where(where).order_by(results.c.id), conn)
        expected_grades = pd.read_sql(sa.select(grades).where(where), conn)
    assert len(expected) == (3 if rows else 0)
    pd.testing.assert_frame_equal(store.results_frame(run_ids=["r1"] if rows else []), expected, check_exact=True)
    pd.testing.assert_frame_equal(store.grades_frame(None if rows else []), expected_grades, check_exact=True)


def test_same_case_and_call_key_is_updated_not_duplicated(store):
    store.write_results([_row(error="boom")])
    store.write_results([_row()])
    frame = store.results_frame()
    assert len(frame) == 1 and frame.loc[0, "error"] is None
    assert len(store.grades_frame()) == 1


def test_errors_are_never_cached(store):
    store.write_results([_row(case_id="a", call_key="ka", error="500")])
    store.write_results([_row(case_id="b", call_key="kb")])
    assert set(store.cached_responses(["ka", "kb"])) == {"kb"}


def test_current_filter_keeps_only_rows_matching_call_case_and_graders(store):
    store.write_results([_row(call_key="old"), _row(call_key="new"), _row(case_id="c2", call_key="new"),
                         _row(case_id="gone", call_key="new")])
    current = {("t", "m"): {("c1", "new"): ("new", "h", "gh"), ("c2", "new"): ("new", "edited-case", "gh")}}
    frame = store.results_frame(current=current)
    assert list(zip(frame["case_id"], frame["call_key"])) == [("c1", "new")]


def test_runs_record_status(store):
    run_id = store.start_run(tierwise_version="t", litellm_version="l", price_map_version="p", argv="run",
                             info={"skipped": {}})
    store.finish_run(run_id, "finished")
    assert store.runs()[-1]["status"] == "finished"


def test_a_run_cannot_end_with_a_status_nothing_reads(store):
    run_id = store.start_run(argv="run")
    with pytest.raises(ValueError, match=r"run status 'done': not how a run ends; one of finished, "):
        store.finish_run(run_id, "done")
    assert store.runs()[-1]["status"] == "running"


def test_unreachable_store_is_a_clear_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match=r"cannot open the store"):
        Store(f"sqlite:///{tmp_path / 'dir.db'}")


def test_a_database_server_that_is_down_is_not_bad_input(tmp_path):
    from harness.errors import EnvironmentFailure

    require_module("psycopg", "needs psycopg: pip install -e '.[dev]'")
    with pytest.raises(EnvironmentFailure, match=r"cannot reach or open the store .*fix: check that the database "
                                                 r"server runs") as info:
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert info.value.exit_code == 3


def test_007_adds_the_confidence_column_to_an_older_store_and_it_round_trips(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the store as 006 left it
        conn.execute(sa.text("ALTER TABLE results DROP COLUMN confidence"))
        conn.execute(sa.text("DELETE FROM tierwise_migrations WHERE name = '007_result_confidence'"))
    engine.dispose()
    store = Store(url)
    assert store.schema_version() == SCHEMA_VERSION
    store.write_results([_row(confidence=0.875), _row(case_id="c2", call_key="k2")])
    frame = store.results_frame().set_index("case_id")
    assert frame.loc["c1", "confidence"] == 0.875 and frame["confidence"].isna().sum() == 1
    store.close()
