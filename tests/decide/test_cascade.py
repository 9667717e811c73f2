"""Certified cascades: replay from stored stage results, valid p-values, and the chained test."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from harness.decide._cascade import (
    Cascade,
    Stage,
    chain_procedure,
    clopper_pearson_interval,
    continuous_lower,
    continuous_p_value,
    hoeffding_bentkus_lower,
    hoeffding_bentkus_p_value,
    replay,
    select_policies,
)
from harness.decide._selection import Candidate, holm, select


def ltt_hb_p_value(total_score: Fraction, n: int, threshold: float) -> float:
    """The Learn-then-Test reference (aangelopoulos/ltt core/bounds.py, hb_p_value) on the loss
    1 - score, with scipy.stats.binom and the lost points counted exactly (no float noise in ceil)."""
    risk, allowed = 1 - total_score / n, 1 - threshold
    bentkus = math.e * binom.cdf(math.ceil(risk * n), n, allowed)
    y = min(float(risk), allowed)
    h = (y * math.log(y / allowed) if y > 0 else 0.0) + (1 - y) * math.log((1 - y) / (1 - allowed))
    return min(1.0, bentkus, math.exp(-n * h))


@pytest.mark.parametrize("total, n, threshold", [
    (Fraction(95), 100, 0.9), (Fraction(93, 2), 50, 0.85), (Fraction(388), 400, 0.95),
    (Fraction(176), 200, 0.9), (Fraction(30), 30, 0.9), (Fraction(183), 200, 0.85), (Fraction(3, 4), 1, 0.5),
])
def test_hoeffding_bentkus_matches_the_ltt_reference(total, n, threshold):
    assert hoeffding_bentkus_p_value(float(total / n), n, threshold) == \
        pytest.approx(ltt_hb_p_value(total, n, threshold), rel=1e-9)


def test_hoeffding_bentkus_pinned_values():
    # scipy 1.17.1: min(1, e * binom.cdf(k, n, 1 - t), exp(-n h)) computed by hand
    assert hoeffding_bentkus_p_value(183 / 200, 200, 0.85) == pytest.approx(0.011752596207851702, rel=1e-9)
    assert hoeffding_bentkus_p_value(1.0, 30, 0.9) == pytest.approx(0.04239115827521614, rel=1e-9)
    assert hoeffding_bentkus_p_value(0.88, 200, 0.9) == 1.0


def test_hoeffding_bentkus_keeps_its_level_at_the_boundary():
    """Scores whose true mean is exactly the bar: P(p <= alpha) <= alpha (skewed, lumpy scores)."""
    rng = np.random.default_rng(11)
    for true_mean, draw in ((0.9, lambda n: rng.beta(9, 1, n)),
                            (0.85, lambda n: np.where(rng.random(n) < 0.8, 1.0, rng.random(n) * 0.5))):
        hits = sum(hoeffding_bentkus_p_value(float(draw(60).mean()), 60, true_mean) <= 0.05 for _ in range(4000))
        assert hits / 4000 <= 0.05, (true_mean, hits)
    # and it is not vacuous: a mean of 0.97 against a bar of 0.9 is shown at n = 200 almost always
    shown = sum(hoeffding_bentkus_p_value(float(rng.beta(97, 3, 200).mean()), 200, 0.9) <= 0.05 for _ in range(500))
    assert shown / 500 > 0.95


@pytest.mark.parametrize("k, n, t", [(190, 200, 0.9), (45, 50, 0.8), (0, 20, 0.5), (20, 20, 0.95)])
def test_pass_fail_cascades_use_scipys_exact_test(k, n, t):
    scores = [1.0] * k + [0.0] * (n - k)
    c = Cascade("c", [_stage("a", scores, [True] * n), _stage("b", scores, [False] * n)])
    verdict = select_policies([], [c], t, 0.95).cascades[0]
    assert verdict.method == "exact"
    assert verdict.p_values[0] == pytest.approx(binomtest(k, n, t, alternative="greater").pvalue, rel=1e-9)


@pytest.mark.parametrize("k, n, confidence", [(7, 50, 0.9), (0, 30, 0.95), (30, 30, 0.95), (120, 400, 0.99)])
def test_deferral_interval_is_scipys_exact_interval(k, n, confidence):
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    assert clopper_pearson_interval(k, n, confidence) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_hoeffding_bentkus_lower_is_dual_to_its_p_value():
    for mean, n in ((0.93, 100), (0.8, 40), (0.99, 500)):
        low = hoeffding_bentkus_lower(mean, n, 0.95)
        assert hoeffding_bentkus_p_value(mean, n, low) <= 0.05 < hoeffding_bentkus_p_value(mean, n, low + 1e-6)


def test_continuous_p_value_is_bonferroni_over_hb_and_betting():
    from harness.decide._sequential import anytime_p_value

    rng = np.random.default_rng(3)
    for x, t in ((0.25 + 0.75 * rng.beta(2, 2, 50), 0.4), (rng.beta(9, 1, 200), 0.85), (np.ones(30), 0.9)):
        hb = hoeffding_bentkus_p_value(float(x.mean()), len(x), t)
        bet = anytime_p_value(x, t, 0.001)
        assert continuous_p_value(x, t, 0.001) == pytest.approx(min(1.0, 2 * min(hb, bet)), rel=1e-12)


def test_continuous_p_value_keeps_its_level_at_the_boundary():
    """True mean exactly at the bar, low and high variance, several n: P(p <= alpha) <= alpha."""
    rng = np.random.default_rng(12)
    draws = ((0.52, lambda n: 0.25 + 0.75 * rng.beta(1.125, 2.0, n)),     # titles-like: [0.25, 1], mean 0.52
             (0.85, lambda n: np.where(rng.random(n) < 0.8, 1.0, rng.random(n) * 0.5)),  # lumpy
             (0.9, lambda n: rng.beta(9, 1, n)))
    for true_mean, draw in draws:
        sample = draw(200_000)
        assert abs(sample.mean() - true_mean) < 0.003  # the draw's mean is the bar
        for n in (20, 50, 200):
            hits = sum(continuous_p_value(draw(n), true_mean, 0.05) <= 0.05 for _ in range(2000))
            assert hits / 2000 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 2000), (true_mean, n, hits)


def test_continuous_lower_is_dual_to_its_p_value():
    rng = np.random.default_rng(4)
    for x in (0.25 + 0.75 * rng.beta(2, 2, 50), rng.beta(9, 1, 120), rng.random(40)):
        low = continuous_lower(x, 0.01, 0.005)
        assert continuous_p_value(x, low - 1e-6, 0.005) <= 0.01 < continuous_p_value(x, low + 1e-4, 0.005)


def test_a_low_variance_cascade_is_shown_where_hb_alone_could_not():
    # The example's title cascade: scores in [0.25, 1] around 0.52 on 50 cases, bar 0.4, 9 policies.
    # HB alone sees only the mean (p 0.156 there); the betting test learns the small variance.
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(50)
    x = 0.525 + 0.12 * (noise - noise.mean()) / noise.std()  # mean 0.525, sd 0.12, within [0.25, 1]
    assert x.min() >= 0.25 and x.max() <= 1.0
    assert hoeffding_bentkus_p_value(float(x.mean()), 50, 0.4) > 0.05 / 9
    c = Cascade("rule>model", [_stage("rule", x, [True] * 50), _stage("model", x, [False] * 50)])
    verdict = select_policies([], [c], 0.4, 0.95, untested=[f"u{i}" for i in range(8)]).cascades[0]
    assert verdict.method == "hoeffding-bentkus + betting" and verdict.qualifies and verdict.lower >= 0.4


def _stage(name, scores, defers, cost=None, latency=None, confidence=None):
    n = len(scores)
    return Stage(name, scores, defers, cost if cost is not None else [1.0] * n,
                 latency if latency is not None else [10.0] * n, confidence)


def test_replay_answers_with_the_first_stage_that_does_not_defer():
    rule = _stage("rule", [1, 0, 1, 1], [False, True, False, True], cost=[0, 0, 0, 0], latency=[1, 1, 1, 1])
    small = _stage("small", [0, 1, 0, 0], [False] * 4, cost=[2, 2, 2, 2], latency=[10, 20, 30, 40],
                   confidence=[0.99, 0.4, float("nan"), 0.95])
    big = _stage("big", [1, 1, 1, 1], [False] * 4, cost=[10] * 4, latency=[100] * 4)
    c = Cascade("rule>small>big", [rule, small, big], grid=(0.9, 0.0))
    r = replay(c, 0.9)  # case 1: rule abstains, small is unsure -> big; case 3: rule abstains, small answers
    assert r.answered_by.tolist() == [0, 2, 0, 1]
    assert r.scores.tolist() == [1, 1, 1, 0]
    assert r.cost.tolist() == [0, 12, 0, 2]
    assert r.latency_ms.tolist() == [1, 121, 1, 41]
    assert replay(c, 0.0).answered_by.tolist() == [0, 1, 0, 1]  # a known probability never defers at 0


def test_unknown_probability_defers_at_every_threshold():
    small = _stage("small", [1, 1], [False, False], confidence=[float("nan"), 1.0])
    c = Cascade("c", [small, _stage("big", [0, 0], [False, False])], grid=(0.5, 0.0))
    assert replay(c, 0.0).answered_by.tolist() == [1, 0]


def test_chains_of_one_are_holms_step_down():
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = list(rng.uniform(0, 0.08, size=int(rng.integers(1, 8))))
        _, holm_levels, rejected = holm(p, 0.05)
        levels, mine = chain_procedure([[x] for x in p], 0.05)
        assert [r[0] for r in mine] == rejected
        assert [lv[0] for lv in levels] == holm_levels


def test_one_chain_is_fixed_sequence_testing_at_alpha():
    assert chain_procedure([[0.01, 0.04, 0.06, 0.001]], 0.05) == ([[0.05, 0.05, 0.05, None]],
                                                                 [[True, True, False, False]])


def test_a_finished_chain_passes_its_level_on_and_a_stopped_one_keeps_it():
    done = chain_procedure([[0.03], [0.001, 0.002]], 0.05)
    assert done == ([[0.05], [0.025, 0.025]], [[True], [True, True]])
    stuck = chain_procedure([[0.03], [0.001, 0.9]], 0.05)
    assert stuck[1] == [[False], [True, False]]  # the cascade still holds half of alpha


def test_without_cascades_the_verdicts_are_holms():
    cands = [Candidate("a", 1.0, successes=190, n=200), Candidate("b", 2.0, successes=186, n=200),
             Candidate("c", 3.0, successes=199, n=200)]
    mine = select_policies(cands, [], 0.9, 0.95).singles
    theirs = select(cands, 0.9, 0.95).verdicts
    assert [(v.qualifies, v.level, v.lower) for v in mine] == [(v.qualifies, v.level, v.lower) for v in theirs]


def _confidence_cascade(n=400, seed=0, informative=True):
    """A cheap stage right on 80% of cases, sure of itself exactly there when informative; a dear one
    right on 99.5%."""
    rng = np.random.default_rng(seed)
    cheap_ok = rng.random(n) < 0.8
    conf = np.where(cheap_ok, rng.uniform(0.9, 1.0, n), rng.uniform(0.3, 0.9, n)) if informative \
        else rng.uniform(0.3, 1.0, n)
    dear_ok = rng.random(n) < 0.995
    cheap = _stage("cheap", cheap_ok.astype(float), [False] * n, cost=[1.0] * n, latency=[5.0] * n, confidence=conf)
    dear = _stage("dear", dear_ok.astype(float), [False] * n, cost=[20.0] * n, latency=[50.0] * n)
    return Cascade("cheap>dear", [cheap, dear], grid=(0.99, 0.95, 0.9, 0.8, 0.5, 0.0))


def test_an_informative_confidence_is_certified_at_a_threshold_that_saves():
    c = _confidence_cascade()
    sel = select_policies([Candidate("dear", 20.0, scores=c.stages[1].scores)], [c], 0.95, 0.95)
    v = sel.cascades[0]
    assert v.qualifies and v.threshold == 0.9  # 0.8 lets too many of the cheap stage's wrong answers through
    assert v.certified == [True, True, True, False, False, False]
    assert v.lower >= 0.95 and v.level == pytest.approx(0.05)  # the single passed first, leaving all of alpha
    assert 0.15 < v.deferral_rate < 0.3 and v.stages[0].interval[0] < v.deferral_rate < v.stages[0].interval[1]
    assert v.cost_per_call == pytest.approx(1 + 20 * v.deferral_rate)  # the cheap stage on all, the dear one on deferrals
    assert v.p95_ms == pytest.approx(55.0)
    assert sel.singles[0].qualifies


def test_an_uninformative_confidence_is_certified_only_where_it_defers_enough():
    v = select_policies([], [_confidence_cascade(informative=False)], 0.95, 0.95).cascades[0]
    assert v.qualifies and v.threshold == 0.9  # where the cheap stage answers only one case in eight
    assert v.deferral_rate > 0.85


def test_a_cascade_whose_dear_stage_is_below_the_bar_is_not_certified():
    c = _confidence_cascade()
    v = select_policies([], [c], 0.99, 0.95).cascades[0]
    assert not v.qualifies and v.threshold == 0.99
    assert v.why_not.startswith("lower bound") and "most deferring threshold 0.99" in v.why_not


def test_a_cascade_without_confidence_is_one_test():
    rule = _stage("rule", [1.0] * 150 + [0.0] * 50, [False] * 150 + [True] * 50, cost=[0.0] * 200)
    big = _stage("big", [1.0] * 200, [False] * 200, cost=[5.0] * 200)
    v = select_policies([], [Cascade("rule>big", [rule, big])], 0.95, 0.95).cascades[0]
    assert v.qualifies and v.threshold is None and v.mean == 1.0
    assert v.cost_per_call == pytest.approx(5.0 * 50 / 200) and v.deferral_rate == 0.25
    assert [s.seen for s in v.stages] == [200, 50] and [s.answered for s in v.stages] == [150, 50]


def test_bad_cascades_are_refused():
    with pytest.raises(ValueError, match="two stages"):
        Cascade("c", [_stage("a", [1], [False])])
    with pytest.raises(ValueError, match="same cases"):
        Cascade("c", [_stage("a", [1], [False]), _stage("b", [1, 1], [False, False])])
    with pytest.raises(ValueError, match="a grid goes with a confidence stage"):
        Cascade("c", [_stage("a", [1], [False]), _stage("b", [1], [False])], grid=(0.5,))


CASCADE_RULES = '''
def half(vars):  # answers "yes" cases, abstains on the rest
    return vars["text"] if vars["text"] == "yes" else None

def echo(vars):
    return vars["text"]
'''


def test_recommend_decides_a_cascade_from_stored_results(tmp_path):
    """A rule that abstains in front of a priced model: decided with the candidates in one family,
    from the stages' stored rows; the cost is the dear stage's on the half of the cases it saw."""
    from harness import load_project, run
    from harness.commands import recommend
    from harness.report import recommendation_text
    from tests.projfix import cases, spec, write_project

    models = {"rule": {"python": "rules:half", "price": {"per_call": 0}},
              "big": {"python": "rules:echo", "price": {"per_call": 0.002}}}
    root = write_project(tmp_path, models=models, files={"rules.py": CASCADE_RULES}, golden={"t": cases(40)},
                         specs={"t": spec(threshold=0.8, candidates=["big", {"cascade": ["rule", "big"],
                                                                               "defer": ["abstain"]}])})
    run(load_project(root), progress=False)
    d = recommend(load_project(root)).decisions[0]
    assert d.recommended == "rule>big" and d.cascade["name"] == "rule>big"  # half the dear stage's cost
    assert d.cost_per_1k_recommended == pytest.approx(1.0)
    assert "3 policies (2 models, 1 cascade)" in d.procedure
    rule = next(c for c in d.candidates if c.model == "rule")
    assert not rule.qualifies  # alone, its abstentions score 0
    (c,) = d.cascades
    assert c["name"] == "rule>big" and c["qualifies"] and c["threshold"] is None and c["mean"] == 1.0
    assert c["deferral_rate"] == 0.5 and c["cost_per_call"] == pytest.approx(0.001)
    assert [s["answered"] for s in c["stages"]] == [20, 20]
    text = recommendation_text(recommend(load_project(root)))
    assert "cascade:    rule>big: certified (recommended): mean 1.000" in text and "first stage defers 50.0%" in text


def test_a_broken_contract_and_a_failed_call_defer(tmp_path):
    from harness import load_project, run
    from harness.commands import recommend
    from tests.projfix import cases, spec, write_project

    rules = CASCADE_RULES + '''
def sloppy(vars):  # right on "yes", off the label set on "no" and fails on every fourth
    if vars["text"] == "no":
        return "maybe"
    if vars["n"] % 4 == 0:
        raise RuntimeError("down")
    return vars["text"]
'''
    golden = [{**c, "vars": {**c["vars"], "n": i}} for i, c in enumerate(cases(40))]
    models = {"sloppy": {"python": "rules:sloppy", "price": {"per_call": 0}},
              "big": {"python": "rules:echo", "price": {"per_call": 0.002}}}
    root = write_project(tmp_path, models=models, files={"rules.py": rules}, golden={"t": golden},
                         specs={"t": spec(threshold=0.8, output={"choices": ["yes", "no"]},
                                          candidates=[{"cascade": ["sloppy", "big"], "defer": ["contract"]}])})
    run(load_project(root), progress=False)
    (c,) = recommend(load_project(root)).decisions[0].cascades
    assert c["qualifies"] and c["mean"] == 1.0
    assert [s["answered"] for s in c["stages"]] == [10, 30]  # 20 off the labels, 10 failed calls
