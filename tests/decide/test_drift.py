"""Drift monitors: exact baseline bound, false alarms over whole null streams, detection."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.decide._drift import clopper_pearson_upper, label_monitor, rate_monitor


@pytest.mark.parametrize("k, n", [(0, 50), (2, 100), (30, 200)])
def test_baseline_upper_bound_is_scipys_exact_interval(k, n):
    # the one-sided bound at 1 - a/2 is the upper end of the two-sided exact interval at 1 - a
    assert clopper_pearson_upper(k, n, 0.975) == pytest.approx(
        stats.binomtest(k, n).proportion_ci(0.95, method="exact").high, rel=1e-9)


def test_rate_monitor_raises_an_alarm_after_a_rise_and_says_since_when():
    rng = np.random.default_rng(0)
    x = np.r_[rng.random(1000) < 0.02, rng.random(2000) < 0.15].astype(int)
    state = rate_monitor(x, 4, 200, 0.05, "contract failures")
    assert state.alarm and 1000 < state.since < 1600
    assert state.text.startswith(f"ALARM since call {state.since}: contract failures")
    assert not rate_monitor(x[:1000], 4, 200, 0.05).alarm


@pytest.mark.parametrize("rate, n0", [(0.02, 100), (0.1, 300)])
def test_simulation_rate_monitor_false_alarms_over_whole_streams_at_most_alpha(rate, n0):
    """Golden set and stream drawn at the same rate: P(ever an alarm in 3000 calls) <= alpha."""
    rng = np.random.default_rng(int(rate * 1000) + n0)
    streams, alpha = 400, 0.05
    alarms = sum(rate_monitor(rng.random(3000) < rate, int(rng.binomial(n0, rate)), n0, alpha).alarm
                 for _ in range(streams))
    assert alarms / streams <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / streams)


MIX = ["billing", "technical", "account"]


def test_label_monitor_names_the_label_that_moved():
    rng = np.random.default_rng(1)
    golden = list(rng.choice(MIX, size=200, p=[0.5, 0.3, 0.2]))
    prod = list(rng.choice(MIX, size=1000, p=[0.5, 0.3, 0.2])) + list(rng.choice(MIX, size=3000, p=[0.3, 0.3, 0.4]))
    state = label_monitor(prod, golden, MIX, 0.05)
    assert state.alarm and state.since > 1000 and "account rose" in state.text
    assert state.rose[0] == "account" and "billing" not in state.rose  # billing fell
    quiet = label_monitor(prod[:1000], golden, MIX, 0.05)
    assert not quiet.alarm and quiet.rose == ()


def test_labels_outside_the_choices_count_as_other():
    golden = ["billing"] * 50 + ["account"] * 50
    state = label_monitor(["billing", "I cannot help"] * 300, golden, ["billing", "account"], 0.05)
    assert state.alarm and "(other) rose" in state.text and "(other)" in state.rose


def test_simulation_label_monitor_false_alarms_over_whole_streams_at_most_alpha():
    rng = np.random.default_rng(7)
    streams, alpha, p = 300, 0.05, [0.6, 0.25, 0.15]
    alarms = sum(label_monitor(list(rng.choice(MIX, size=2000, p=p)), list(rng.choice(MIX, size=150, p=p)),
                               MIX, alpha).alarm for _ in range(streams))
    assert alarms / streams <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / streams)


def test_rate_alarm_is_the_mixture_at_half_alpha_against_the_exact_upper_bound():
    """The split: alpha/2 on the baseline bound, alpha/2 on the martingale (an alarm at M >= 2/alpha)."""
    from harness.decide._live import mixture_log_wealth

    x = np.r_[np.zeros(300), np.ones(60), np.zeros(100)]
    p0 = clopper_pearson_upper(3, 100, 0.975)
    t = np.arange(1, len(x) + 1)
    m = mixture_log_wealth(np.cumsum(x), t, p0, alpha_opt=0.025)
    first = int(np.argmax(m >= math.log(2 / 0.05))) + 1
    assert (m >= math.log(2 / 0.05)).any() and rate_monitor(x, 3, 100, 0.05).since == first
