"""`tierwise audit` on a cascade entry: production deferral rates against the evaluated ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import Client, load_project
from harness.commands import audit, recommend
from harness.registry import write_registry
from tests.cascadefix import cascade_project
from tests.projfix import tierwise


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    """The cascade project with its recommendation written (rule>big for `t`: the rule answers the
    "yes" half of the golden set and defers the rest, 20 of 40)."""
    root = cascade_project(tmp_path_factory.mktemp("cascade-audit") / "p")
    project = load_project(root)
    write_registry(project, recommend(project))
    return root


@pytest.fixture
def proj(tmp_path, deployed) -> Path:
    root = tmp_path / "p"
    shutil.copytree(deployed, root)
    return root


def _traffic(root: Path, texts: list[str]) -> None:
    with Client(root) as client:
        for text in texts:
            assert client.complete("t", text=text).ok
        client.ledger.flush(30)


def _deferral(result) -> str:
    (line,) = [m.line() for m in result.monitors if m.task == "t" and m.monitor.startswith("deferral")]
    return line


def test_traffic_like_the_golden_set_defers_as_evaluated(proj):
    _traffic(proj, ["yes", "no"] * 60)
    line = _deferral(audit(proj))
    assert line == ("t: deferral stage 1 (rule): OK: deferred 60/120 = 0.500 against 20/40 = 0.500 evaluated "
                    "[0.338, 0.662]")


def test_a_stage_that_defers_far_less_than_evaluated_raises_an_alarm_check_exits_1(proj, monkeypatch, capsys):
    _traffic(proj, ["yes"] * 150)  # the rule answers everything: more of the traffic than it was certified on
    result = audit(proj)
    line = _deferral(result)
    assert line.startswith("t: deferral stage 1 (rule): ALARM since ") and "the deferral rate fell: deferred " \
        "0/" in line and "against 20/40 = 0.500 evaluated [0.338, 0.662]; fix: re-evaluate the task" in line
    code, out, _ = tierwise(monkeypatch, capsys, "audit", "--check", "--project", str(proj))
    assert code == 1 and "deferral stage 1 (rule): ALARM" in out


def test_a_stage_that_defers_far_more_than_evaluated_raises_an_alarm(proj):
    _traffic(proj, ["no"] * 150)
    assert "the deferral rate rose: deferred 150/150 = 1.000" in _deferral(audit(proj))


def test_calls_before_the_evidence_was_recorded_are_not_its_production(proj):
    _traffic(proj, ["yes"] * 150)
    evidence = proj / "registry.evidence.json"
    doc = json.loads(evidence.read_text())
    doc["tasks"]["t"]["recorded_at"] = "2999-01-01T00:00:00+00:00"  # as if these calls ran an older entry
    evidence.write_text(json.dumps(doc))
    assert not [m for m in audit(proj).monitors if m.task == "t" and m.monitor.startswith("deferral")]


def test_a_cascade_recommendation_projects_its_measured_cost(proj):
    _traffic(proj, ["yes", "no"] * 5)
    registry = proj / "registry.yaml"
    registry.write_text(registry.read_text().replace(
        "    cascade:\n      - {model: python:rules:half, defer: [abstain]}\n      - {model: python:rules:echo}\n",
        "    model: python:rules:echo_too\n", 1))  # back to the dearest model: the cascade is a change again
    (proj / "tierwise.yaml").write_text((proj / "tierwise.yaml").read_text() + "volumes: {t: 100000}\n")
    result = audit(proj)
    (p,) = [p for p in result.projections if p.task == "t"]
    assert p.recommended == "rule>big" and p.after == pytest.approx(100.0)
    assert p.basis.startswith("its evaluated cost per call (a cascade")
