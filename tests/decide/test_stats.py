"""Tests for harness.decide.stats: bounds, paired tests and sample sizes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from harness.decide.stats import (
    Bound,
    BootstrapBound,
    binomial_p_value,
    binomial_upper_tail,
    bootstrap_lower,
    clopper_pearson_lower,
    clopper_pearson_lower_pure,
    is_binary,
    lower_bound,
    percentile,
    wilson_lower,
)
from tests.conftest import require_module

# (successes, n, confidence, wilson_lower, clopper_pearson_lower), computed once with
# statsmodels 0.15.0: proportion_confint(k, n, alpha=2 * (1 - confidence), method=...)[0]
# with method "wilson" and "beta" (a one-sided bound at c is the two-sided one at 2(1 - c)).
REFERENCE = [
    (0, 10, 0.95, 0.0, 0.0),
    (10, 10, 0.95, 0.787058029916593, 0.7411344491069478),
    (1, 1, 0.95, 0.2698659487840541, 0.050000000000000044),
    (0, 1, 0.95, 0.0, 0.0),
    (7, 10, 0.95, 0.44169979586983504, 0.3933757838945877),
    (45, 50, 0.9, 0.8322871956907351, 0.8223818723826234),
    (95, 100, 0.95, 0.9008389147209472, 0.8977466223567255),
    (59, 59, 0.95, 0.9561539644147508, 0.9504923901117731),
    (18, 20, 0.99, 0.6522591618020745, 0.6416647373591131),
    (3, 30, 0.8, 0.06273895837814679, 0.051583585897881014),
    (500, 520, 0.975, 0.9413415299451787, 0.9412225039573063),
]
# More exact bounds at the decision's sizes, same source (method "beta"; no Wilson value kept).
CP_REFERENCE = [
    (190, 200, 0.95, None, 0.916664848933628),
    (185, 200, 0.95, None, 0.8868616117335995),
    (45, 50, 0.99, None, 0.7584473562535243),
    (30, 30, 0.95, None, 0.9049661471446959),
]


# --------------------------------------------------------------------------- binomial bounds


@pytest.mark.parametrize("k, n, confidence, wilson, _exact", REFERENCE)
def test_wilson_lower_matches_statsmodels_reference(k, n, confidence, wilson, _exact):
    assert wilson_lower(k, n, confidence) == pytest.approx(wilson, abs=1e-12)


@pytest.mark.parametrize("k, n, confidence, _wilson, exact", REFERENCE + CP_REFERENCE)
def test_clopper_pearson_lower_matches_statsmodels_reference(k, n, confidence, _wilson, exact):
    assert clopper_pearson_lower(k, n, confidence) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("k, n, confidence, _wilson, exact", REFERENCE + CP_REFERENCE)
def test_the_pure_python_exact_bound_matches_statsmodels_reference(k, n, confidence, _wilson, exact):
    assert clopper_pearson_lower_pure(k, n, confidence) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("k, n, confidence", [
    (40, 40, 0.95), (39, 40, 0.95), (1, 40, 0.99), (0, 10, 0.95), (17, 30, 0.975), (950, 1000, 0.9875),
    (9990, 10000, 0.95), (3, 5, 0.5), (192, 200, 1 - 0.05 / 7),
])
def test_the_pure_python_exact_bound_matches_scipys(k, n, confidence):
    """The gate recomputes recorded bounds without SciPy (registry/_consistency.py): the two must agree."""
    assert clopper_pearson_lower_pure(k, n, confidence) == pytest.approx(clopper_pearson_lower(k, n, confidence),
                                                                         abs=1e-12)


@pytest.mark.parametrize("k, n, p", [(0, 5, 0.3), (3, 5, 0.3), (5, 5, 0.3), (50, 100, 0.5), (95, 100, 0.9),
                                     (9990, 10000, 0.998), (1, 1000, 1e-4)])
def test_the_pure_python_binomial_tail_matches_scipy(k, n, p):
    from scipy.stats import binom

    assert binomial_upper_tail(k, n, p) == pytest.approx(float(binom.sf(k - 1, n, p)), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("k, n, t", [(190, 200, 0.9), (185, 200, 0.9), (50, 50, 0.95), (3, 10, 0.5), (0, 10, 0.2)])
def test_binomial_p_value_is_scipys_one_sided_exact_test(k, n, t):
    from scipy.stats import binomtest

    assert binomial_p_value(k, n, t) == pytest.approx(binomtest(k, n, t, alternative="greater").pvalue, rel=1e-9)


def test_binomial_p_value_is_dual_to_the_clopper_pearson_bound():
    for n in (10, 57, 200):
        for k in range(0, n + 1, max(1, n // 20)):
            for t in (0.5, 0.8, 0.9, 0.95):
                p = binomial_p_value(k, n, t)
                for alpha in (0.001, 0.01, 0.05, 0.1):
                    if abs(p - alpha) > 1e-9:
                        assert (p <= alpha) == (clopper_pearson_lower(k, n, 1 - alpha) >= t), (k, n, t, alpha)


def test_bounds_match_statsmodels_live():
    proportion = require_module("statsmodels.stats.proportion", "needs statsmodels: pip install -e '.[dev]'")
    for k, n, c in [(k, n, c) for k, n, c, _, _ in REFERENCE] + [(13, 17, 0.9), (2, 3, 0.6)]:
        wilson = proportion.proportion_confint(k, n, alpha=2 * (1 - c), method="wilson")[0]
        exact = proportion.proportion_confint(k, n, alpha=2 * (1 - c), method="beta")[0]
        assert wilson_lower(k, n, c) == pytest.approx(wilson, abs=1e-12)
        assert clopper_pearson_lower(k, n, c) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("bound", [wilson_lower, clopper_pearson_lower, clopper_pearson_lower_pure])
def test_bound_is_zero_without_cases(bound):
    assert bound(0, 0, 0.95) == 0.0


@pytest.mark.parametrize("n", [1, 5, 59, 1000])
def test_clopper_pearson_all_successes_is_root_of_alpha(n):
    assert clopper_pearson_lower(n, n, 0.95) == pytest.approx(0.05 ** (1 / n), rel=1e-12)


@pytest.mark.parametrize("n", [1, 5, 59, 1000])
def test_wilson_all_successes_is_n_over_n_plus_z_squared(n):
    z2 = 1.6448536269514722**2
    assert wilson_lower(n, n, 0.95) == pytest.approx(n / (n + z2), rel=1e-12)


@pytest.mark.parametrize("bound", [wilson_lower, clopper_pearson_lower, clopper_pearson_lower_pure])
def test_bound_falls_as_confidence_rises(bound):
    assert bound(40, 50, 0.99) < bound(40, 50, 0.95) < bound(40, 50, 0.8) < 0.8


@pytest.mark.parametrize("bound", [wilson_lower, clopper_pearson_lower, clopper_pearson_lower_pure])
@pytest.mark.parametrize("k, n, c", [(3, 2, 0.95), (-1, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0)])
def test_bound_rejects_bad_arguments(bound, k, n, c):
    with pytest.raises(ValueError):
        bound(k, n, c)


# --------------------------------------------------------------------------- is_binary / Bound


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([0, 1, 1], True),
        ([0.0, 1.0], True),
        ([True, False], True),
        ([1, 1, 1], True),
        ([], True),
        ([0, 0.5, 1], False),
        ([0.999], False),
        ([2], False),
    ],
)
def test_is_binary(scores, expected):
    assert is_binary(scores) is expected


def test_bound_is_frozen():
    bound = Bound(mean=0.9, lower=0.8, method="exact", n=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bound.lower = 0.9  # type: ignore[misc]


# --------------------------------------------------------------------------- lower_bound


def test_lower_bound_auto_uses_exact_for_pass_fail():
    bound = lower_bound([1] * 18 + [0] * 2, 0.95)
    assert bound == Bound(mean=0.9, lower=clopper_pearson_lower(18, 20, 0.95), method="exact", n=20)


def test_lower_bound_auto_uses_bootstrap_for_continuous():
    scores = [0.5, 0.7, 0.9, 1.0, 0.8, 0.95]
    bound = lower_bound(scores, 0.95)
    assert (bound.method, bound.n) == ("bootstrap", 6)
    assert bound.mean == pytest.approx(np.mean(scores))
    assert bound.lower == bootstrap_lower(scores, 0.95)


def test_lower_bound_accepts_booleans():
    assert lower_bound([True, True, False, True], 0.9).mean == 0.75


def test_lower_bound_forced_wilson():
    bound = lower_bound([1, 0, 1], 0.9, method="wilson")
    assert (bound.method, bound.lower) == ("wilson", wilson_lower(2, 3, 0.9))


def test_lower_bound_forced_bootstrap_on_pass_fail():
    assert lower_bound([1, 0, 1, 1], 0.9, method="bootstrap").method == "bootstrap"


@pytest.mark.parametrize("method", ["exact", "wilson"])
def test_lower_bound_refuses_binomial_method_on_continuous_scores(method):
    with pytest.raises(ValueError, match="pass/fail"):
        lower_bound([0.5, 1.0], 0.95, method=method)


def test_lower_bound_of_no_scores_is_nan_mean_and_zero_lower():
    bound = lower_bound([], 0.95)
    assert math.isnan(bound.mean) and (bound.lower, bound.n) == (0.0, 0)


@pytest.mark.parametrize("kwargs", [{"method": "median"}, {"confidence": 1.5}])
def test_lower_bound_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        lower_bound([1, 0], **{"confidence": 0.95, **kwargs})


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_deterministic_with_a_seed():
    scores = np.random.default_rng(1).beta(5, 2, 40)
    assert bootstrap_lower(scores, 0.95, seed=7) == bootstrap_lower(scores, 0.95, seed=7)


def test_bootstrap_seed_changes_the_draws():
    scores = np.random.default_rng(1).beta(5, 2, 40)
    assert bootstrap_lower(scores, 0.95, seed=1) != bootstrap_lower(scores, 0.95, seed=2)


def test_bootstrap_lower_is_below_the_mean_and_above_the_minimum():
    scores = np.random.default_rng(2).beta(5, 2, 40)
    assert scores.min() < bootstrap_lower(scores, 0.95) < scores.mean()


def test_bootstrap_lower_falls_as_confidence_rises():
    scores = np.random.default_rng(3).beta(5, 2, 40)
    assert bootstrap_lower(scores, 0.99) < bootstrap_lower(scores, 0.9)


@pytest.mark.parametrize("scores, expected", [([], 0.0), ([0.8], 0.0), ([0.7] * 12, 0.7)])
def test_bootstrap_degenerate_samples(scores, expected):
    assert bootstrap_lower(scores, 0.95) == expected


def test_bootstrap_large_sample_is_drawn_in_blocks_and_is_tight():
    scores = np.random.default_rng(4).random(5000)
    lower = bootstrap_lower(scores, 0.95, n_resamples=1000)
    assert scores.mean() - 0.02 < lower < scores.mean()


def test_the_bootstrap_p_value_is_dual_to_its_bound_at_every_level():
    """Holm compares BootstrapBound.p_value with its levels and shows lower() at the level reached:
    p <= alpha exactly when the bound at 1 - alpha clears the threshold."""
    rng = np.random.default_rng(7)
    mismatches = 0
    for _ in range(15):
        n = int(rng.integers(8, 60))
        x = np.clip(rng.beta(6, 1, size=n), 0, 1)
        x[rng.random(n) < 0.3] = 1.0
        b = BootstrapBound(x)
        for alpha in (0.005, 0.05, 0.2):
            low = b.lower(1 - alpha)
            assert low == bootstrap_lower(x, 1 - alpha)
            for t in (0.75, 0.85, 0.9, 0.95):
                mismatches += (b.p_value(t) <= alpha) != (low >= t)
    assert mismatches == 0


def test_bootstrap_refuses_non_finite_scores():
    with pytest.raises(ValueError, match="finite"):
        bootstrap_lower([0.5, float("nan")], 0.95)


def test_bootstrap_coverage_is_near_nominal():
    # 200 samples of 30 skewed scores (Beta(8, 1), true mean 8/9): the 95 % lower bound should
    # sit below the true mean about 95 % of the time (binomial s.e. over 200 is 0.015).
    rng = np.random.default_rng(12345)
    true_mean = 8 / 9
    covered = [
        bootstrap_lower(rng.beta(8, 1, 30), 0.95, n_resamples=2000, seed=i) <= true_mean
        for i in range(200)
    ]
    assert 0.90 <= np.mean(covered) <= 0.99


# --------------------------------------------------------------------------- percentile


@pytest.mark.parametrize(
    "values, q",
    [([1, 2, 3, 4], 50), ([1, 2, 3, 4], 95), ([120.0, 80.0, 3000.0, 95.0, 101.0], 95), ([7], 50)],
)
def test_percentile_matches_numpy_linear(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_nothing_is_nan():
    assert math.isnan(percentile([], 95))


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_rejects_q_out_of_range(q):
    with pytest.raises(ValueError):
        percentile([1, 2], q)
