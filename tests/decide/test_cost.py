"""Cheapest among measured (compute) prices: the spread, ties and the stable order."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness import load_project
from harness.decide import decide
from harness.decide._cost import cost_order_key, cost_spread
from harness.decide._decision import CandidateResult
from harness.models import cost_of, resolve_candidates
from tests.projfix import spec, write_project

LADDER = {
    "qwen-0.5b": {"local": "qwen2.5-coder-0.5b-instruct", "price": {"per_hour": 0.05}},
    "qwen-1.5b": {"local": "qwen2.5-coder-1.5b-instruct", "price": {"per_hour": 0.05}},
}


def test_spread_is_the_half_width_of_scipys_95_percent_t_interval():
    costs = [1.0e-5, 1.4e-5, 0.9e-5, 1.2e-5, 2.0e-5, 1.1e-5]
    low, high = stats.t.interval(0.95, len(costs) - 1, loc=np.mean(costs), scale=stats.sem(costs))
    assert cost_spread(costs, compute_priced=True) == pytest.approx((high - low) / 2, rel=1e-12)


def test_an_exact_price_has_no_spread():
    assert cost_spread([0.001, 0.002, 0.003], compute_priced=False) == 0.0
    assert cost_spread([0.001], compute_priced=True) == 0.0


def _r(model, cost, spread=0.0, size=None, mean=0.95):
    return CandidateResult(model=model, target=model, provider="local", available=True, cost_per_call=cost,
                           cost_spread=spread, weights_bytes=size, mean=mean)


def test_costs_within_their_spread_are_a_tie_the_smaller_weights_win():
    small, large = _r("small", 1.05e-5, 0.1e-5, size=491_400_064), _r("large", 1.00e-5, 0.1e-5, size=1_117_320_768)
    results = [large, small]
    assert sorted(results, key=cost_order_key(results))[0] is small


def test_costs_apart_by_more_than_their_spread_keep_the_cheaper_first():
    small, large = _r("small", 1.5e-5, 0.1e-5, size=491_400_064), _r("large", 1.0e-5, 0.1e-5, size=1_117_320_768)
    results = [small, large]
    assert [r.model for r in sorted(results, key=cost_order_key(results))] == ["large", "small"]


def test_a_tie_between_unknown_sizes_goes_to_the_better_mean_then_the_name():
    a, b, c = _r("b", 0.001, mean=0.9), _r("a", 0.001, mean=0.9), _r("c", 0.001, mean=0.95)
    results = [a, b, c]
    assert [r.model for r in sorted(results, key=cost_order_key(results))] == ["c", "a", "b"]


def test_unknown_costs_sort_last():
    results = [_r("x", None), _r("y", 0.5)]
    assert [r.model for r in sorted(results, key=cost_order_key(results))] == ["y", "x"]


def _evaluation(tmp_path):
    golden = [{"id": f"c{i}", "vars": {"text": "x"}, "expected": "x"} for i in range(60)]
    write_project(tmp_path, models=LADDER, golden={"t": golden},
                  specs={"t": spec(candidates=list(LADDER), threshold=0.8)})
    project = load_project(tmp_path)
    return project.tasks["t"], resolve_candidates(project.config, list(LADDER))


# Seconds per call of each model on the machine (1.5B about 2.7x the 0.5B), and how much slower the
# wall clock ran while a CPU-bound process shared the cores during the 0.5B's calls only.
SECONDS = {"qwen-0.5b": 0.50, "qwen-1.5b": 1.35}
SLOWDOWN_BUSY = {"qwen-0.5b": 3.0, "qwen-1.5b": 1.0}


def _frame(cands, busy: bool, priced_on_wall: bool = False, seed: int = 0) -> pd.DataFrame:
    """One stored evaluation: both models right on every case, the same tokens per case; each
    row's cost priced as the runner prices it (or, `priced_on_wall`, as it did before: the
    hourly price times the call's wall time)."""
    rng = np.random.default_rng(seed)
    tokens = [(int(rng.integers(30, 60)), int(rng.integers(1, 4))) for _ in range(60)]
    rows = []
    for model, seconds in SECONDS.items():
        for i, (pt, ct) in enumerate(tokens):
            wall = seconds * rng.uniform(0.9, 1.1) * (SLOWDOWN_BUSY[model] if busy else 1.0)
            cost = 0.05 * wall / 3600 if priced_on_wall else cost_of(cands[model], pt, ct, wall)
            rows.append({"task": "t", "model": model, "case_id": f"c{i}", "score": 1.0, "error": None,
                         "latency_ms": wall * 1000, "cost": cost, "prompt_tokens": pt, "completion_tokens": ct,
                         "finish_reason": "stop", "run_id": "r1"})
    return pd.DataFrame(rows)


def test_a_local_models_price_is_its_tokens_at_its_rate_whatever_the_wall_time(tmp_path):
    _, cands = _evaluation(tmp_path)
    small, large = cands["qwen-0.5b"], cands["qwen-1.5b"]
    assert cost_of(small, 100, 10, 0.4) == cost_of(small, 100, 10, 4.0)  # a busy machine changes nothing
    assert cost_of(small, 150, 16, None) == pytest.approx(0.05 * 2.0 / 3600)  # 1 s of prompt + 1 s of output
    assert cost_of(large, 100, 10, 0.4) / cost_of(small, 100, 10, 0.4) == pytest.approx(1_117_320_768 / 491_400_064)


