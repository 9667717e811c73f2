"""Cascade candidates in a spec: the spelling, and each mistake as one located line."""

import pytest

from harness import load_project
from harness.errors import SpecError
from tests.projfix import spec, write_project

MODELS = {"rule": {"python": "rules:echo"}, "small": {"litellm": "openai/small"},
          "big": {"litellm": "openai/big"}, "tiny": {"local": "smollm2-135m"}}
LABELS = {"choices": ["yes", "no"]}


def load(tmp_path, candidates, **overrides):
    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=candidates, **overrides)})
    return load_project(tmp_path).tasks["t"]


def test_cascade_stages_are_evaluated_and_named(tmp_path):
    task = load(tmp_path, ["rule", {"cascade": ["rule", "big"], "defer": ["abstain"]},
                           {"cascade": ["small", "big"], "defer": ["contract", "confidence"], "name": "ladder"}],
                output=LABELS)
    assert task.spec.candidates == ["rule", "big", "small"]  # stages not listed alone are run too
    assert task.spec.single_candidates == ["rule"]
    assert [c.label for c in task.spec.cascades] == ["rule>big", "ladder"]
    rule_big, ladder = task.spec.cascades
    assert rule_big.thresholds == ()  # nothing to choose without a confidence signal
    assert ladder.thresholds[0] == 0.999 and ladder.thresholds[-1] == 0.0
    assert [str(s) for s in ladder.signals(0)] == ["contract", "confidence"] and ladder.signals(1) == []
    assert set(task.models) == {"rule", "big", "small"}


def test_per_stage_signals_replace_the_cascades(tmp_path):
    task = load(tmp_path, [{"cascade": [{"model": "rule", "defer": ["abstain"]}, "small", "big"],
                            "defer": ["confidence"], "grid": [0.9, 0.5]}])
    c = task.spec.cascades[0]
    assert [str(s) for s in c.signals(0)] == ["abstain"]
    assert [str(s) for s in c.signals(1)] == ["confidence"]
    assert c.thresholds == (0.9, 0.5)


@pytest.mark.parametrize("candidates, overrides, message", [
    ([{"cascade": ["big"], "defer": ["confidence"]}], {},
     r"candidates\[0\]\.cascade: a cascade needs at least two stages; fix: list a single model as a plain candidate"),
    ([{"cascade": ["rule", "gpt-9"], "defer": ["abstain"]}], {},
     r"candidates\[0\]\.cascade\[1\]: unknown model 'gpt-9'; known: big, rule, small, tiny"),
    ([{"cascade": ["rule", {"model": "gpt-9"}], "defer": ["abstain"]}], {},
     r"candidates\[0\]\.cascade\[1\]\.model: unknown model 'gpt-9'"),
    ([{"cascade": ["rule", "big"], "defer": ["confidence"]}], {},
     r"candidates\[0\]\.cascade\[0\]: defer 'confidence': a python model cannot give this signal \(a python: rule "
     r"gives no probability for its answer\)"),
    ([{"cascade": ["small", "big"], "defer": ["abstain"]}], {},
     r"candidates\[0\]\.cascade\[0\]: defer 'abstain': a litellm model cannot give this signal \(only a python: rule"),
    ([{"cascade": ["small", "big"], "defer": ["contract"]}], {},
     r"candidates\[0\]\.cascade\[0\]: defer 'contract': the task has no output: contract to break"),
    ([{"cascade": ["small", "big"], "defer": [{"agreement": 3}]}], {"repeats": 2},
     r"defer 'agreement': needs 3 samples per case but the task has repeats: 2; fix: set repeats: 3"),
    ([{"cascade": ["small", "big"], "defer": ["abstian"]}], {},
     r"^evals/t\.yaml: candidates\[0\]\.defer\[0\]: input should be 'abstain', 'contract' or 'confidence'"),
    ([{"cascade": ["small", "big"], "defer": [{"check": "checks.ok"}]}], {},
     r"candidates\[0\]\.defer\[0\]\.check: string should match pattern"),
    ([{"cascade": ["small", "big"], "defer": ["confidence"], "deffer": []}], {},
     r"^evals/t\.yaml: candidates\[0\]\.deffer: unknown key 'deffer'; did you mean 'defer'\?; known: cascade, defer, grid, name$"),
    ([{"cascade": ["small", {"model": "big", "defer": ["confidence"]}], "defer": ["confidence"]}], {},
     r"candidates\[0\]: the last stage always answers: remove its defer:"),
    ([{"cascade": ["small", "big"]}], {},
     r"candidates\[0\]: stage 0 \(small\) has no deferral signal, so the stages after it never answer"),
    ([{"cascade": ["small", "small"], "defer": ["confidence"]}], {},
     r"candidates\[0\]\.cascade\[1\]: 'small' is already stage 0 of this cascade"),
    ([{"cascade": ["small", "big"], "defer": ["confidence", "confidence"]}], {},
     r"candidates\[0\]: stage 0 \(small\) lists a signal twice"),
    ([{"cascade": ["small", "big"], "defer": ["confidence"], "grid": [0.5, 0.9]}], {},
     r"candidates\[0\]\.grid: grid must be strictly decreasing"),
    ([{"cascade": ["small", "big"], "defer": ["confidence"], "grid": [1.5]}], {},
     r"candidates\[0\]\.grid: grid thresholds are probabilities in \[0, 1\]"),
    ([{"cascade": ["rule", "big"], "defer": ["abstain"], "grid": [0.9]}], {},
     r"candidates\[0\]\.grid: no stage defers on confidence, so there is no threshold to choose"),
    ([{"cascade": ["small", "big"], "defer": ["confidence"]}, {"cascade": ["small", "big"], "defer": ["confidence"]}], {},
     r"candidates\[1\]: a cascade named 'small>big' is already candidates\[0\]; fix: give one of them a name:"),
    ([{"cascade": ["small", "big"], "defer": ["confidence"], "name": "big"}], {},
     r"candidates\[0\]: the cascade's name 'big' is a model's name"),
])
def test_cascade_mistakes_name_file_place_and_fix(tmp_path, candidates, overrides, message):
    with pytest.raises(SpecError, match=message):
        load(tmp_path, candidates, **overrides)


def test_cascade_hash_follows_stages_signals_and_grid_not_name(tmp_path):
    def identity(**cascade):
        task = load(tmp_path, [{"cascade": ["small", "big"], "defer": ["confidence"], **cascade}])
        return task.cascade_hash(task.spec.cascades[0])

    base = identity()
    assert identity(name="ladder") == base
    assert identity(grid=[0.9, 0.0]) != base
    assert identity(defer=["confidence", {"check": "python:rules:echo"}]) != base
    assert identity(cascade=["small", "tiny"]) != base
