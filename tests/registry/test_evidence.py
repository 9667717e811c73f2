"""The evidence file: written by recommend --write, read by the gate and the report."""

from __future__ import annotations

import pytest

from harness import load_project, run
from harness.commands import recommend
from harness.errors import RegistryError
from harness.registry import evidence_path, read_evidence, read_registry, update_registry
from harness.registry import write_registry as write
from tests.projfix import spec, write_project

MODELS = {"cheap": {"python": "rules:echo", "price": {"per_call": 0.001}},
          "dear": {"python": "rules:upper", "price": {"per_call": 0.01}}}  # another target: a real fallback

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


def test_registry_entries_carry_the_call_options_they_were_measured_with(tmp_path, fake_openai):
    models = {"api": {"litellm": "openai/fake-model", "api_base": fake_openai.base_url, "api_key": "none",
                      "extra": {"top_logprobs": None}, "price": {"per_call": 0.001}}}
    golden = [{"id": f"c{i}", "vars": {"text": "yes"}, "expected": "yes"} for i in range(12)]
    write_project(tmp_path, models=models, specs={"t": spec(candidates=["api"], params={"max_tokens": 4})},
                  golden={"t": golden})
    project = load_project(tmp_path)
    run(project, progress=False)
    write(project, recommend(project))
    entry = read_registry(project.registry_path)["t"]
    assert entry["options"] == {"openai/fake-model": {"api_base": fake_openai.base_url, "api_key": "none",
                                                      "top_logprobs": None}}
    from harness import gate

    assert gate(load_project(tmp_path)).ok
    entry["options"]["openai/fake-model"]["api_base"] = "http://127.0.0.1:1/v1"  # an app calling another server
    update_registry(project.registry_path, {"t": entry})
    [verdict] = gate(load_project(tmp_path)).tasks
    assert verdict.status == "fail" and "registry options for openai/fake-model" in verdict.message


def test_a_malformed_evidence_file_stops_the_write_and_keeps_every_entry(tmp_path):
    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=["cheap"], params={"max_tokens": 8})})
    project = load_project(tmp_path)
    run(project, progress=False)
    path = evidence_path(project.registry_path)
    path.write_text('{"version": 1, "tasks": {"other": {}}\n<<<<<<< HEAD\n')
    with pytest.raises(RegistryError, match=r"registry\.evidence\.json: malformed evidence .*fix: resolve it by hand"):
        write(project, recommend(project))
    assert path.read_text().startswith('{"version": 1, "tasks": {"other"')  # untouched


def test_new_evidence_and_registry_files_get_the_usual_permissions(tmp_path):
    import os

    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=["cheap"], params={"max_tokens": 8})})
    project = load_project(tmp_path)
    run(project, progress=False)
    old = os.umask(0o022)
    try:
        write(project, recommend(project))
    finally:
        os.umask(old)
    assert evidence_path(project.registry_path).stat().st_mode & 0o777 == 0o644
    assert project.registry_path.stat().st_mode & 0o777 == 0o644


def test_an_evidence_record_is_a_decisions_figures_copied_by_name():
    """ModelEvidence holds no figure of its own: each field is the CandidateResult's of that name
    (registry/_evidence.model_evidence), but for the two only writing adds."""
    import dataclasses

    from harness.decide import CandidateResult
    from harness.registry import ModelEvidence

    added_when_written = {"identity", "successes"}
    decided = {f.name for f in dataclasses.fields(CandidateResult)}
    assert set(ModelEvidence.model_fields) - decided <= added_when_written


def test_the_bundled_examples_evidence_reads_and_writes_back_byte_for_byte():
    import json
    from pathlib import Path

    from harness.fingerprint import EVIDENCE_DIGEST_KEY, evidence_digest
    from harness.registry import TaskEvidence, parse_evidence

    path = Path(__file__).resolve().parents[2] / "registry.evidence.json"
    text = path.read_text(encoding="utf-8")
    doc = parse_evidence(text, path.name)
    for name, raw in doc.tasks.items():
        assert TaskEvidence.model_validate(raw).model_dump(mode="json") == raw, name
        assert raw[EVIDENCE_DIGEST_KEY] == evidence_digest(raw), name
    assert json.dumps(doc.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n" == text
