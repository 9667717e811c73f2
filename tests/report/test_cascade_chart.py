"""The report's chart of a cascade's quality and cost against its deferral threshold."""

from __future__ import annotations

import re

import pytest

from harness import load_project
from harness.commands import recommend
from harness.report import build_report
from harness.report._cascade_svg import cascade_charts
from tests.cascadefix import cascade_project


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    root = cascade_project(tmp_path_factory.mktemp("cascade-chart") / "p")
    project = load_project(root)
    return root, project, recommend(project)


def test_each_grid_point_is_drawn_with_the_chosen_one_ringed_and_its_bound(decided):
    _, _, rec = decided
    d = next(d for d in rec.decisions if d.task == "c")
    (chart,) = cascade_charts(d)  # the rule cascade of task t has no grid: its text line says it all
    svg = chart.svg
    assert chart.name == "ladder" and chart.chosen == 0.5
    assert svg.count('class="pt ok"') == 10 and svg.count('class="pt short"') == 1  # certified down to 0.5
    assert svg.count('class="ring"') == 1 and "chosen: lower bound 0.911" in svg  # 0.9119, rounded down as every bound shown
    assert svg.count('class="cost-pt"') == 11 and 'class="cost-line"' in svg
    ticks = re.findall(r'text-anchor="middle">([0-9.]+)</text>', svg)
    assert ticks == ["0.999", "0.995", "0.99", "0.98", "0.95", "0.9", "0.8", "0.7", "0.6", "0.5", "0"]
    assert "<title>threshold 0: mean 0.500, first stage defers 0.0%, $0.10 per 1,000 calls; not certified</title>" in svg
    assert not cascade_charts(next(d for d in rec.decisions if d.task == "t"))


def test_the_html_report_carries_the_cascade_chart_inline(decided, tmp_path):
    _, project, rec = decided
    files = build_report(project, rec, tmp_path / "out")
    html = files.html.read_text()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart cascade"' in html
    assert "Cascade <code>ladder</code>, certified down to confidence ≥ 0.5" in html


def test_a_report_over_a_registry_that_runs_a_cascade_shows_its_stages(tmp_path):
    root = cascade_project(tmp_path / "p")
    project = load_project(root)
    from harness.registry import write_registry

    write_registry(project, recommend(project))  # t's entry becomes the rule cascade
    files = build_report(load_project(root), recommend(load_project(root)), tmp_path / "out")
    html = files.html.read_text()
    assert "<code>cascade python:rules:half &gt; python:rules:echo</code>" in html
