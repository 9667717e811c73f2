"""Power-based sample sizes: exact power, the sawtooth, and the all-larger-n promise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from harness.decide._sample_size import cases_needed, critical_count, power, power_curve


def _brute_power(n: int, t: float, alpha: float, p: float) -> float:
    k = next((k for k in range(n + 1) if binom.sf(k - 1, n, t) <= alpha), n + 1)
    return float(binom.sf(k - 1, n, p)) if k <= n else 0.0


def test_power_curve_is_scipys_exact_binomial_power():
    ns = np.concatenate([np.arange(1, 60), np.arange(170, 210)])
    got = power_curve(ns, 0.9, 0.95, 0.95)
    want = [_brute_power(int(n), 0.9, 0.05, 0.95) for n in ns]
    assert np.allclose(got, want, atol=1e-12, rtol=0)


def test_critical_count_is_the_smallest_passing_count_that_clears():
    ns = np.arange(1, 120)
    for n, k in zip(ns, critical_count(ns, 0.8, 0.05)):
        assert (k > n or binom.sf(k - 1, n, 0.8) <= 0.05) and (k == 1 or binom.sf(k - 2, n, 0.8) > 0.05)


@pytest.mark.parametrize("t, conf, rate", [(0.9, 0.95, 0.95), (0.9, 0.95, 0.97), (0.8, 0.95, 0.9),
                                           (0.95, 0.99, 0.98), (0.5, 0.9, 0.6)])
def test_every_larger_golden_set_has_the_power_and_one_fewer_case_does_not(t, conf, rate):
    n = cases_needed(t, conf, rate, power=0.8)
    tail = power_curve(np.arange(n, 3 * n + 200), t, conf, rate)
    assert tail.min() >= 0.8
    assert power(n - 1, t, conf, rate) < 0.8


def test_the_sawtooth_is_handled_not_the_first_crossing():
    # At bar 0.90, 95 % confidence, true rate 0.95: exact power first reaches 80 % at n = 179 but
    # dips below it again until n = 203 (the critical count moves in whole steps).
    ns = np.arange(1, 400)
    pw = power_curve(ns, 0.9, 0.95, 0.95)
    assert int(ns[np.argmax(pw >= 0.8)]) == 179
    assert cases_needed(0.9, 0.95, 0.95) == 203
    assert power(182, 0.9, 0.95, 0.95) < 0.8 <= power(179, 0.9, 0.95, 0.95)


def test_a_perfect_model_needs_the_all_pass_count_and_more_power_needs_more_cases():
    # all n pass clears the bar when 0.9^n <= 0.05: n >= log(0.05) / log(0.9) = 28.4
    assert cases_needed(0.9, 0.95, 1.0) == math.ceil(math.log(0.05) / math.log(0.9)) == 29
    assert cases_needed(0.9, 0.95, 0.95, power=0.9) > cases_needed(0.9, 0.95, 0.95, power=0.8)


def test_no_number_of_cases_helps_a_model_at_or_below_the_bar():
    assert cases_needed(0.9, 0.95, 0.9) is None and cases_needed(0.9, 0.95, 0.85) is None
    assert cases_needed(0.9, 0.95, 0.9001, max_cases=5000) is None  # more than max_cases


def test_simulation_a_golden_set_of_the_advised_size_clears_the_bar_with_the_power():
    rng = np.random.default_rng(0)
    n = cases_needed(0.85, 0.95, 0.92)
    k_crit = int(critical_count(np.array([n]), 0.85, 0.05)[0])
    cleared = np.mean(rng.binomial(n, 0.92, size=4000) >= k_crit)
    assert cleared >= 0.8 - 3 * math.sqrt(0.8 * 0.2 / 4000)