def test_the_same_evaluation_with_and_without_a_cpu_bound_process_recommends_the_same_model(tmp_path):
    task, cands = _evaluation(tmp_path)
    quiet = decide(task, cands, _frame(cands, busy=False), None)
    busy = decide(task, cands, _frame(cands, busy=True), None)
    assert quiet.recommended == busy.recommended == "qwen-0.5b"
    assert [c.model for c in quiet.candidates] == [c.model for c in busy.candidates]


def test_priced_on_wall_time_the_busy_machine_made_the_larger_model_cheaper(tmp_path):
    """What pricing by tokens fixes (issue 29: 1.5B at $0.047 against 0.5B at $0.075 per 1,000)."""
    task, cands = _evaluation(tmp_path)
    assert decide(task, cands, _frame(cands, busy=True, priced_on_wall=True), None).recommended == "qwen-1.5b"


def test_the_decision_records_the_spread_of_a_compute_price(tmp_path):
    task, cands = _evaluation(tmp_path)
    d = decide(task, cands, _frame(cands, busy=False), None)
    spreads = {c.model: c.cost_spread for c in d.candidates}
    assert all(0 < s < 0.1 * c.cost_per_call for s, c in zip(spreads.values(), d.candidates))
    assert "cost_spread" in d.to_dict()["candidates"][0]


def test_local_models_within_their_spread_tie_and_the_smaller_is_recommended_with_a_note(tmp_path):
    task, cands = _evaluation(tmp_path)
    frame = _frame(cands, busy=False)
    # the 1.5B measured a shade cheaper than the 0.5B, well inside the measurement's spread
    small = frame["model"] == "qwen-0.5b"
    frame.loc[~small, "cost"] = frame.loc[small, "cost"].to_numpy() * 0.99
    d = decide(task, cands, frame, None)
    assert d.recommended == "qwen-0.5b"
    assert any(n.startswith("cost tie: qwen-0.5b and qwen-1.5b") for n in d.notes)
    assert not math.isnan(d.candidates[0].cost_spread)


SERVED = {"served-small": {"litellm": "openai/small", "api_base": "http://127.0.0.1:9/v1", "api_key": "none",
                           "price": {"per_hour": 1.2, "output_tokens_per_s": 40, "prompt_tokens_per_s": 800}},
          "served-wall": {"litellm": "openai/small", "api_base": "http://127.0.0.1:9/v1", "api_key": "none",
                          "price": {"per_hour": 1.2}}}


def test_a_self_hosted_endpoint_with_a_stated_throughput_is_priced_on_its_tokens_not_its_load(tmp_path):
    write_project(tmp_path, models=SERVED, specs={"t": spec(candidates=list(SERVED))})
    cands = resolve_candidates(load_project(tmp_path).config, list(SERVED))
    stated, wall = cands["served-small"], cands["served-wall"]
    # 40 output tokens at 40/s and 800 prompt tokens at 800/s: two seconds of a $1.20/hour machine
    assert cost_of(stated, 800, 40, 0.3) == cost_of(stated, 800, 40, 9.0) == pytest.approx(1.2 * 2 / 3600)
    assert cost_of(wall, 800, 40, 9.0) == pytest.approx(1.2 * 9 / 3600)  # no rate: the wall time, as before


def test_a_stated_rate_on_a_local_model_replaces_the_reference_machine(tmp_path):
    models = {"qwen-0.5b": {"local": "qwen2.5-coder-0.5b-instruct",
                            "price": {"per_hour": 0.05, "output_tokens_per_s": 32, "prompt_tokens_per_s": 300}}}
    write_project(tmp_path, models=models, specs={"t": spec(candidates=list(models))})
    cand = resolve_candidates(load_project(tmp_path).config, list(models))["qwen-0.5b"]
    assert cost_of(cand, 300, 32, 5.0) == pytest.approx(0.05 * 2 / 3600)


@pytest.mark.parametrize("price, message", [
    ({"per_hour": 1.0, "output_tokens_per_s": 40}, "set prompt_tokens_per_s too"),
    ({"output_tokens_per_s": 40, "prompt_tokens_per_s": 400}, "add per_hour:"),
    ({"per_hour": 1.0, "output_tokens_per_s": 0, "prompt_tokens_per_s": 400}, "greater than 0"),
])
def test_a_half_stated_throughput_is_refused_with_the_fix(tmp_path, price, message):
    from harness.errors import ConfigError

    write_project(tmp_path, models={"m": {"litellm": "openai/m", "api_base": "http://127.0.0.1:9/v1",
                                          "api_key": "none", "price": price}}, specs={"t": spec(candidates=["m"])})
    with pytest.raises(ConfigError, match=message) as err:
        load_project(tmp_path)
    assert "tierwise.yaml" in str(err.value)
