"""API calls in worker processes: every result still graded, stored once, errors counted."""

import pytest

from harness import load_project, results, run
from harness.runner._workers import MIN_CALLS_PER_WORKER, default_workers
from tests.projfix import run_cli_in_fresh_process, spec, write_project

SECRET = "sk-test-workers-DO-NOT-STORE-123"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", SECRET)


def _project(tmp_path, server, n=24, model="fake-model"):
    models = {"api": {"litellm": f"openai/{model}", "api_base": server.base_url, "api_key_env": "TW_FAKE_KEY"}}
    if model == "fake-model":  # not in LiteLLM's map: priced in the catalog
        models["api"]["price"] = {"input_per_mtok": 1.0, "output_per_mtok": 2.0}
    golden = [{"id": f"c{i:03d}", "vars": {"text": f"{('yes', 'no')[i % 2]} #c{i:03d}"},
               "expected": ("yes", "no")[i % 2]} for i in range(n)]
    write_project(tmp_path, models=models, config={"retries": 2, "retry_backoff_s": 0.05, "timeout_s": 5},
                  specs={"t": spec(candidates=["api"])}, golden={"t": golden})
    return load_project(tmp_path)


def test_two_workers_call_grade_and_store_every_case_once(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai)
    out = run(project, progress=False, workers=2)
    assert out.counts.workers == 2 and out.counts.called == 24 and out.counts.errors == 0
    frame = results(project)
    assert len(frame) == 24 and frame["score"].eq(1.0).all() and frame["latency_ms"].gt(0).all()
    assert fake_openai.count == 24
    again = run(project, progress=False, workers=2)
    assert again.counts.reused == 24 and fake_openai.count == 24


def test_a_failure_in_a_worker_is_a_recorded_error_with_its_key_redacted(tmp_path, fake_openai):
    project = _project(tmp_path, fake_openai, n=6)
    fake_openai.fail("echo_auth", times=None, when="#c002")
    out = run(project, progress=False, workers=2)
    assert out.counts.errors == 1 and out.counts.called == 6
    row = results(project).set_index("case_id").loc["c002"]
    assert row["attempts"] == 3 and SECRET not in row["error"]


@pytest.mark.parametrize("calls, cores, expected", [(0, 2, 1), (MIN_CALLS_PER_WORKER - 1, 2, 1),
                                                    (2 * MIN_CALLS_PER_WORKER, 2, 2), (10_000, 2, 2),
                                                    (10_000, 1, 1)])
def test_default_workers_one_per_core_only_for_runs_with_many_api_calls(monkeypatch, calls, cores, expected):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert default_workers(calls) == expected


def _in_fork(fn):
    """fn's return value, computed in a forked child (whose LiteLLM patches leave this process alone)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=lambda: queue.put(fn()))
    proc.start()
    try:
        return queue.get(timeout=60)
    finally:
        proc.join(30)


def test_a_worker_skips_litellms_costing_and_success_logs_unless_a_callback_listens(fake_openai):
    import asyncio

    from harness.models import load_litellm, skip_unread_bookkeeping

    lib = load_litellm()

    def call(wait=0.0):
        async def one():
            response = await lib.acompletion(model="openai/gpt-4.1-mini", api_base=fake_openai.base_url,
                                             api_key="sk-x", messages=[{"role": "user", "content": "yes"}],
                                             num_retries=0, max_retries=0)
            await asyncio.sleep(wait)  # LiteLLM's logging worker delivers success events after the call
            return response.choices[0].message.content, response._hidden_params.get("response_cost")

        return asyncio.run(one())

    def worker():
        from litellm.integrations.custom_logger import CustomLogger

        skip_unread_bookkeeping()
        quiet = call()

        class Listener(CustomLogger):
            events = 0

            async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
                Listener.events += 1

        lib.callbacks = [Listener()]
        return quiet, call(wait=0.5), Listener.events

    quiet, listened, events = _in_fork(worker)
    assert quiet == ("yes", None)  # answered, and no cost computed that nobody reads
    assert listened[0] == "yes" and listened[1] is not None and events == 1  # a listener gets all of it
    assert call()[1] is not None  # this process (no skip) is as it was


def test_each_worker_skips_what_only_litellms_callbacks_read(tmp_path, fake_openai, monkeypatch):
    seen = tmp_path / "quiet"
    seen.mkdir()

    def record():  # forked: the worker runs this in place of _quiet
        import os

        from harness.models import load_litellm

        load_litellm()
        (seen / str(os.getpid())).touch()

    monkeypatch.setattr("harness.runner._workers._quiet", record)
    project = _project(tmp_path / "p", fake_openai)
    out = run(project, progress=False, workers=2)
    assert out.counts.errors == 0 and len(list(seen.iterdir())) == 2
    frame = results(project)  # priced by Tierwise in the parent, from the tokens, as ever
    expected = frame["prompt_tokens"] * 1e-6 + frame["completion_tokens"] * 2e-6
    assert (frame["cost"] - expected).abs().max() < 1e-15


def test_a_runs_local_engine_is_stopped_before_workers_are_forked(tmp_path, fake_openai):
    from harness.runner import candidates_for, plan_run
    from harness.models import Engines
    from harness.runner._runner import RunOptions, SharedLocal, _pool

    project = _project(tmp_path, fake_openai)
    tasks = project.select(None)
    plan = plan_run(tasks, candidates_for(project, tasks, check_keys=False))
    stopped = []
    shared = SharedLocal()
    shared.engines = Engines({"local": type("Engine", (), {"stop": lambda self: stopped.append(True)})()})
    pool = _pool(plan.items, {}, RunOptions(workers=2, local=shared))
    try:
        assert len(pool.workers) == 2
        assert stopped == [True] and shared.engines is None  # no llama.cpp thread alive at the fork
    finally:
        pool.stop()


def _record_start(monkeypatch, events):
    """Record, in order, the runner's checks of what is pending, each worker pool it makes (with
    where LiteLLM is imported) and the run's first part."""
    from harness.runner import _api, _runner, _workers

    pool, pending, parts = _workers.WorkerPool, _runner._pending, _api.run_parts

    def make_pool(n, import_here=True):
        events.append(f"pool import_here={import_here}")
        return pool(n, import_here)

    monkeypatch.setattr(_workers, "WorkerPool", make_pool)
    monkeypatch.setattr(_runner, "_pending", lambda *a: (events.append("pending"), pending(*a))[1])
    monkeypatch.setattr(_api, "run_parts", lambda *a: (events.append("part"), parts(*a))[1])


