"""Adaptive runs, repeats, --dry-run and --budget, end to end (python: rules and the loopback server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import load_project, run
from harness.commands import recommend
from harness.runner import estimate, results
from harness.store import Store
from tests.fake_openai import FakeOpenAI
from tests.projfix import spec, write_project
from tests.conftest import require_module

RULES = '''
import random, zlib

def _right(vars, accuracy, salt):
    rng = random.Random(zlib.crc32(f"{salt}:{vars['text']}".encode()))
    return vars["text"] if rng.random() < accuracy else "wrong"

def poor(vars):
    return _right(vars, 0.50, "poor")

def fair(vars):
    return _right(vars, 0.70, "fair")

def strong(vars):
    return _right(vars, 0.995, "strong")

def coin(vars):  # not deterministic: a fresh draw on every call
    return vars["text"] if random.random() < 0.6 else "wrong"
'''

LADDER = {"poor": {"python": "simrules:poor", "price": {"per_call": 0.001}},
          "fair": {"python": "simrules:fair", "price": {"per_call": 0.002}},
          "strong": {"python": "simrules:strong", "price": {"per_call": 0.01}}}


def _ladder(root: Path, n: int = 200, **kw):
    write_project(root, models=LADDER, files={"simrules.py": RULES},
                  golden={"t": [{"id": f"c{i:03d}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"} for i in range(n)]},
                  specs={"t": spec(candidates=list(LADDER), threshold=0.9, **kw)})
    return load_project(root)


def test_adaptive_run_stops_poor_candidates_early_and_recommend_uses_its_verdicts(tmp_path):
    project = _ladder(tmp_path)
    result = run(project, progress=False, adaptive=True)
    assert result.counts.called < 0.6 * 3 * 200
    assert result.stops["t"]["poor"].startswith("stopped at 10 of 200")
    d = recommend(project).decisions[0]
    assert d.adaptive and d.recommended == "strong" and "anytime-valid" in d.procedure
    poor = next(c for c in d.candidates if c.model == "poor")
    assert poor.settled and poor.n == 10 and poor.why_not.startswith("stopped at 10 of 200")
    assert "evaluated on" not in poor.why_not


def test_adaptive_run_resumes_and_calls_nothing_when_settled(tmp_path):
    project = _ladder(tmp_path)
    first = run(project, progress=False, adaptive=True)
    again = run(project, progress=False, adaptive=True)
    assert again.counts.called == 0 and again.stops == first.stops


def test_spec_default_adaptive_and_full_run_unchanged(tmp_path):
    adaptive = _ladder(tmp_path / "a", adaptive=True)
    full = _ladder(tmp_path / "f")
    assert run(adaptive, progress=False).counts.called < run(full, progress=False).counts.called == 600
    assert not recommend(full).decisions[0].adaptive


def test_adaptive_with_limit_is_refused(tmp_path):
    from harness.errors import ConfigError

    project = _ladder(tmp_path)
    with pytest.raises(ConfigError, match="--adaptive runs the whole golden set"):
        run(project, progress=False, adaptive=True, limit=10)


def test_budget_stops_an_adaptive_run_and_a_rerun_resumes_to_the_same_end(tmp_path):
    whole = run(_ladder(tmp_path / "whole"), progress=False, adaptive=True)
    project = _ladder(tmp_path / "split")
    part = run(project, progress=False, adaptive=True, budget=0.05)
    assert part.budget_stop.startswith("budget: stopped at $") and "re-run with a larger --budget" in part.budget_stop
    db = Store(project.store_url())
    try:
        assert db.spend(part.run_id) <= 0.05 + 1e-9
    finally:
        db.close()
    rest = run(project, progress=False, adaptive=True)
    assert part.counts.called + rest.counts.called == whole.counts.called
    assert rest.stops == whole.stops


def test_repeats_store_each_call_and_the_case_is_the_unit(tmp_path):
    write_project(tmp_path, models={"coin": {"python": "simrules:coin", "price": {"per_call": 0.0}}},
                  files={"simrules.py": RULES},
                  golden={"t": [{"id": f"c{i}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"} for i in range(30)]},
                  specs={"t": spec(candidates=["coin"], threshold=0.5, repeats=3)})
    project = load_project(tmp_path)
    assert run(project, progress=False).counts.called == 90
    frame = results(project)
    assert len(frame) == 90 and frame.groupby("case_id")["call_key"].nunique().eq(3).all()
    c = recommend(project).decisions[0].candidates[0]
    assert c.n == 30 and c.repeats == 3 and sum(c.consistency.values()) == 30
    assert set(c.consistency) <= {"3 of 3", "2 of 3", "1 of 3", "0 of 3"}
    assert run(project, progress=False, repeats=4).counts.called == 30  # only the fourth repeat is new


# --- the loopback server: --dry-run estimates and --budget ----------------------------------------

WORDS = ("the quick brown fox jumps over the lazy dog while a small bird sings in the old green tree and "
         "people walk along the river under a clear blue sky ").split()


def _golden(n: int) -> list[dict]:
    # long prompts of common words: one token a word for a real tokenizer and for the server alike
    text = " ".join(WORDS * 8)
    return [{"id": f"c{i:03d}", "vars": {"text": f"yes {text} {i}"}, "expected": "yes"} for i in range(n)]


def _api_project(root: Path, server: FakeOpenAI, n: int = 40):
    models = {"api": {"litellm": "openai/fake-model", "api_base": server.base_url, "api_key_env": "TW_FAKE_KEY",
                      "concurrency": 4, "price": {"input_per_mtok": 100.0, "output_per_mtok": 200.0}}}
    write_project(root, models=models, config={"retries": 1, "retry_backoff_s": 0.05, "concurrency": 4},
                  specs={"t": spec(candidates=["api"], params={"max_tokens": 16})}, golden={"t": _golden(n)})
    return load_project(root)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", "sk-test-fake")


def test_dry_run_calls_nothing_and_estimates_tokens_and_dollars_within_ten_percent(tmp_path, fake_openai):
    project = _api_project(tmp_path, fake_openai)
    run(project, progress=False, limit=5)  # a stored average answer length for the rest
    dry = estimate(project)
    assert fake_openai.count == 5 and dry.calls == 35 and dry.reused == 5
    row = dry.rows[0]
    assert row.output_from == "stored average"
    result = run(project, progress=False)
    assert result.counts.called == 35
    frame = results(project)
    fresh = frame[frame["run_id"] == result.run_id]
    assert row.prompt_tokens == pytest.approx(fresh["prompt_tokens"].sum(), rel=0.10)
    assert row.completion_tokens == pytest.approx(fresh["completion_tokens"].sum(), rel=0.10)
    assert dry.cost == pytest.approx(fresh["cost"].sum(), rel=0.10)


def test_dry_run_without_history_bounds_output_by_max_tokens(tmp_path, fake_openai):
    dry = estimate(_api_project(tmp_path, fake_openai, n=10))
    assert fake_openai.count == 0 and dry.rows[0].output_from == "max_tokens"
    assert dry.rows[0].completion_tokens == 10 * 16


def test_budget_never_overspends_by_more_than_one_batch_and_resumes(tmp_path, fake_openai):
    project = _api_project(tmp_path, fake_openai)
    per_call = estimate(project).cost / 40
    budget = 12.5 * per_call
    part = run(project, progress=False, budget=budget)
    db = Store(project.store_url())
    try:
        spent = db.spend(part.run_id)
    finally:
        db.close()
    assert part.budget_stop is not None and 0 < part.counts.called < 40
    assert spent <= budget + 4 * per_call * 1.1  # at most one batch (concurrency 4) past its estimate
    assert fake_openai.count == part.counts.called
    rest = run(project, progress=False)
    assert rest.counts.called == 40 - part.counts.called and rest.budget_stop is None


def test_budget_refuses_an_unpriced_model(tmp_path, fake_openai):
    from harness.errors import ConfigError

    write_project(tmp_path, models={"api": {"litellm": "openai/not-a-priced-model", "api_base": fake_openai.base_url,
                                            "api_key_env": "TW_FAKE_KEY"}},
                  specs={"t": spec(candidates=["api"])}, golden={"t": _golden(3)})
    with pytest.raises(ConfigError, match="--budget: api has no known price"):
        run(load_project(tmp_path), progress=False, budget=1.0)
    assert fake_openai.count == 0


def test_a_model_an_adaptive_run_settled_early_passes_the_gate(tmp_path):
    from harness.commands import gate
    from harness.registry import read_evidence, write_registry

    project = _ladder(tmp_path)
    run(project, progress=False, adaptive=True)
    write_registry(project, recommend(project))
    record = read_evidence(project.registry_path).record("t")
    assert record.model == "strong" and record.settled and record.n < 200 and record.adaptive.startswith("qualified")
    assert gate(load_project(tmp_path)).ok


def test_the_adaptive_ladder_counts_prompt_tokens_without_a_tokenizer(monkeypatch):
    """The ladder needs an order, not a tokenizer: characters / 4, so a resumed adaptive run that
    calls nothing never imports LiteLLM (a no-op re-run of the example: 11.3 s -> 2.7 s)."""
    from types import SimpleNamespace

    from harness.runner import _estimate

    def tokenizer(*_):
        raise AssertionError("the approximate estimator must not count with a tokenizer")

    monkeypatch.setattr(_estimate, "prompt_tokens", tokenizer)
    item = SimpleNamespace(cand=SimpleNamespace(name="m", kind="local"), messages=[{"role": "system", "content": "x" * 30},
                                                                     {"role": "user", "content": "y" * 11}])
    assert _estimate.Estimator(None, approximate=True).prompt_tokens(item) == 11  # ceil(41 / 4)


def test_an_adaptive_run_keeps_one_local_engine_across_its_rounds(tmp_path, fake_openai, monkeypatch):
    import dataclasses

    require_module("llama_cpp", "needs llama_cpp: pip install -e '.[local]'")
    started, stopped = [], []

    class Engine:  # stands in for llama.cpp, answering through the loopback server
        def __init__(self, models):
            self.models = dict(models)
            started.append(self.models)

        def route(self, cand):
            return (dataclasses.replace(cand, litellm_model=f"openai/{cand.name}"),
                    {"api_base": fake_openai.base_url, "api_key": "sk-local-not-a-secret"})

        def stop(self):
            stopped.append(self)

    monkeypatch.setattr("harness.models._local.start_local", lambda models, threads=None, note=None: Engine(models))
    write_project(tmp_path, models={"small": {"local": "smollm2-135m-instruct", "price": {"per_hour": 0.05}}},
                  golden={"t": [{"id": f"c{i:03d}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"}
                                for i in range(100)]},
                  specs={"t": spec(candidates=["small"], threshold=0.8)})
    result = run(load_project(tmp_path), progress=False, adaptive=True)
    assert result.stops["t"]["small"].startswith("qualified at ")
    assert not result.stops["t"]["small"].startswith("qualified at 10 ")  # more than one round ran
    assert started == [{"small": "smollm2-135m-instruct"}] and len(stopped) == 1


def _spend(project, run_id: str) -> float:
    db = Store(project.store_url())
    try:
        return db.spend(run_id)
    finally:
        db.close()


def test_budget_with_a_compute_priced_model_stops_before_the_call_that_would_cross(tmp_path):
    """A per_hour price is known only once a call ran (its estimate before the run said about
    $0): the first call measures the rate, and no call starts that the measured rate says would
    pass the budget (issue 29: "stopped at $0.0006 of $0.0003")."""
    with FakeOpenAI(delay=0.2) as server:
        models = {"box": {"litellm": "openai/fake-model", "api_base": server.base_url, "api_key_env": "TW_FAKE_KEY",
                          "concurrency": 4, "price": {"per_hour": 3.6}}}  # $0.001 per second of the exchange
        write_project(tmp_path, models=models, config={"concurrency": 4},
                      specs={"t": spec(candidates=["box"], params={"max_tokens": 4})}, golden={"t": _golden(12)})
        project = load_project(tmp_path)
        part = run(project, progress=False, budget=0.00075)  # about three and a half calls' worth
        spent = _spend(project, part.run_id)
        assert part.budget_stop is not None and "the run is incomplete" in part.budget_stop
        assert 0 < part.counts.called < 12 and server.count == part.counts.called
        assert spent <= 0.00075
        assert "(about $0.0002" in part.budget_stop  # an estimate a reader can see, not "$0.0000"
        assert Store(project.store_url()).runs([part.run_id])[0]["status"] == "budget_stopped"


def test_a_run_stopped_by_its_budget_exits_1_and_says_where(tmp_path, monkeypatch, capsys):
    from tests.projfix import tierwise

    write_project(tmp_path, models={"rule": {"python": "simrules:strong", "price": {"per_call": 0.01}}},
                  files={"simrules.py": RULES}, specs={"t": spec(candidates=["rule"])},
                  golden={"t": [{"id": f"c{i}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"} for i in range(5)]})
    code, out, _ = tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path), "--quiet", "--budget", "0.025")
    assert code == 1
    assert "budget: stopped at $0.0200 of $0.0250 before t × rule case c2" in out
    assert "2 of 5 calls made" in out


def test_adaptive_progress_shows_each_candidates_running_score_and_a_time_estimate(tmp_path):
    import io

    from harness.runner import Progress

    project = _ladder(tmp_path)
    stream = io.StringIO()
    run(project, progress=Progress(enabled=True, stream=stream), adaptive=True)
    lines = stream.getvalue().splitlines()
    rounds = [x for x in lines if x.startswith("adaptive round ")]
    assert rounds[0] == "adaptive round 1: 30 calls"  # all three start (a pick and two fallbacks); no pace yet
    assert all(", about " in x and " s a call)" in x for x in rounds[1:])
    standing = [x for x in lines if x.startswith("  t × ")]
    assert any(x.startswith("  t × fair: running, at 10 of 200: mean 0.") and "against 0.9" in x for x in standing)
    assert any(x.startswith("  t × poor: stopped at 10 of 200") for x in standing)
    assert not any("poor: waiting for cheaper candidates" in x or "fair: waiting" in x for x in standing)


def test_the_cheapest_candidate_of_a_round_is_never_waiting_for_cheaper_ones():
    from harness.decide._sequential import AdaptivePlan, adaptive_state

    plan = AdaptivePlan(threshold=0.9, confidence=0.95, total=100, family_size=3, round_size=10, needed=1)
    state = adaptive_state({}, {"a": 0.001, "b": 0.002, "c": 0.01}, plan)
    assert state.stops["a"].text == "starting, 10 of 100 cases this round"
    assert state.stops["c"].text == "waiting for cheaper candidates"


def test_starting_llama_cpp_names_the_models_this_part_needs(monkeypatch):
    from harness.runner._runner import SharedLocal

    class Engine:
        def __init__(self, models):
            self.models = dict(models)

        def stop(self):
            pass

    monkeypatch.setattr("harness.models._local.start_local", lambda models, threads=None, note=None: Engine(models))
    notes: list[str] = []
    shared = SharedLocal()
    shared.get({"local": {"smollm2": "a", "gemma3": "b"}}, None, notes.append)
    engines = shared.get({"local": {"qwen-0.5b": "c", "qwen-1.5b": "d"}}, None, notes.append)
    assert notes == ["starting llama.cpp for smollm2, gemma3 …", "starting llama.cpp for qwen-0.5b, qwen-1.5b …"]
    # still kept, loaded on demand
    assert list(engines.by_kind["local"].models) == ["smollm2", "gemma3", "qwen-0.5b", "qwen-1.5b"]


CASCADE_RULES = RULES + '''

def sure(vars):  # right where it answers; abstains on every third case
    return None if int(vars["text"][1:]) % 3 == 0 else vars["text"]
'''


def test_an_adaptive_run_calls_a_cascades_dear_stage_only_where_the_cheap_one_defers(tmp_path):
    models = {**LADDER, "sure": {"python": "simrules:sure", "price": {"per_call": 0.0}}}
    cascade = {"cascade": ["sure", "strong"], "defer": ["abstain"]}
    write_project(tmp_path, models=models, files={"simrules.py": CASCADE_RULES},
                  golden={"t": [{"id": f"c{i:03d}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"}
                                for i in range(120)]},
                  specs={"t": spec(candidates=["poor", "strong", cascade], threshold=0.9)})
    project = load_project(tmp_path)
    result = run(project, progress=False, adaptive=True)
    frame = results(project)
    ran = {m: set(frame[frame["model"] == m]["case_id"]) for m in ("sure", "strong", "poor")}
    abstained = {f"c{i:03d}" for i in range(120) if i % 3 == 0}
    assert len(ran["sure"]) == 120                      # the first stage runs every case
    assert abstained <= ran["strong"]                    # the dear one every case the cheap one passes on
    assert len(ran["strong"]) < 120                      # and no more than its own adaptive stop needs besides
    assert len(ran["poor"]) < 120                        # a candidate in no cascade still stops early
    assert "t" in result.stops
    d = recommend(project).decisions[0]
    (verdict,) = d.cascades
    assert verdict["name"] == "sure>strong" and verdict["n"] == 120 and verdict["qualifies"]
    assert d.recommended == "sure>strong"
    assert [s["seen"] for s in verdict["stages"]] == [120, 40]
    assert "4 policies (3 models, 1 cascade)" in d.procedure  # the cascade counted once


def test_an_adaptive_run_bounds_a_cascades_check_verifier_by_the_projects_grade_timeout(tmp_path, monkeypatch):
    """The cascade's stages are replayed between rounds with its `check` verifiers: each bounded by
    tierwise.yaml's grade_timeout_s (as the decision and the client bound it), not the default."""
    from harness.decide import _cascade_data

    seen: list[float] = []
    original = _cascade_data.cascade_needs

    def needs(task, groups, check_timeout_s):
        seen.append(check_timeout_s)
        return original(task, groups, check_timeout_s)

    monkeypatch.setattr(_cascade_data, "cascade_needs", needs)
    models = {**LADDER, "sure": {"python": "simrules:sure", "price": {"per_call": 0.0}}}
    write_project(tmp_path, models=models, files={"simrules.py": CASCADE_RULES}, config={"grade_timeout_s": 0.7},
                  golden={"t": [{"id": f"c{i:03d}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"}
                                for i in range(30)]},
                  specs={"t": spec(candidates=["strong", {"cascade": ["sure", "strong"], "defer": ["abstain"]}],
                                   threshold=0.5)})
    run(load_project(tmp_path), progress=False, adaptive=True)
    assert seen and set(seen) == {0.7}
