"""`pin:` in a registry entry: the team keeps a qualifying model that is not the cheapest."""

from __future__ import annotations

from harness import gate, load_project, recommend, run, write_registry
from harness.registry import read_registry, update_registry
from tests.projfix import cases, spec, write_project

MODELS = {"cheap": {"python": "rules:echo", "price": {"per_call": 0.001}},
          "dear": {"python": "rules:echo", "price": {"per_call": 0.01}}}


def _project(tmp_path):
    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=["cheap", "dear"], params={"max_tokens": 8})},
                  golden={"t": cases(20)})
    project = load_project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    return project


def _pin(project, target, reason="EU data residency"):
    entry = read_registry(project.registry_path)["t"]
    update_registry(project.registry_path, {"t": {**entry, "model": target, "fallbacks": [], "pin": reason}})


def test_gate_accepts_a_pinned_model_whose_passing_evidence_is_recorded(tmp_path):
    project = _project(tmp_path)
    assert read_registry(project.registry_path)["t"]["model"] == "python:rules:echo"  # cheap and dear: same target
    [verdict] = gate(load_project(tmp_path)).tasks
    assert verdict.status == "pass"


def test_recommend_write_keeps_a_pinned_choice_and_says_what_the_cheapest_would_save(tmp_path):
    write_project(tmp_path, models={"cheap": {"python": "rules:echo", "price": {"per_call": 0.001}},
                                    "dear": {"python": "rules:upper", "price": {"per_call": 0.01}}},
                  specs={"t": spec(candidates=["cheap", "dear"], params={"max_tokens": 8},
                                   graders=[{"type": "exact", "normalize": ["strip", "lower"]}])},
                  golden={"t": cases(20)})
    project = load_project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    assert read_registry(project.registry_path)["t"]["model"] == "python:rules:echo"
    # the team pins the dearer model, whose evidence is recorded as a fallback
    _pin(project, "python:rules:upper")
    [verdict] = gate(load_project(tmp_path)).tasks
    assert verdict.status == "pass" and "pinned (EU data residency)" in verdict.line

    project = load_project(tmp_path)
    rec = recommend(project)
    [decision] = rec.decisions
    assert decision.recommended == "dear"
    assert any("pinned (EU data residency): cheap is the cheapest qualifying; unpinning would save $9 per 1,000"
               in note for note in decision.notes)
    write_registry(project, rec)
    entry = read_registry(project.registry_path)["t"]
    assert entry["model"] == "python:rules:upper" and entry["pin"] == "EU data residency"
    assert gate(load_project(tmp_path)).ok


def test_a_pinned_model_that_does_not_qualify_is_kept_and_said(tmp_path):
    write_project(tmp_path, models={"cheap": {"python": "rules:echo", "price": {"per_call": 0.001}},
                                    "boom": {"python": "rules:boom", "price": {"per_call": 0.01}}},
                  specs={"t": spec(candidates=["cheap", "boom"], params={"max_tokens": 8})}, golden={"t": cases(20)})
    project = load_project(tmp_path)
    run(project, progress=False)
    update_registry(project.registry_path, {"t": {"model": "python:rules:boom", "pin": "legacy contract"}})
    [decision] = recommend(load_project(tmp_path)).decisions
    assert decision.entry is None and decision.status == "keep"
    assert decision.reason.startswith("pinned (legacy contract): python:rules:boom does not qualify (all 20 calls failed")


def test_a_kept_pinned_entry_says_pinned_not_cheapest(tmp_path):
    from harness.report import recommendation_text

    write_project(tmp_path, models={"cheap": {"python": "rules:echo", "price": {"per_call": 0.001}},
                                    "dear": {"python": "rules:upper", "price": {"per_call": 0.01}}},
                  specs={"t": spec(candidates=["cheap", "dear"], params={"max_tokens": 8},
                                   graders=[{"type": "exact", "normalize": ["strip", "lower"]}])},
                  golden={"t": cases(20)})
    project = load_project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    _pin(project, "python:rules:upper")
    rec = recommend(load_project(tmp_path))
    write_registry(project, rec)
    rec = recommend(load_project(tmp_path))  # the pinned entry now stands: nothing to change
    [decision] = rec.decisions
    assert decision.status == "keep"
    assert decision.reason == "pinned: EU data residency (not the cheapest qualifying: cheap is)"
    text = recommendation_text(rec)
    assert "is still the cheapest" not in text and "cheapest of" not in text
    assert "unpinning would save $9 per 1,000 calls" in text


def test_the_gate_refuses_a_primary_that_is_its_own_fallback(tmp_path):
    project = _project(tmp_path)
    entry = read_registry(project.registry_path)["t"]
    update_registry(project.registry_path, {"t": {**entry, "fallbacks": [entry["model"]]}})
    [verdict] = gate(load_project(tmp_path)).tasks
    assert verdict.status == "fail"
    assert "registry model python:rules:echo is also its own fallback" in verdict.line
    assert "fix: remove python:rules:echo from tasks.t.fallbacks" in verdict.line
