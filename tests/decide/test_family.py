"""The family Holm corrects for is the spec's candidate list, whichever candidates the last run
happened to call (issue 29: re-running one candidate must never buy a weaker correction)."""

from __future__ import annotations

import json

from harness import load_project, run
from harness.commands import gate, recommend
from harness.fingerprint import evidence_digest
from harness.registry import write_registry
from tests.projfix import spec, write_project

MODELS = {"rule": {"python": "rules:echo", "price": {"per_call": 0.001}},
          "up": {"python": "rules:upper", "price": {"per_call": 0.002}},
          "dear": {"python": "rules:echo", "price": {"per_call": 0.01}}}


def _golden(n: int) -> list[dict]:
    return [{"id": f"c{i:03d}", "vars": {"text": f"w{i}"}, "expected": f"w{i}"} for i in range(n)]


def _project(tmp_path, n: int = 60):
    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=["rule", "up", "dear"], threshold=0.9)},
                  golden={"t": _golden(n)})
    return load_project(tmp_path)


def test_rerunning_one_candidate_after_adding_a_case_keeps_the_family_and_the_bound(tmp_path):
    project = _project(tmp_path)
    run(project, progress=False)
    [before] = recommend(project).decisions
    assert before.procedure.startswith("Holm step-down over 3 candidates")
    rule = next(c for c in before.candidates if c.model == "rule")

    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=["rule", "up", "dear"], threshold=0.9)},
                  golden={"t": _golden(61)})  # one case added
    project = load_project(tmp_path)
    run(project, models=["rule"], progress=False)  # only the candidate that looked best
    [after] = recommend(project).decisions
    assert after.procedure.startswith("Holm step-down over 3 candidates")  # was "over 1 candidate"
    assert after.family == ["rule", "up", "dear"]
    again = next(c for c in after.candidates if c.model == "rule")
    assert again.n == 61 and again.level == rule.level  # tested at the same Holm level as before
    dear = next(c for c in after.candidates if c.model == "dear")
    assert not dear.qualifies and "evaluated on 60 of 61 cases" in dear.why_not


def test_the_evidence_records_the_family_and_the_gate_refuses_a_smaller_one(tmp_path):
    project = _project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    path = tmp_path / "registry.evidence.json"
    doc = json.loads(path.read_text())
    record = doc["tasks"]["t"]
    assert record["family"] == ["rule", "up", "dear"]
    assert gate(load_project(tmp_path)).ok

    record["family"] = ["rule"]  # as if decided over the one candidate re-run
    record["digest"] = evidence_digest(record)
    path.write_text(json.dumps(doc))
    [verdict] = gate(load_project(tmp_path)).tasks
    assert verdict.status == "fail"
    assert "the evidence was decided over 1 candidates, not the 3 evals/t.yaml names (missing: up, dear)" in verdict.line


def test_the_gate_reads_the_family_size_of_evidence_recorded_before_the_family_field(tmp_path):
    project = _project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    path = tmp_path / "registry.evidence.json"
    doc = json.loads(path.read_text())
    record = doc["tasks"]["t"]
    del record["family"]
    record["procedure"] = record["procedure"].replace("over 3 candidates", "over 1 candidate")
    record["digest"] = evidence_digest(record)
    path.write_text(json.dumps(doc))
    [verdict] = gate(load_project(tmp_path)).tasks
    assert verdict.status == "fail" and "decided over 1 candidates, not the 3 evals/t.yaml names" in verdict.line
