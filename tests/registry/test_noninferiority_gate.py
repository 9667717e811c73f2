"""The gate and max_regression: a change of model must be shown non-inferior to the one it replaces."""

from __future__ import annotations

import yaml

from harness import load_project, run
from harness.commands import gate, recommend
from harness.registry import read_evidence, write_registry
from tests.cascadefix import RULES as CASCADE_RULES  # half abstains on "no", echo answers
from tests.projfix import spec, write_project

RULES = '''
def good(vars):
    return vars["text"]

def mostly(vars):  # wrong on every tenth case
    return "wrong" if int(vars["text"][1:]) % 10 == 0 else vars["text"]
'''


def _project(root, margin):
    models = {"dear": {"python": "nirules:good", "price": {"per_call": 0.01}},
              "cheap": {"python": "nirules:mostly", "price": {"per_call": 0.001}}}
    write_project(root, models=models, files={"nirules.py": RULES},
                  golden={"t": [{"id": f"c{i:03d}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"}
                                for i in range(200)]},
                  specs={"t": spec(candidates=["dear"], threshold=0.8, max_regression=margin)})
    project = load_project(root)
    run(project, progress=False)
    write_registry(project, recommend(project))  # the incumbent: dear
    _set(root, candidates=["cheap", "dear"])
    project = load_project(root)
    run(project, progress=False)
    return project


def _set(root, **changes):
    path = root / "evals" / "t.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))


def test_change_within_the_margin_is_written_with_its_test_and_passes_the_gate(tmp_path):
    project = _project(tmp_path, margin=0.15)
    d = recommend(project).decisions[0]
    assert d.recommended == "cheap" and d.comparison.shown and d.comparison.required
    write_registry(project, recommend(project))
    ni = read_evidence(project.registry_path).record("t").noninferiority
    assert ni.incumbent == "python:nirules:good" and ni.shown and ni.margin == 0.15 and ni.n == 200
    assert gate(load_project(tmp_path)).ok


def test_change_beyond_the_margin_is_not_proposed(tmp_path):
    project = _project(tmp_path, margin=0.02)
    d = recommend(project).decisions[0]
    assert d.recommended == "dear" and d.entry["model"] == "python:nirules:good" and not d.comparison.shown
    assert "not backed" in d.reason


def test_gate_refuses_a_change_once_the_spec_asks_for_a_tighter_margin(tmp_path):
    project = _project(tmp_path, margin=0.15)
    write_registry(project, recommend(project))
    _set(tmp_path, max_regression=0.02)
    result = gate(load_project(tmp_path))
    assert not result.ok
    line = result.tasks[0].line
    assert line.startswith("FAIL t: cheap is not shown non-inferior to dear by 0.02") and "fix: " in line




def test_a_cascade_that_replaced_a_model_is_gated_on_its_noninferiority_test_as_a_model_is(tmp_path):
    from tests.projfix import cases

    models = {"rule": {"python": "rules:half", "price": {"per_call": 0}},
              "big": {"python": "rules:echo", "price": {"per_call": 0.002}}}
    write_project(tmp_path, models=models, files={"rules.py": CASCADE_RULES}, golden={"t": cases(40)},
                  specs={"t": spec(threshold=0.8, max_regression=0.2,
                                   candidates=["big", {"cascade": ["rule", "big"], "defer": ["abstain"]}])})
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": {"model": "python:rules:echo",
                                                                            "fallbacks": [], "max_tokens": 8}}}))
    project = load_project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    assert read_evidence(project.registry_path).record("t").cascade.name == "rule>big"
    assert gate(load_project(tmp_path)).ok
    _set(tmp_path, max_regression=0.01)
    result = gate(load_project(tmp_path))
    assert not result.ok
    assert result.tasks[0].line.startswith("FAIL t: cascade rule>big is not shown non-inferior to big by 0.01 "
                                           "(lower bound")
