"""The audit's projection and "where evaluation would pay most" read the claim that backs each entry
(offline bound or live non-inferiority), on the live_stream example's project: a promotion proposed,
then written while the ledger still shows the incumbent."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from examples.live_stream import prepare
from harness.cli import cli
from harness.commands import audit
from harness.project import load_project
from harness.store import Store


def _tierwise(root, *args):
    return CliRunner().invoke(cli, [*args, "--project", str(root)])


@pytest.fixture
def promoted(tmp_path):
    """careful-router in the registry, 600 production calls it answered, quick-router shadowed on each
    (3 disagreements: its live bound is below max_regression 0.05)."""
    root = tmp_path / "live"
    prepare(root)
    assert _tierwise(root, "run", "ticket_triage").exit_code == 0
    assert _tierwise(root, "recommend", "ticket_triage", "--write").exit_code == 0
    start = time.time() - 600
    with Store(load_project(root).store_url()) as store:
        store.write_shadow_calls([{"at": start + i, "call_id": f"c{i}", "task": "ticket_triage",
                                   "incumbent": "careful-router", "challenger": "quick-router", "outcome": "ok",
                                   "agree": i % 200 != 0} for i in range(600)])
        store.append_usage([{"at": start + i, "call_id": f"c{i}", "task": "ticket_triage", "model": "careful-router",
                             "target": "python:examples.live_stream:careful_router", "attempt": 1, "kind": "primary",
                             "outcome": "ok", "final": True, "cost": 0.002, "latency_ms": 1.0}
                            for i in range(600)])
    return root


def test_a_live_promotion_not_written_yet_is_named_by_its_claim(promoted):
    result = audit(load_project(promoted))
    proj = result.projections[0]
    assert (proj.recommended, proj.claim, proj.from_registry) == ("quick-router", "live non-inferiority", False)
    assert (proj.now, proj.after) == (pytest.approx(600.0), pytest.approx(30.0))  # volumes: 300,000 calls
    assert [o.why for o in result.opportunities] == [
        "quick-router is shown non-inferior to careful-router on live traffic: tierwise recommend --write, then gate"]


def test_a_written_live_promotion_is_projected_against_what_production_ran(promoted):
    assert _tierwise(promoted, "recommend", "ticket_triage", "--write").exit_code == 0
    result = audit(load_project(promoted))
    proj = result.projections[0]
    assert (proj.ran, proj.recommended, proj.claim, proj.from_registry) == (
        "careful-router", "quick-router", "live non-inferiority", True)
    assert (proj.now, proj.after) == (pytest.approx(600.0), pytest.approx(30.0))
    assert proj.basis == "the registry's entry (production ran careful-router): its evaluated cost per call"
    assert proj.backing.startswith("live non-inferiority to careful-router: disagreement upper ")
    assert result.opportunities == []  # quick-router is the entry: never "would cost $30.00/month if it qualifies"
    text = result.text()
    assert "now $600, with the registry's entries and the current recommendation $30.00 (-95%)" in text
    assert "  ticket_triage: quick-router is backed by live non-inferiority to careful-router: " in text
    assert "Where evaluation would pay most" not in text
