"""The label queue's order: candidates whose bound sits near the bar first; within a candidate a
random order that does not look at the outputs (the corrected bound needs a random sample)."""

from __future__ import annotations

from types import SimpleNamespace

from harness.view._queue import _drafted_outputs, _weight, item_key


def _pairs(n: int, passed: int, labelled: int = 0):
    rows = [{"case": f"c{i}", "model": "m", "output": f"o{i}", "passed": i < passed} for i in range(n)]
    return [(r, [{"case": r["case"], "verdict": "pass" if r["passed"] else "fail"}] if i < labelled else [])
            for i, r in enumerate(rows)]


def _result(lower: float):
    return SimpleNamespace(lower=lower, plain_lower=None)


def test_a_candidate_near_the_bar_comes_before_one_far_above_it():
    d = SimpleNamespace(threshold=0.5, confidence=0.95)
    near = _weight(_pairs(40, 30, labelled=6), _result(0.52), d)
    far = _weight(_pairs(40, 30, labelled=6), _result(0.95), d)
    assert near > far > 0


def test_a_candidate_with_every_output_labelled_has_nothing_to_add():
    d = SimpleNamespace(threshold=0.5, confidence=0.95)
    assert _weight(_pairs(10, 8, labelled=10), _result(0.55), d) == 0.0


def test_item_keys_name_the_output_without_showing_it():
    key = item_key("t", "c1", "secret-model", "the output")
    assert key.startswith("judge:t:") and key.endswith(":c1")
    assert "secret-model" not in key and "the output" not in key


def test_a_drafted_case_offers_the_incumbents_and_the_challengers_outputs_once_each():
    entry = {"incumbent": {"model": "a", "output": "yes"}, "challenger": {"model": "b", "output": "no", "outcome": "ok"},
             "outputs": ["yes", "maybe"]}
    assert _drafted_outputs(entry) == ["yes", "no", "maybe"]
    assert _drafted_outputs({"incumbent": {"model": "a", "output": "yes"}, "challenger": {"output": None}}) == ["yes"]
