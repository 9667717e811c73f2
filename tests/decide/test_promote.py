"""Promotion on live traffic (decide/_promote.py) through `recommend`, on the live_stream example's
project: careful-router qualifies offline, quick-router (cheaper) does not show it clears the bar."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from examples.live_stream import prepare
from harness.cli import cli
from harness.commands import recommend
from harness.decide import CLAIM_LIVE, CLAIM_OFFLINE, offline_upper
from harness.project import load_project
from harness.store import Store


def tierwise(root, *args):
    return CliRunner().invoke(cli, [*args, "--project", str(root)])


@pytest.fixture
def project_at(tmp_path):
    """A project evaluated and written (careful-router in the registry), `rare` blind-spot cases."""
    def make(rare=3, fresh_days=30):
        root = tmp_path / f"p{rare}"
        prepare(root, rare)
        config = root / "tierwise.yaml"
        config.write_text(config.read_text().replace("fresh_days: 30", f"fresh_days: {fresh_days}"))
        assert tierwise(root, "run").exit_code == 0
        assert tierwise(root, "recommend", "--write").exit_code == 0
        return load_project(root)
    return make


def shadow(project, disagree, at=None):
    """Store one shadow row per call: quick-router against careful-router (1 = disagreed)."""
    start = (at if at is not None else time.time()) - len(disagree)
    rows = [{"at": start + i, "call_id": f"c{i}", "task": "ticket_triage", "incumbent": "careful-router",
             "challenger": "quick-router", "outcome": "ok", "agree": not d} for i, d in enumerate(disagree)]
    with Store(project.store_url()) as store:
        store.write_shadow_calls(rows)


def decision(project):
    """ticket_triage's decision (the example's project also has an open-ended task)."""
    return recommend(project, ["ticket_triage"]).decisions[0]


def test_a_challenger_that_lacked_the_cases_is_promoted_on_live_agreement(project_at):
    project = project_at()
    before = decision(project)
    assert before.recommended == "careful-router" and before.claim == CLAIM_OFFLINE
    shadow(project, [i % 200 == 0 for i in range(600)])  # 3 of 600 disagree
    d = decision(project)
    assert (d.recommended, d.fallbacks, d.claim, d.status) == ("quick-router", ["careful-router"], CLAIM_LIVE, "recommend")
    assert d.live["calls"] == 600 and d.live["disagreements"] == 3 and d.live["upper"] < 0.05
    assert d.reason.startswith("live non-inferiority: quick-router disagreed with careful-router on 3 of 600")


def test_no_promotion_while_the_bound_is_above_the_margin(project_at):
    project = project_at()
    shadow(project, [False] * 30)  # 30 agreements: U_30 is still far above 0.05
    d = decision(project)
    assert d.recommended == "careful-router" and d.claim == CLAIM_OFFLINE
    assert any("shadow quick-router against careful-router: not shown yet" in n and "not promoted yet" in n
               for n in d.notes)


def test_agreement_never_hides_a_challenger_the_golden_set_shows_below_the_bar(project_at):
    project = project_at(rare=12)  # quick-router 48/60: its upper bound is below 0.90
    res = next(c for c in decision(project).candidates if c.model == "quick-router")
    assert offline_upper(res.n, res.mean, res.method, 0.95) < 0.90
    shadow(project, [False] * 2000)  # perfect agreement on live traffic
    d = decision(project)
    assert d.recommended == "careful-router" and d.claim == CLAIM_OFFLINE
    assert any("the golden set shows quick-router below the bar" in n for n in d.notes)


def test_the_promoted_entry_stays_when_recommend_runs_again(project_at):
    project = project_at()
    shadow(project, [False] * 600)
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    again = decision(load_project(project.root))
    assert (again.recommended, again.status, again.claim) == ("quick-router", "keep", CLAIM_LIVE)


def test_offline_upper_is_the_exact_bound_for_pass_fail_and_hoeffding_otherwise():
    assert offline_upper(60, 57 / 60, "exact", 0.95) == pytest.approx(0.986235, abs=1e-6)  # scipy beta.ppf(.95, 58, 3)
    assert offline_upper(60, 1.0, "exact", 0.95) == 1.0
    assert offline_upper(100, 0.5, "bootstrap", 0.95) == pytest.approx(0.5 + (2.995732 / 200) ** 0.5, abs=1e-6)
    assert offline_upper(0, None, "", 0.95) == 1.0
