"""Holm across candidates: p-values dual to the bounds, adjusted p-values, and the error promise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.decide._selection import Candidate, fixed_sequence, holm, select
from harness.decide.stats import clopper_pearson_lower

def test_holm_adjusted_p_values_match_statsmodels():
    # statsmodels 0.15.0: multipletests([0.01, 0.04, 0.03, 0.005, 0.2], alpha=0.05, method="holm")
    adjusted, levels, rejected = holm([0.01, 0.04, 0.03, 0.005, 0.2], 0.05)
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.2])
    assert rejected == [True, False, False, True, False]
    assert levels[3] == pytest.approx(0.01) and levels[0] == pytest.approx(0.0125)
    assert levels[2] == pytest.approx(0.05 / 3) and levels[1] is None and levels[4] is None


def test_fixed_sequence_stops_at_the_first_failure_in_price_order():
    adjusted, levels, rejected = fixed_sequence([0.2, 0.001, 0.001], order=[0, 1, 2], alpha=0.05)
    assert rejected == [False, False, False] and adjusted == [0.2, 0.2, 0.2] and levels == [0.05, None, None]


def test_one_candidate_every_procedure_is_todays_rule():
    for k in (178, 179, 185, 190):
        c = [Candidate("a", 1.0, successes=k, n=200)]
        alone = clopper_pearson_lower(k, 200, 0.95) >= 0.9
        for proc in ("holm", "fixed_sequence", "each_alone"):
            assert select(c, 0.9, 0.95, proc).verdicts[0].qualifies == alone


def test_verdicts_name_the_procedure_the_level_and_the_shortfall():
    s = select([Candidate("cheap", 0.001, successes=183, n=200), Candidate("good", 0.01, successes=196, n=200),
                Candidate("cont", 0.02, scores=[0.9, 1.0, 0.95, 0.97] * 25)], 0.9, 0.95)
    assert s.describe().startswith("Holm step-down over 3 candidates") and "at most 5%" in s.describe()
    cheap, good, cont = s.verdicts
    assert [v.name for v in s.qualifying()] == ["good", "cont"]
    # cont has the smallest p-value (tested first at alpha/3), good second at alpha/2
    assert cont.level == pytest.approx(0.05 / 3) and good.level == pytest.approx(0.05 / 2)
    assert good.lower == pytest.approx(clopper_pearson_lower(196, 200, 1 - 0.05 / 2))
    assert cont.method == "bootstrap" and cont.qualifies
    assert not cheap.qualifies and cheap.why_not.startswith("lower bound 0.8") and "p=" in cheap.why_not


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="exactly one"):
        select([Candidate("a", 1.0)], 0.9, 0.95)
    with pytest.raises(ValueError, match="unique"):
        select([Candidate("a", 1.0, successes=1, n=2)] * 2, 0.9, 0.95)
    with pytest.raises(ValueError, match="procedure"):
        select([Candidate("a", 1.0, successes=1, n=2)], 0.9, 0.95, "hochberg")


def _wrong_pick_rate(procedure: str, count: int, seeds: int) -> float:
    wrong = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        cands = [Candidate(f"c{i}", 0.001, successes=int(rng.binomial(200, 0.895)), n=200) for i in range(count)]
        cands.append(Candidate("good", 0.01, successes=int(rng.binomial(200, 0.97)), n=200))
        picked = [v.name for v in select(cands, 0.9, 0.95, procedure).qualifying()[:3]]
        wrong += any(name != "good" for name in picked)
    return wrong / seeds


@pytest.mark.parametrize("count", [3, 10])
def test_simulation_holm_keeps_the_wrong_pick_rate_where_testing_each_alone_does_not(count):
    seeds = 600
    limit = 0.05 + 3 * math.sqrt(0.05 * 0.95 / seeds)
    assert _wrong_pick_rate("holm", count, seeds) <= limit
    if count == 10:  # today's rule breaks the promise here (about 18 %): the test can fail
        assert _wrong_pick_rate("each_alone", count, seeds) > limit
