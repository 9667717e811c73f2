"""Event-loop lag: its summary in the run record and when a run warns about it."""

import pytest

from harness.runner._lag import WARN_P95_MS, lag_summary, lag_warning


def test_lag_summary_of_no_samples_is_none():
    assert lag_summary([]) is None and lag_warning(None) is None


def test_lag_summary_gives_p50_p95_and_max():
    summary = lag_summary([float(i) for i in range(100)])
    assert summary == {"p50": 50.0, "p95": 95.0, "max": 99.0, "samples": 100}


@pytest.mark.parametrize("p95, warns", [(WARN_P95_MS, False), (WARN_P95_MS + 1, True)])
def test_a_run_warns_only_when_lag_could_distort_latency(p95, warns):
    line = lag_warning({"p50": 1.0, "p95": p95, "max": p95 * 2, "samples": 20})
    assert (line is not None) == warns
    if warns:
        assert f"p95 {p95:.0f} ms" in line and "--workers" in line