def test_workers_start_before_the_runs_first_part_and_import_litellm_themselves(tmp_path, fake_openai, monkeypatch):
    events = []
    _record_start(monkeypatch, events)
    out = run(_project(tmp_path, fake_openai), progress=False, workers=2)
    assert out.counts.workers == 2 and out.counts.called == 24 and out.counts.errors == 0
    # the early check, the workers (LiteLLM imported in them), then the first part, which uses them
    assert events == ["pending", "pool import_here=False", "part", "pending"]


@pytest.mark.parametrize("model", ["fake-model", "gpt-4.1-mini"])  # priced in the catalog; in LiteLLM's map
def test_a_run_whose_workers_make_the_calls_never_imports_litellm_itself(tmp_path, fake_openai, model):
    project = _project(tmp_path, fake_openai, model=model)
    out, err, imported = run_cli_in_fresh_process(tmp_path, "--quiet", "--workers", "2")
    assert "24 called, 0 from cache, 0 already stored, 0 errors" in out, err
    assert not imported
    frame = results(project)
    price = (1e-6, 2e-6) if model == "fake-model" else (0.4e-6, 1.6e-6)
    expected = frame["prompt_tokens"] * price[0] + frame["completion_tokens"] * price[1]
    assert frame["cost"].gt(0).all() and (frame["cost"] - expected).abs().max() < 1e-15


@pytest.mark.parametrize("workers", [1, None])  # None: 24 calls are too few for workers by default
def test_a_run_without_call_workers_starts_none_early(tmp_path, fake_openai, monkeypatch, workers):
    events = []
    _record_start(monkeypatch, events)
    assert run(_project(tmp_path, fake_openai), progress=False, workers=workers).counts.workers == 1
    assert not [e for e in events if e.startswith("pool")]


def test_a_rerun_with_every_result_stored_starts_no_worker(tmp_path, fake_openai, monkeypatch):
    project = _project(tmp_path, fake_openai)
    run(project, progress=False, workers=2)
    events = []
    _record_start(monkeypatch, events)
    assert run(project, progress=False, workers=2).counts.reused == 24
    assert not [e for e in events if e.startswith("pool")]


@pytest.mark.parametrize("workers, warmed", [(2, 1), (1, 0)])
def test_the_callers_warm_up_runs_while_early_workers_start_and_only_then(tmp_path, fake_openai, workers, warmed):
    calls = []
    out = run(_project(tmp_path, fake_openai), progress=False, workers=workers, warm=lambda: calls.append(1))
    assert out.counts.called == 24 and len(calls) == warmed


def test_a_worker_honours_retry_after_and_retries_server_errors_and_malformed_bodies(tmp_path, fake_openai):
    import time

    project = _project(tmp_path, fake_openai, n=6)
    fake_openai.fail("429", when="#c001", retry_after=1.0)
    fake_openai.fail("500", when="#c002")
    fake_openai.fail("malformed", when="#c003")
    started = time.perf_counter()
    out = run(project, progress=False, workers=2)
    assert out.counts.errors == 0 and out.counts.workers == 2
    assert time.perf_counter() - started >= 1.0  # the backoff alone is 0.05 s: the header was honoured
    frame = results(project).set_index("case_id")
    assert frame.loc[["c001", "c002", "c003"], "attempts"].tolist() == [2, 2, 2]
    assert frame["score"].eq(1.0).all()


def test_the_chains_warm_up_calls_nothing_and_leaves_no_thread_to_fork_with(fake_openai):
    def worker():
        import threading

        from harness.runner._workers import _quiet, _warm_up

        _quiet()
        _warm_up()
        return threading.active_count()

    assert _in_fork(worker) == 1 and fake_openai.count == 0
