"""The live-traffic disagreement bound and promotion: reference values, nesting, time-uniform error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.decide._live import disagreement_upper, mixture_log_wealth, promotion


def test_mixture_matches_confseqs_one_sided_beta_binomial_reference():
    # confseq's test/uniform_boundaries_unittest.cpp (values from its R reference implementation):
    # BetaBinomialMixture(v_opt=100, alpha_opt=0.05, g=0.2, h=0.8, one_sided): log_superMG(s=10, v=100)
    # = -0.07134019 and bound(v=100, log 20) = 28.41238. With g = 0.2: t = v / (g h) = 625, S = s + g t.
    assert float(mixture_log_wealth(135, 625, 0.2, t_opt=625)) == pytest.approx(-0.07134019, abs=1e-7)
    s = 125 + 28.41238
    assert float(mixture_log_wealth(s, 625, 0.2, t_opt=625)) == pytest.approx(math.log(20), abs=1e-5)


@pytest.mark.parametrize("d, n", [(0, 10), (1, 100), (5, 100), (50, 1000), (3, 2000), (0, 5000)])
def test_rejections_are_nested_so_the_upper_bound_is_where_they_start(d, n):
    upper = disagreement_upper(d, n, 0.95)
    grid = np.linspace(0.001, 0.999, 999)
    wealth = np.array([float(mixture_log_wealth(n - d, n, 1 - m)) for m in grid])
    rejected = wealth >= math.log(20)
    assert rejected.any()
    first = int(np.argmax(rejected))
    assert rejected[first:].all()                                      # nested in m
    assert (first == 0 or grid[first - 1] <= upper + 1e-6) and upper <= grid[first] + 1e-6


def test_upper_bound_is_wider_than_the_fixed_n_bound_and_narrows_with_calls():
    fixed = stats.binomtest(20, 1000).proportion_ci(0.90, method="exact").high  # one-sided 95 %
    assert fixed < disagreement_upper(20, 1000, 0.95) < 0.04
    assert disagreement_upper(200, 10_000, 0.95) < disagreement_upper(20, 1000, 0.95)
    assert disagreement_upper(0, 0, 0.95) == 1.0


@pytest.mark.parametrize("rate", [0.02, 0.1])
def test_simulation_the_bound_is_wrong_at_some_call_at_most_alpha_of_the_time(rate):
    """P(exists t <= 3000: true rate > U_t) <= alpha: U_t < rate exactly when the test at m = rate
    rejects (nesting), so each stream is checked through the test at the true rate."""
    rng = np.random.default_rng(int(rate * 1000))
    streams, alpha, n = 600, 0.05, 3000
    t = np.arange(1, n + 1)
    wrong = 0
    for _ in range(streams):
        agree = np.cumsum(rng.random(n) >= rate)
        wrong += bool(np.any(mixture_log_wealth(agree, t, 1 - rate) >= math.log(1 / alpha)))
    assert wrong / streams <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / streams)


def test_a_challenger_well_inside_the_margin_is_promoted_and_says_since_when():
    x = (np.random.default_rng(3).random(3000) < 0.01).astype(int)
    p = promotion(x, margin=0.03, confidence=0.95)
    assert p.promoted and p.since is not None and p.since < 1500
    assert promotion(x[: p.since - 1], 0.03, 0.95).promoted is False   # not one call earlier
    assert f"since shadowed call {p.since}" in p.text


def test_a_challenger_outside_the_margin_is_not_promoted():
    x = (np.random.default_rng(4).random(5000) < 0.05).astype(int)
    p = promotion(x, margin=0.03, confidence=0.95)
    assert not p.promoted and p.upper > 0.03 and "not shown yet" in p.text


@pytest.mark.parametrize("bad", [dict(margin=0.0), dict(margin=1.0), dict(confidence=1.0)])
def test_promotion_refuses_bad_arguments(bad):
    with pytest.raises(ValueError):
        promotion([0, 1], **{"margin": 0.02, "confidence": 0.95, **bad})
    with pytest.raises(ValueError):
        promotion([0, 2], 0.02, 0.95)
