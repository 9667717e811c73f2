"""`tierwise gate` on an entry backed by live non-inferiority (registry/_gate.py, decide/_promote.py)."""

from __future__ import annotations

import json
import time

from tests.decide.test_promote import project_at, shadow, tierwise  # noqa: F401 - the fixture
from harness.project import load_project


def evidence(project):
    return json.loads((project.root / "registry.evidence.json").read_text())["tasks"]["ticket_triage"]


def test_the_gate_accepts_fresh_live_evidence_and_the_record_names_its_claim(project_at):
    project = project_at()
    shadow(project, [i % 200 == 0 for i in range(600)])
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    live = evidence(project)["live"]
    assert live["claim"] == "live non-inferiority" and live["incumbent_model"] == "careful-router"
    assert (live["calls"], live["disagreements"], live["margin"], live["confidence"]) == (600, 3, 0.05, 0.95)
    assert live["upper"] < 0.05 and live["offline_upper"] >= 0.9 and live["window_start"] < live["window_end"]
    assert "digest" in evidence(project)
    gate = tierwise(project.root, "gate")
    assert gate.exit_code == 0, gate.output
    assert "PASS ticket_triage: quick-router, live non-inferior to careful-router" in gate.output


def test_live_evidence_older_than_its_window_is_stale(project_at):
    project = project_at(fresh_days=1)
    shadow(project, [False] * 600, at=time.time() - 3 * 86400)
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    gate = tierwise(project.root, "gate")
    assert gate.exit_code == 1
    assert "STALE ticket_triage: stale evidence: live evidence is 3 days old" in gate.output
    assert "fresh for 1 days" in gate.output


def test_an_offline_entry_has_no_live_key(project_at):
    project = project_at()
    assert "live" not in evidence(project)


def test_the_gate_fails_live_evidence_under_a_tighter_margin(project_at):
    project = project_at()
    shadow(project, [i % 100 == 0 for i in range(1000)])  # 10 of 1000: upper around 0.02
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    spec = project.root / "evals" / "ticket_triage.yaml"
    spec.write_text(spec.read_text().replace("max_regression: 0.05", "max_regression: 0.01"))
    gate = tierwise(load_project(project.root).root, "gate")
    assert gate.exit_code == 1
    assert "live evidence was decided at margin 0.05, above max_regression 0.01" in gate.output


def test_gate_rerun_re_derives_the_live_claim_from_fresh_results_and_the_shadow_calls(project_at):
    project = project_at()
    shadow(project, [False] * 600)
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    gate = tierwise(project.root, "gate", "--rerun")
    assert gate.exit_code == 0, gate.output
    assert "PASS ticket_triage: quick-router, live non-inferiority: quick-router disagreed" in gate.output
    assert "re-evaluated" in gate.output
