"""The evidence file: written by recommend --write, read by the gate and the report."""

from __future__ import annotations

from harness import load_project, run
from harness.decide import recommend
from harness.registry import (
    evidence_path,
    read_evidence,
)
from harness.registry import write_registry as write
from tests.projfix import spec, write_project


MODELS = {"cheap": {"python": "rules:echo", "price": {"per_call": 0.001}},
          "dear": {"python": "rules:echo", "price": {"per_call": 0.01}}}

def test_write_records_evidence_for_gate(tmp_path):
    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=["cheap", "dear"], threshold=0.5,
                                                            params={"temperature": 0, "max_tokens": 8})})
    project = load_project(tmp_path)
    run(project, progress=False)
    written = write(project, recommend(project))
    assert written.entries == ["t"] and written.evidence == ["t"]
    evidence = read_evidence(project.registry_path).record("t")
    task = project.tasks["t"]
    assert evidence.model == "cheap" and evidence.spec_hash == task.spec_hash("cheap")
    assert evidence.golden_hash == task.golden.sha256 and evidence.n == 6
    assert evidence.params == {"max_tokens": 8, "temperature": 0}
    assert [f.model for f in evidence.fallbacks] == ["dear"]
    assert evidence_path(project.registry_path).name == "registry.evidence.json"
    again = write(project, recommend(project))  # idempotent: nothing changed, nothing rewritten
    assert (again.entries, again.evidence) == ([], [])
    assert again.text() == "registry and evidence already up to date"
