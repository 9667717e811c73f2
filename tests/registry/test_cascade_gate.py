"""`tierwise gate` on cascade entries: what matches the evidence, what is consistent, stale, below the bar."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness import load_project
from harness.commands import gate, recommend
from harness.fingerprint import EVIDENCE_DIGEST_KEY, evidence_digest
from harness.registry import write_registry
from tests.cascadefix import cascade_project


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """The cascade project after `recommend --write`, its store deleted (a fresh CI checkout)."""
    root = cascade_project(tmp_path_factory.mktemp("cascade-registry") / "p")
    project = load_project(root)
    write_registry(project, recommend(project))
    shutil.move(root / ".tierwise", root.parent / "store")  # kept aside for --rerun
    return root


@pytest.fixture
def proj(tmp_path, written) -> Path:
    root = tmp_path / "p"
    shutil.copytree(written, root)
    return root


def _evidence(root: Path) -> dict:
    return json.loads((root / "registry.evidence.json").read_text())


def _edit_evidence(root: Path, task: str, change, redigest: bool = True) -> None:
    doc = _evidence(root)
    change(doc["tasks"][task])
    if redigest:  # as someone who recomputes the digest would: the checks below must not rest on it
        doc["tasks"][task][EVIDENCE_DIGEST_KEY] = evidence_digest(doc["tasks"][task])
    (root / "registry.evidence.json").write_text(json.dumps(doc, indent=2))


def _edit_registry(root: Path, task: str, change) -> None:
    path = root / "registry.yaml"
    data = yaml.safe_load(path.read_text())
    change(data["tasks"][task])
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _line(root: Path, task: str) -> str:
    result = gate(load_project(root))
    return next(t.line for t in result.tasks if t.task == task)


# the gate --------------------------------------------------------------------------------------

def test_the_gate_passes_cascade_entries_without_a_store(written):
    result = gate(load_project(written))
    assert result.ok, result.text()
    assert "PASS c: cascade ladder at confidence >= 0.5, lower 0.911 ≥ 0.80 (n=40); first stage defers 50.0%" \
        in result.text()
    assert "fallbacks alt 0.903" in _line(written, "t")


def test_a_hand_lowered_threshold_is_not_what_was_measured(proj):
    _edit_registry(proj, "c", lambda e: e["cascade"][0].update(defer=["contract", {"confidence": 0.2}]))
    line = _line(proj, "c")
    assert line.startswith("FAIL c: registry cascade[0] (openai/cheap) defers on [contract, {confidence: 0.2}] but "
                           "the evidence was measured with [contract, {confidence: 0.5}]")


def test_a_stage_swapped_by_hand_has_no_evidence(proj):
    _edit_registry(proj, "t", lambda e: e["cascade"][1].update(model="python:rules:echo_too"))
    assert "registry cascade python:rules:half > python:rules:echo_too but the evidence is for " \
           "python:rules:half > python:rules:echo" in _line(proj, "t")


def test_an_entry_edited_into_a_model_with_cascade_evidence_fails(proj):
    _edit_registry(proj, "t", lambda e: (e.pop("cascade"), e.update(model="python:rules:half")))
    assert _line(proj, "t").startswith("FAIL t: registry model python:rules:half has no evidence")


@pytest.mark.parametrize("change, message", [
    (lambda r: r["cascade"].update(threshold=0.0), "cascade.threshold: 0.0 but the last certified grid point is 0.5"),
    (lambda r: r["cascade"]["certified"].__setitem__(10, True),
     "a fixed sequence certifies grid points in order"),  # with the last point certified too, the chain's order breaks
    (lambda r: r["cascade"]["p_values"].__setitem__(0, 0.2), "cascade.p_values[0]: 0.2 is not at most the level"),
    (lambda r: r["cascade"]["stages"][0].update(answered=30, deferral_rate=0.25, interval=[0.1, 0.4]),
     "cascade.stages[1]: saw 20 and answered 20, but 10 cases reached it"),
    (lambda r: r["cascade"]["stages"][0].update(deferral_rate=0.1), "cascade.stages[0].deferral_rate: 0.1"),
    (lambda r: r.update(successes=39, mean=0.975), "cascade.p_values[9]"),
])
def test_a_cascade_record_inconsistent_with_itself_fails_even_with_its_digest_recomputed(proj, change, message):
    if "fixed sequence" in message:
        _edit_evidence(proj, "c", lambda r: (r["cascade"]["certified"].__setitem__(3, False), change(r)))
    else:
        _edit_evidence(proj, "c", change)
    line = _line(proj, "c")
    assert line.startswith("FAIL c: evidence for c is inconsistent") and message in line, line


def test_an_edit_without_recomputing_the_digest_is_caught_by_the_digest(proj):
    _edit_evidence(proj, "t", lambda r: r["cascade"]["stages"][0].update(seen=41), redigest=False)
    assert "digest:" in _line(proj, "t")


def test_a_changed_grid_makes_the_cascade_stale(proj):
    path = proj / "evals" / "c.yaml"
    data = yaml.safe_load(path.read_text())
    data["candidates"][1]["grid"] = [0.9, 0.5, 0.0]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    line = _line(proj, "c")
    assert line.startswith("STALE c: stale evidence: cascade ladder's signals, check code or grid changed") \
        and "(its grid changed)" in line


def test_a_stage_changed_in_the_catalog_makes_the_cascade_stale(proj):
    (proj / "rules.py").write_text((proj / "rules.py").read_text().replace(
        'return vars["text"] if vars["text"] == "yes" else None', 'return None'))
    assert _line(proj, "t").startswith("STALE t: stale evidence: tierwise.yaml models.rule changed since the "
                                       "evidence (source of rules:half changed)")


def test_a_cascade_removed_from_the_spec_is_stale_and_the_bar_still_applies(proj):
    path = proj / "evals" / "t.yaml"
    data = yaml.safe_load(path.read_text())
    data["candidates"] = ["big", "alt", "rule"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert "cascade rule>big is no longer a candidate in evals/t.yaml" in _line(proj, "t")


def test_a_bar_raised_above_the_cascades_bound_fails(proj):
    path = proj / "evals" / "t.yaml"
    path.write_text(path.read_text().replace("threshold: 0.8", "threshold: 0.95"))
    line = _line(proj, "t")
    assert line.startswith("FAIL t: cascade rule>big lower 0.911 < threshold 0.95 (n=40, recorded at threshold 0.80)")


def test_a_fallback_added_by_hand_needs_evidence(proj):
    _edit_registry(proj, "t", lambda e: e.update(fallbacks=["python:rules:echo_too", "openai/gpt-4o"]))
    assert "fallback openai/gpt-4o has no evidence" in _line(proj, "t")


def test_rerun_certifies_the_cascade_afresh_at_its_threshold(proj, written):
    shutil.copytree(written.parent / "store", proj / ".tierwise")
    registry = yaml.safe_load((proj / "registry.yaml").read_text())
    del registry["tasks"]["c"]  # its API stage's server is gone: re-run the rule cascade and the model
    (proj / "registry.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    result = gate(load_project(proj), rerun=True)
    assert result.ok, result.text()
    assert "PASS t: cascade rule>big, lower 0.912 ≥ 0.80 (n=40), re-evaluated" in result.text()
