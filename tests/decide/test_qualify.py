"""One qualification rule (decide/_qualify.py): `recommend` on fresh results and `tierwise gate` on
the recorded evidence read the same figures and say the same thing."""

from __future__ import annotations

import dataclasses

import yaml

from harness import load_project, recommend, run
from harness.commands import gate
from harness.decide import CandidateResult, Measured
from harness.registry import ModelEvidence, write_registry
from tests.projfix import RULES, cases, spec, write_project

FLAKY = '''
def flaky(vars):
    if vars["text"] == "boom":
        raise RuntimeError("no answer")
    return vars["text"]
'''


def test_a_decisions_figures_and_the_evidence_file_are_both_what_the_rule_reads():
    read = [name for name, value in vars(Measured).items() if isinstance(value, property)]
    assert {"n", "lower", "error_rate", "p95_ms", "cost_per_call", "settled"} <= set(read)
    assert set(read) <= {f.name for f in dataclasses.fields(CandidateResult)}
    assert set(read) <= set(ModelEvidence.model_fields)


def _flaky_project(tmp_path):
    golden = cases(40)
    golden[7] = {"id": "c007", "vars": {"text": "boom"}, "expected": "boom"}  # 1 failed call in 40: 2.5 %
    write_project(tmp_path, models={"rule": {"python": "rules:flaky", "price": {"per_call": 0.0}}},
                  specs={"t": spec(threshold=0.5)}, golden={"t": golden}, files={"rules.py": RULES + FLAKY})
    project = load_project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    assert gate(load_project(tmp_path)).ok


def _limit(tmp_path, **limits):
    path = tmp_path / "evals" / "t.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **limits}, sort_keys=False))


def test_a_limit_set_after_the_evidence_fails_recommend_and_gate_in_the_same_words(tmp_path):
    _flaky_project(tmp_path)
    _limit(tmp_path, max_error_rate=0.01)  # limits are not in the spec hash: the evidence stays current
    project = load_project(tmp_path)
    why = "error rate 2.5% > max_error_rate 1.0%"
    assert recommend(project).decisions[0].candidates[0].why_not == why
    result = gate(project)
    assert not result.ok and result.tasks[0].message == f"rule {why}"


def test_a_threshold_raised_after_the_evidence_fails_both(tmp_path):
    _flaky_project(tmp_path)
    _limit(tmp_path, threshold=0.95)
    project = load_project(tmp_path)
    decision = recommend(project).decisions[0]
    assert decision.status == "no_qualifier" and not decision.candidates[0].qualifies
    message = gate(project).tasks[0].message
    assert message.startswith("rule lower 0.") and "< threshold 0.95 (n=40, recorded at threshold 0.50)" in message
