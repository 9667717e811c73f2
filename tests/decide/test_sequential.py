"""Confidence sequences against confseq, their time-uniform coverage, and the adaptive rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.decide._sequential import (
    AdaptivePlan,
    adaptive_state,
    anytime_p_value,
    capital_process,
    case_order,
    final_selection,
    lower_sequence,
    upper_bound,
    upper_sequence,
)

PASS_FAIL = np.tile([1, 1, 1, 0, 1, 1, 1, 1, 1, 1], 6).astype(float)            # 60 cases, rate 0.9
SCORES = np.tile([0.9, 0.7, 1.0, 0.85, 0.95, 0.6, 1.0, 0.8], 5).astype(float)  # 40 cases

# Computed once with confseq 0.0.11 (built from source; numpy 1.26):
# betting_mart(x, m, alpha=0.05, lambdas_fn_positive=lambda x, m: lambda_predmix_eb(x, alpha=0.05),
#              theta=1, trunc_scale=0.5) at t = 10, 20 and the last; and
# betting_lower_cs(x, alpha=0.05, breaks=1000, running_intersection=True) at the same t.
CONFSEQ_CAPITAL = [
    ("pass_fail", 0.7, [2.869841924, 8.235992667, 366.2480741]),
    ("pass_fail", 0.8, [1.443253789, 2.0829815, 8.215184331]),
    ("scores", 0.7, [2.500136822, 7.352925302, 50.1024712]),
    ("scores", 0.8, [1.239354522, 1.788987806, 2.981787592]),
]
CONFSEQ_LOWER = [("pass_fail", [0.496, 0.644, 0.775]), ("scores", [0.49, 0.639, 0.73])]
DATA = {"pass_fail": PASS_FAIL, "scores": SCORES}


@pytest.mark.parametrize("which, m, expected", CONFSEQ_CAPITAL)
def test_capital_process_matches_confseq(which, m, expected):
    k = capital_process(DATA[which], m, alpha=0.05)
    assert [k[9], k[19], k[-1]] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("which, expected", CONFSEQ_LOWER)
def test_lower_sequence_matches_confseqs_grid_within_its_resolution(which, expected):
    low = lower_sequence(DATA[which], alpha=0.05)
    got = [low[9], low[19], low[-1]]
    # confseq reports the grid point below the boundary (grid step 0.001): ours is exact
    assert all(e - 1e-9 <= g <= e + 0.001 + 1e-9 for g, e in zip(got, expected)), got


def test_upper_sequence_mirrors_the_lower_and_the_bounds_nest():
    up = upper_sequence(SCORES, 0.05)
    assert up[-1] == pytest.approx(1 - lower_sequence(1 - SCORES, 0.05)[-1])
    assert up[-1] == pytest.approx(upper_bound(SCORES, 0.05))
    assert np.all(np.diff(up) <= 1e-12) and lower_sequence(SCORES, 0.05)[-1] < SCORES.mean() < up[-1]


def test_anytime_p_value_agrees_with_the_lower_sequence():
    low = lower_sequence(PASS_FAIL, 0.05)[-1]
    assert anytime_p_value(PASS_FAIL, low - 0.01, 0.05) <= 0.05 < anytime_p_value(PASS_FAIL, low + 0.01, 0.05)


@pytest.mark.parametrize("rate", [0.5, 0.9])
def test_simulation_time_uniform_coverage(rate):
    """P(the lower sequence ever rises above the true mean within 400 cases) <= alpha."""
    rng = np.random.default_rng(int(rate * 100))
    seeds, alpha = 400, 0.05
    misses = sum(np.max(capital_process((rng.random(400) < rate).astype(float), rate, alpha)) >= 1 / alpha
                 for _ in range(seeds))
    assert misses / seeds <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / seeds)


# --------------------------------------------------------------------------- the adaptive rule


def _plan(**kw) -> AdaptivePlan:
    base = dict(threshold=0.9, confidence=0.95, total=200, family_size=3, round_size=20)
    return AdaptivePlan(**(base | kw))


def test_a_poor_candidate_stops_early_with_the_reason_and_the_next_one_starts():
    rng = np.random.default_rng(0)
    data = {"bad": (rng.random(200) < 0.6).astype(float), "good": np.ones(200), "dear": np.ones(200)}
    costs = {"bad": 0.001, "good": 0.002, "dear": 0.01}
    state = adaptive_state(data, costs, _plan(needed=1))
    bad, good, dear = state.stops["bad"], state.stops["good"], state.stops["dear"]
    assert bad.status == "cannot_qualify" and bad.cases_run < 100
    assert bad.text.startswith(f"stopped at {bad.cases_run} of 200: ")
    assert good.status == "qualified" and good.cases_run < 200 and good.text.startswith("qualified at")
    assert dear.status == "not_needed" and dear.cases_run == 0
    assert state.done and [v.name for v in final_selection(state, costs).qualifying()] == ["good"]


def test_continuous_scores_stop_once_even_a_perfect_rest_cannot_reach_the_bar():
    from harness.decide._sequential import _judge

    plan = _plan(total=100, round_size=10)
    # Good early cases keep the upper sequence loose (0.97 here), but the sum is 29.9: at best
    # (29.9 + 60) / 100 = 0.899 < 0.9. One zero made 0.5 (sum 30.4, best 0.904): it runs on.
    x = np.array([1.0] * 28 + [0.95] * 2 + [0.0] * 10)
    stop = _judge("m", x, plan)
    assert stop.status == "cannot_qualify" and stop.upper > 0.9
    assert stop.text == "stopped at 40 of 100: even with every remaining case perfect its mean at 100 would be 0.899 < 0.9"
    assert _judge("m", np.array([1.0] * 28 + [0.95] * 2 + [0.5] + [0.0] * 9), plan).status == "running"


def test_a_best_final_mean_just_under_the_bar_is_shown_visibly_under_it():
    """(14.9996 + 60) / 100 = 0.749996: rounded it read "0.750 < 0.75"; floored, the line is true."""
    from harness.decide._sequential import _judge

    plan = _plan(total=100, round_size=10, threshold=0.75)
    x = np.array([1.0] * 14 + [0.9996] + [0.0] * 25)
    stop = _judge("m", x, plan)
    assert stop.status == "cannot_qualify"
    assert stop.text.endswith("its mean at 100 would be 0.749 < 0.75"), stop.text


@pytest.mark.parametrize("value, shown", [(0.74996, "0.749"), (0.75, "0.750"), (0.8999999999999999, "0.900"),
                                          (0.458, "0.458"), (0.0, "0.000")])
def test_below_floors_so_the_comparison_shown_holds(value, shown):
    from harness.util import below

    assert below(value) == shown


def test_the_run_resumes_from_what_is_stored_and_asks_only_for_what_is_missing():
    rng = np.random.default_rng(1)
    full = {m: (rng.random(200) < q).astype(float) for m, q in (("a", 0.85), ("b", 0.93), ("c", 0.99))}
    costs = {"a": 1.0, "b": 2.0, "c": 3.0}
    plan = _plan(needed=2)
    stored = {m: np.array([]) for m in full}
    rounds = 0
    while True:
        state = adaptive_state(stored, costs, plan)
        if state.done:
            break
        rounds += 1
        for m, more in state.next_cases.items():
            stored[m] = full[m][: len(stored[m]) + more]
    at_once = adaptive_state(full, costs, plan)
    assert rounds > 1 and {m: s.text for m, s in state.stops.items()} == {m: s.text for m, s in at_once.stops.items()}
    assert state.calls() == sum(len(v) for v in stored.values())


def test_a_candidate_that_stops_qualified_always_qualifies_under_holm():
    rng = np.random.default_rng(4)
    for _ in range(20):
        data = {f"m{j}": (rng.random(200) < q).astype(float) for j, q in enumerate(rng.uniform(0.8, 1.0, 4))}
        costs = {m: float(j) for j, m in enumerate(data)}
        state = adaptive_state(data, costs, _plan(family_size=4, needed=4))
        chosen = {v.name for v in final_selection(state, costs).qualifying()}
        assert {m for m, s in state.stops.items() if s.status == "qualified"} <= chosen


def test_simulation_adaptive_wrong_pick_rate_with_many_candidates_at_the_bar():
    """Four cheap candidates exactly at the bar (the worst case) and one good: wrong picks <= alpha."""
    seeds, wrong = 150, 0
    costs = {f"c{i}": 0.001 for i in range(4)} | {"good": 0.01}
    plan = _plan(family_size=5)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        data = {m: (rng.random(200) < (0.97 if m == "good" else 0.9)).astype(float) for m in costs}
        chosen = [v.name for v in final_selection(adaptive_state(data, costs, plan), costs).qualifying()[:3]]
        wrong += any(m != "good" for m in chosen)
    assert wrong / seeds <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / seeds)


def test_case_order_is_stable_and_not_the_file_order():
    ids = [f"t-{i:03d}" for i in range(50)]
    assert case_order(ids, "triage") == case_order(list(reversed(ids)), "triage")
    assert case_order(ids, "triage") != ids and sorted(case_order(ids, "triage")) == ids
