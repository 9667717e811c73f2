"""Paired non-inferiority: Tango's score test, the paired t, and their size at the margin."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy.stats import ttest_1samp

from harness.decide._noninferiority import (
    _restricted_q,
    noninferiority,
    paired_t_noninferiority,
    tango_noninferiority,
    tango_statistic,
)

# McNemar chi-square without continuity correction, computed once with statsmodels 0.15.0:
# mcnemar([[50, b], [c, 40]], exact=False, correction=False).statistic (n = 90 + b + c)
MCNEMAR = [(5, 9, 1.1428571428571428), (20, 8, 5.142857142857143), (3, 0, 3.0)]


@pytest.mark.parametrize("b, c, chi2", MCNEMAR)
def test_tango_at_margin_zero_is_mcnemars_statistic(b, c, chi2):
    assert tango_statistic(b, c, 90 + b + c, 0.0) ** 2 == pytest.approx(chi2, rel=1e-12)


@pytest.mark.parametrize("b, c, n, delta0", [(5, 9, 100, -0.02), (0, 3, 50, -0.05), (12, 20, 200, -0.03),
                                             (7, 7, 30, 0.1), (40, 20, 160, -0.1)])
def test_restricted_mle_maximises_the_constrained_likelihood(b, c, n, delta0):
    m = n - b - c

    def neg_loglik(q):
        return -(b * math.log(q + delta0) + c * math.log(q) + m * math.log(1 - 2 * q - delta0))

    lo, hi = max(0.0, -delta0) + 1e-12, (1 - delta0) / 2 - 1e-12
    best = optimize.minimize_scalar(neg_loglik, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    assert _restricted_q(b, c, n, delta0) == pytest.approx(best.x, abs=1e-7)


def test_tango_lower_bound_is_where_the_statistic_meets_the_critical_value():
    r = tango_noninferiority(40, 20, 160, margin=0.05, confidence=0.95)
    assert r.diff == pytest.approx(0.125)
    assert tango_statistic(40, 20, 160, r.lower) == pytest.approx(1.6448536269514722, abs=1e-6)
    assert r.shown and r.lower > -0.05


def test_shown_exactly_when_the_lower_bound_clears_minus_margin():
    for b in range(0, 15):
        for c in range(0, 15):
            r = tango_noninferiority(b, c, 200, margin=0.03, confidence=0.95)
            if abs(r.lower + 0.03) > 1e-6:
                assert r.shown == (r.lower > -0.03), (b, c, r)


def test_identical_outcomes_on_enough_cases_show_non_inferiority_and_few_do_not():
    assert noninferiority([1.0] * 200, [1.0] * 200, margin=0.02).shown
    assert not noninferiority([1.0] * 20, [1.0] * 20, margin=0.02).shown
    worse = noninferiority([1.0] * 200, [1.0] * 180 + [0.0] * 20, margin=0.02)
    assert not worse.shown and worse.method == "tango_score" and worse.incumbent_only == 20
    assert "NOT shown" in worse.describe("cheap", "dear") and "only dear passed 20" in worse.describe("cheap", "dear")


def test_paired_t_matches_scipys_one_sided_test_and_interval():
    rng = np.random.default_rng(3)
    a = rng.beta(8, 2, size=60)
    b = np.clip(a + rng.normal(-0.01, 0.05, size=60), 0, 1)
    r = paired_t_noninferiority(a, b, margin=0.03, confidence=0.95)
    ref = ttest_1samp(b - a + 0.03, 0.0, alternative="greater")
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ttest_1samp(b - a, 0.0, alternative="greater").confidence_interval(0.95)
    assert r.lower == pytest.approx(ci.low, rel=1e-9)
    assert r.method == "paired_t" and noninferiority(a, b, 0.03).method == "paired_t"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="length"):
        noninferiority([1, 0], [1], 0.02)
    with pytest.raises(ValueError, match="margin"):
        noninferiority([1], [1], 1.5)


@pytest.mark.parametrize("n, margin, discordant", [(100, 0.05, 0.10), (200, 0.02, 0.05), (200, 0.05, 0.30)])
def test_simulation_tango_size_at_the_margin(n, margin, discordant):
    """At a true difference of exactly -margin, non-inferiority is 'shown' at most ~5 % of the time."""
    rng = np.random.default_rng(n + int(margin * 1000))
    only_incumbent = (discordant + margin) / 2
    only_proposed = only_incumbent - margin
    seeds = 1500
    shown = sum(tango_noninferiority(*rng.multinomial(n, [only_proposed, only_incumbent,
                                                           1 - only_proposed - only_incumbent])[:2], n,
                                     margin).shown for _ in range(seeds))
    assert shown / seeds <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / seeds)


def test_simulation_paired_t_size_at_the_margin_on_lumpy_scores():
    rng = np.random.default_rng(11)
    seeds, n, margin, shown = 1500, 60, 0.03, 0
    for _ in range(seeds):
        a = np.where(rng.random(n) < 0.7, 1.0, rng.random(n))
        d = rng.choice([-0.3, 0.0, 0.2], size=n, p=[0.3, 0.4, 0.3])  # mean -0.03 = -margin
        b = a + d  # scores outside [0, 1] are fine for the test itself
        shown += paired_t_noninferiority(a, b, margin).shown
    assert shown / seeds <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / seeds)


def test_simulation_power_when_truly_no_worse():
    rng = np.random.default_rng(5)
    shown = sum(tango_noninferiority(*rng.multinomial(400, [0.03, 0.03, 0.94])[:2], 400, 0.05).shown
                for _ in range(300))
    assert shown / 300 >= 0.9
