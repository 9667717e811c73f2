"""Cascades deferring on `check` and `agreement`, replayed from stored results and certified."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict

import pytest

from harness import SpecError, load_project, run
from harness.commands import recommend
from tests.fake_openai import FakeOpenAI, last_user_text
from tests.projfix import cases, spec, write_project

RULES = '''
def yes(vars):  # right on the "yes" cases only
    return "yes"

def echo(vars):
    return vars["text"]

def doubts_no(vars, output):  # a verifier that knows the "no" cases are hard (and crashes on some)
    if vars["text"] == "no" and vars.get("n", 0) % 4 == 1:
        raise ValueError("verifier down")
    return vars["text"] != "no"

def stalls_on_no(vars, output):  # a verifier that does not return on the "no" cases
    import time
    if vars["text"] == "no":
        time.sleep(3600)
    return True
'''


def _decide(root, models, candidates, golden=None, config=None, **spec_kw):
    write_project(root, models=models, files={"rules.py": RULES}, golden={"t": golden or cases(40)}, config=config,
                  specs={"t": spec(threshold=0.8, output={"choices": ["yes", "no"]}, candidates=candidates,
                                   **spec_kw)})
    run(load_project(root), progress=False)
    return recommend(load_project(root)).decisions[0]


PRICED = {"yes": {"python": "rules:yes", "price": {"per_call": 0}},
          "big": {"python": "rules:echo", "price": {"per_call": 0.002}}}


def test_a_check_verifier_is_called_on_the_stored_answers_and_its_cascade_is_certified(tmp_path):
    golden = [{**c, "vars": {**c["vars"], "n": i}} for i, c in enumerate(cases(40))]
    checked = {"cascade": ["yes", "big"], "defer": [{"check": "python:rules:doubts_no"}], "name": "checked"}
    d = _decide(tmp_path, PRICED, ["big", checked], golden=golden)
    (c,) = d.cascades
    assert c["qualifies"] and c["mean"] == 1.0 and c["deferral_rate"] == 0.5
    assert [s["answered"] for s in c["stages"]] == [20, 20]  # a crashing verifier defers, as at call time
    assert d.recommended == "checked" and c["cost_per_call"] == pytest.approx(0.001)


def test_a_verifier_that_hangs_is_a_counted_failed_check_not_a_hang(tmp_path):
    stalling = {"cascade": ["yes", "big"], "defer": [{"check": "python:rules:stalls_on_no"}], "name": "stalling"}
    started = time.perf_counter()
    d = _decide(tmp_path, PRICED, ["big", stalling], golden=cases(8), config={"grade_timeout_s": 0.2})
    assert time.perf_counter() - started < 30
    (c,) = d.cascades
    assert [s["answered"] for s in c["stages"]] == [4, 4]  # the 4 timed-out checks defer
    assert ("cascade stalling: stage yes: check python:rules:stalls_on_no timed out on 4 of 8 answers (over 0.2 s, "
            "grade_timeout_s in tierwise.yaml); counted as failed checks (the stage defers), as the client would"
            ) in d.notes


def test_without_the_check_the_same_stages_are_not_certified(tmp_path):
    unchecked = {"cascade": ["yes", "big"], "defer": ["abstain"], "name": "unchecked"}
    (c,) = _decide(tmp_path, PRICED, ["big", unchecked]).cascades
    assert not c["qualifies"] and c["mean"] == 0.5


def test_a_check_that_cannot_be_imported_names_the_spec_and_the_fix(tmp_path):
    bad = {"cascade": ["yes", "big"], "defer": [{"check": "python:rules:nowhere"}]}
    with pytest.raises(SpecError, match=r"evals/t.yaml: cascade 'yes>big': stage yes: defer check: cannot import "
                                        r"python:rules:nowhere \(AttributeError.*fix: check the module path"):
        _decide(tmp_path, PRICED, ["big", bad])


class Wavering:
    """Answers "yes" to a "yes" case every time, and yes, yes, no to the three samples of a "no" case."""

    def __init__(self) -> None:
        self.calls: dict[str, itertools.count] = defaultdict(itertools.count)
        self.lock = threading.Lock()

    def __call__(self, body: dict) -> str:
        text = last_user_text(body)
        if text.startswith("yes"):
            return "yes"
        with self.lock:
            return ("yes", "yes", "no")[next(self.calls[text]) % 3]


@pytest.mark.parametrize("agree, certified, mean, cheap_answers", [(2, False, 0.5, 40), (3, True, 1.0, 20)])
def test_agreement_is_replayed_from_the_stages_repeats(tmp_path, agree, certified, mean, cheap_answers):
    golden = [{**c, "vars": {**c["vars"], "n": i}} for i, c in enumerate(cases(40))]
    with FakeOpenAI(responder=Wavering()) as server:
        models = {"cheap": {"litellm": "openai/cheap", "api_base": server.base_url, "api_key": "none",
                            "price": {"per_call": 0.0001}}, "big": PRICED["big"]}
        cascade = {"cascade": ["cheap", "big"], "defer": [{"agreement": agree}], "name": "vote"}
        d = _decide(tmp_path, models, ["big", cascade], golden=golden, repeats=3,
                    prompt={"system": "Answer yes or no.", "user": "{{ text }} {{ n }}"})
        assert server.count == 3 * 40  # each case's three samples, one call each
    (c,) = d.cascades
    assert c["qualifies"] is certified and c["mean"] == mean  # 2 of 3 agree on the wrong "yes"; 3 of 3 never
    assert [s["answered"] for s in c["stages"]] == [cheap_answers, 40 - cheap_answers]
    # the three samples are one attempt: their cost is added up, as the client adds it
    assert c["cost_per_call"] == pytest.approx(3 * 0.0001 + (40 - cheap_answers) / 40 * 0.002)
