"""recommend with cascades: the cheapest usable policy, model or cascade, and the entry it writes."""

from __future__ import annotations

import math

import pytest
import yaml

from harness import load_project, run
from harness.commands import recommend
from harness.decide import projected_against
from harness.decide._cascade_policy import usable
from tests.cascadefix import cascade_project
from tests.projfix import cases, spec, write_project

RULES = '''
def half(vars):  # answers "yes" cases, abstains on the rest
    return vars["text"] if vars["text"] == "yes" else None

def echo(vars):
    return vars["text"]

def no_only(vars):  # right on "no", wrong on "yes"
    return "no"
'''


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    return cascade_project(tmp_path_factory.mktemp("cascades") / "p")


def _project(root, *, models, candidates, registry=None, **spec_kw):
    write_project(root, models=models, files={"rules.py": RULES}, golden={"t": cases(40)},
                  specs={"t": spec(threshold=0.8, candidates=candidates, **spec_kw)})
    if registry is not None:
        (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": registry}}))
    run(load_project(root), progress=False)
    return recommend(load_project(root)).decisions[0]


PRICED = {"rule": {"python": "rules:half", "price": {"per_call": 0}},
          "big": {"python": "rules:echo", "price": {"per_call": 0.002}}}
ABSTAIN = {"cascade": ["rule", "big"], "defer": ["abstain"]}


def test_a_certified_cascade_cheaper_than_every_model_is_recommended_with_its_threshold_in_the_entry(evaluated):
    d = next(d for d in recommend(load_project(evaluated)).decisions if d.task == "c")
    assert (d.status, d.recommended, d.cascade["name"], d.cascade["threshold"]) == ("recommend", "ladder", "ladder", 0.5)
    entry = dict(d.entry)
    options = entry.pop("options")
    assert entry == {"cascade": [{"model": "openai/cheap", "defer": ["contract", {"confidence": 0.5}]},
                                 {"model": "python:rules:echo"}],
                     "fallbacks": [], "max_tokens": 8, "temperature": 0.0}
    assert set(options) == {"openai/cheap"} and options["openai/cheap"]["api_key"] == "none"
    assert d.cost_per_1k_recommended == pytest.approx(0.1 + 1.0)  # every call the cheap one, half the dear one
    assert "the cheapest model, big, costs $2 per 1,000 calls" in d.reason


def test_a_cascades_fallbacks_are_the_qualifying_models_behind_its_last_stage(evaluated):
    d = next(d for d in recommend(load_project(evaluated)).decisions if d.task == "t")
    assert d.recommended == "rule>big" and d.fallbacks == ["alt"]
    assert d.entry["cascade"] == [{"model": "python:rules:half", "defer": ["abstain"]}, {"model": "python:rules:echo"}]
    assert d.entry["fallbacks"] == ["python:rules:echo_too"]


def test_a_cascade_dearer_than_the_cheapest_qualifying_model_is_shown_not_recommended(tmp_path):
    models = {**PRICED, "thrifty": {"python": "rules:echo", "price": {"per_call": 0.0005}}}
    d = _project(tmp_path, models=models, candidates=["thrifty", "big", ABSTAIN])
    assert d.recommended == "thrifty" and d.cascade is None and "model" in d.entry
    (row,) = d.cascades
    assert row["qualifies"] and row["cost_per_call"] == pytest.approx(0.001)


def test_a_cascade_is_recommended_where_no_model_qualifies_alone(tmp_path):
    models = {"rule": PRICED["rule"], "nos": {"python": "rules:no_only", "price": {"per_call": 0.001}}}
    d = _project(tmp_path, models=models, candidates=["nos", {"cascade": ["rule", "nos"], "defer": ["abstain"]}])
    assert not any(c.qualifies for c in d.candidates)  # each is right on half the cases
    assert d.recommended == "rule>nos" and d.fallbacks == [] and "no model qualifies alone" in d.reason


@pytest.mark.parametrize("margin, adopted", [(0.2, True), (0.01, False)])
def test_a_change_from_the_current_model_is_backed_by_a_paired_test_when_the_spec_asks(tmp_path, margin, adopted):
    current = {"model": "python:rules:echo", "fallbacks": [], "max_tokens": 8}
    d = _project(tmp_path, models=PRICED, candidates=["big", ABSTAIN], registry=current, max_regression=margin)
    if adopted:
        assert d.recommended == "rule>big" and d.comparison.proposed == "rule>big" and d.comparison.shown
        assert (d.comparison.current, d.comparison.n, d.comparison.diff) == ("big", 40, 0.0)
    else:  # 40 identical outcomes cannot show the cascade at most 0.01 worse: the current model stays
        assert d.recommended == "big" and d.cascade is None
        assert any("cascade rule>big is cheaper but not shown non-inferior to python:rules:echo" in n for n in d.notes)


def test_a_pinned_model_is_never_replaced_by_a_cascade(tmp_path):
    current = {"model": "python:rules:echo", "fallbacks": [], "pin": "policy"}
    d = _project(tmp_path, models=PRICED, candidates=["big", ABSTAIN], registry=current)
    assert d.recommended == "big" and d.cascade is None and d.entry["pin"] == "policy"


def test_a_pinned_cascade_is_kept_while_it_qualifies(tmp_path):
    current = {"cascade": [{"model": "python:rules:half", "defer": ["abstain"]}, {"model": "python:rules:echo"}],
               "fallbacks": [], "pin": "reviewed by legal"}
    thrifty = {**PRICED, "thrifty": {"python": "rules:echo", "price": {"per_call": 0.0001}}}
    d = _project(tmp_path, models=thrifty, candidates=["thrifty", "big", ABSTAIN], registry=current)
    assert d.recommended == "rule>big" and d.entry["pin"] == "reviewed by legal"
    assert d.current_model == "rule>big" and d.cost_per_1k_current == pytest.approx(1.0)
    assert d.reason == "pinned: reviewed by legal"


def test_the_saving_against_one_model_everywhere_is_the_cascades_measured_cost(tmp_path):
    d = _project(tmp_path, models=PRICED, candidates=["big", ABSTAIN])
    d.monthly_volume = 100_000
    against = projected_against([d], "big")
    assert against.everywhere == pytest.approx(200.0) and against.recommended == pytest.approx(100.0)


ROW = {"name": "rule>big", "qualifies": True, "n": 6, "mean": 1.0, "lower": 0.6, "method": "exact", "level": 0.025,
       "error_rate": 0.0, "p95_ms": 10.0, "cost_per_call": 0.001}


@pytest.mark.parametrize("change, limits, why", [
    ({"error_rate": 0.05}, {"max_error_rate": 0.02}, "error rate 5.0% > max_error_rate 2.0%"),
    ({"p95_ms": 900.0}, {"max_p95_latency_ms": 500}, "p95 latency 900 ms > max_p95_latency_ms 500"),
    ({"cost_per_call": math.nan}, {}, "no price known"),
    ({"qualifies": False, "why_not": "lower bound 0.7 < 0.8"}, {}, "lower bound 0.7 < 0.8"),
])
def test_a_certified_cascade_must_keep_the_tasks_limits_as_a_model_must(tmp_path, change, limits, why):
    write_project(tmp_path, files={"rules.py": RULES}, models=PRICED,
                  specs={"t": spec(candidates=["big", ABSTAIN], **limits)})
    task = load_project(tmp_path).tasks["t"]
    assert usable(task, ROW) == ""
    assert why in usable(task, {**ROW, **change})
