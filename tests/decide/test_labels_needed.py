"""labels_needed: the projection the label page shows ("about N more human verdicts would settle
it at the current rates") agrees with the bound decisions use, corrected_lower_bound."""

from __future__ import annotations

import math

import pytest

from harness.decide import corrected_lower_bound, labels_needed


def _bound_at(n: int, scores: list[float], over_rate: float, confidence: float) -> float:
    """The corrected bound with n labelled judge-passed outputs, ceil(over_rate * n) of them failed by people."""
    k = min(n, math.ceil(over_rate * n - 1e-9))
    human = [0.0] * k + [1.0] * (n - k)
    passes = int(sum(scores))
    assert n <= passes, "the case labels only outputs the judge passed"
    rest = [1.0] * (passes - n) + [0.0] * (len(scores) - passes)
    return corrected_lower_bound(human, [1.0] * n, rest, confidence).lower


@pytest.mark.parametrize("passes, over_rate, threshold", [(180, 0.02, 0.75), (190, 0.0, 0.85), (185, 0.03, 0.75)])
def test_labels_needed_is_where_the_decisions_bound_clears_the_bar(passes, over_rate, threshold):
    scores = [1.0] * passes + [0.0] * (200 - passes)
    n = labels_needed(scores, over_rate, threshold, 0.95, max_labels=200)
    assert n is not None
    assert _bound_at(n, scores, over_rate, 0.95) >= threshold
    assert _bound_at(n - 1, scores, over_rate, 0.95) < threshold


def test_no_number_of_labels_settles_a_judge_whose_leniency_eats_the_margin():
    scores = [1.0] * 170 + [0.0] * 30  # judge mean 0.85; people fail 20% of what it passes
    assert labels_needed(scores, 0.2, 0.8, 0.95) is None


def test_labels_already_given_count_towards_the_answer():
    scores = [1.0] * 190 + [0.0] * 10
    first = labels_needed(scores, 0.0, 0.85, 0.95)
    assert labels_needed(scores, 0.0, 0.85, 0.95, have=first + 5) == first + 5
