"""tierwise report: the HTML page, the Markdown summary, the JSON document, and escaping."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli import cli
from harness.commands import recommend
from harness.decide import CandidateResult, Decision
from harness.project import load_project
from harness.report import build_report
from harness.report._cases import script_json
from harness.report._svg import Point, cost_quality_chart, frontier
from harness.runner import run
from tests.projfix import cases, spec, write_project

EVIL = "<script>alert(1)</script><b>x</b>"

# Its own module name: python candidates are imported by module name, and other tests' projects
# have a different rules.py.
RULES = '''
def echo(vars):
    return vars["text"]

def upper(vars):
    return vars["text"].upper()

def always_yes(vars):
    return "yes"

def evil(vars):
    return "<script>alert(1)</script><b>x</b>"
'''


def build_example(root: Path, n_cases: int = 30, registry: bool = True):
    """A project whose current entry (upper) has a cheaper equal (echo), a coin-flip (always_yes)
    and a model whose output is markup (evil); evaluated, decided and reported."""
    models = {
        "echo": {"python": "report_rules:echo", "price": {"per_call": 0.0005}},
        "upper": {"python": "report_rules:upper", "price": {"per_call": 0.002}},
        "always-yes": {"python": "report_rules:always_yes", "price": {"per_call": 0.0001}},
        "evil": {"python": "report_rules:evil"},
    }
    write_project(root, models=models,
                  specs={"t": spec(candidates=["evil", "always-yes", "echo", "upper"], threshold=0.8)},
                  golden={"t": cases(n_cases)}, files={"report_rules.py": RULES},
                  config={"volumes": {"t": 100000}})
    if registry:
        (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": {"model": "python:report_rules:upper"}}}))
    project = load_project(root)
    run(project, progress=False, argv=["run"])
    rec = recommend(project)
    files = build_report(project, rec, root / "reports")
    return project, rec, files


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return build_example(tmp_path_factory.mktemp("report"))


class _Scripts(HTMLParser):
    """Collects every element the parser sees, and script elements with their attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs))


def _case_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="cases-data">(.*?)</script>', html, re.S)
    assert match, "case data element missing"
    return json.loads(match.group(1))


def test_report_writes_html_markdown_and_json(example):
    _, _, files = example
    assert files.html.name == "index.html" and files.html.stat().st_size > 0
    assert files.markdown.name == "summary.md" and files.json.name == "report.json"
    doc = json.loads(files.json.read_text())
    assert doc["version"] == 1 and doc["tasks"][0]["task"] == "t"
    assert doc["runs"] and doc["runs"][0]["tierwise_version"]
    assert doc["golden_sets"]["t"]["cases"] == 30


def test_model_output_with_markup_is_shown_as_text(example):
    _, _, files = example
    html = files.html.read_text()
    assert EVIL not in html
    assert "<b>x</b>" not in html
    parser = _Scripts()
    parser.feed(html)
    # Only our two script elements exist: the inert case data and the browser's code.
    assert [s.get("type") for s in parser.scripts] == ["application/json", None]
    assert "b" not in parser.tags
    outputs = [cell[0] for case in _case_data(html)["cases"] for cell in case[7] if cell]
    assert EVIL in outputs  # the exact text survives, to be drawn with textContent


def test_case_data_escapes_closing_script_tags_and_line_separators():
    text = "</script><script>alert(1)</script> & \u2028\u2029 <!--"
    encoded = script_json({"x": text})
    assert not set(encoded) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(encoded) == {"x": text}


def test_page_loads_nothing_from_the_network(example):
    html = example[2].html.read_text()
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', html)
    assert "<link rel=\"stylesheet\"" not in html
    assert "default-src 'none'" in html


def test_script_hash_in_the_policy_matches_the_inline_script(example):
    import base64
    import hashlib

    html = example[2].html.read_text()
    body = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html


def test_summary_names_the_change_the_saving_and_the_reason(example):
    _, rec, files = example
    d = rec.decisions[0]
    assert d.status == "recommend" and d.recommended == "echo"
    md = files.markdown.read_text()
    assert "`python:report_rules:upper` → `python:report_rules:echo`" in md
    assert "**change**" in md
    assert "$1.50" in md  # (0.002 - 0.0005) * 1000 per 1,000 calls
    assert "$150.00/month" in md  # at 100,000 calls a month
    html = files.html.read_text()
    assert 'id="summary-table"' in html and "cheapest of 2 qualifying" in html


def test_registry_diff_is_what_write_would_make_and_leaves_the_file_alone(example):
    project, _, files = example
    before = project.registry_path.read_text()
    md = files.markdown.read_text()
    assert ("\n-    model: python:report_rules:upper\n+    model: python:report_rules:echo\n"
            "+    fallbacks: [python:report_rules:upper]\n") in md
    assert project.registry_path.read_text() == before
    assert json.loads(files.json.read_text())["registry_diff"].startswith("--- a/registry.yaml")


def test_each_task_has_a_chart_with_threshold_frontier_and_recommended_mark(example):
    html = example[2].html.read_text()
    svg = re.search(r'<svg[^>]*class="chart".*?</svg>', html, re.S).group(0)
    assert 'class="threshold"' in svg and "threshold 0.8" in svg
    assert 'class="frontier"' in svg
    assert 'class="ring"' in svg and "echo — recommended" in svg
    assert 'class="current"' in svg and "upper (current)" in svg


def test_case_browser_flags_failures_and_disagreements(example):
    data = _case_data(example[2].html.read_text())
    assert [t["models"] for t in data["tasks"]] == [["evil", "always-yes", "echo", "upper"]]
    assert len(data["cases"]) == 30
    assert all(case[5] == 1 for case in data["cases"])        # evil fails every case
    assert all(case[6] == 1 for case in data["cases"])        # so the models always disagree
    yes_cells = [case[7][1] for case in data["cases"]]
    assert sum(c[1] for c in yes_cells) == 15                  # always-yes is right half the time
    assert "expected" in yes_cells[1][4]                       # grader reason is carried along


def test_report_without_results_says_what_to_run(tmp_path):
    write_project(tmp_path)
    project = load_project(tmp_path)
    files = build_report(project, recommend(project), tmp_path / "out")
    md = files.markdown.read_text()
    assert "no results" in md and "tierwise run t" in md
    assert "no candidate has priced results yet" in files.html.read_text()


def test_cli_report_prints_paths_and_appends_the_step_summary(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    build_example(root, n_cases=6)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r"), "--project", str(root)])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'r' / 'index.html'}" in result.output
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "## Tierwise: model per task" in text


def _decision(costs: dict[str, float | None], means: dict[str, float], recommended: str | None = None) -> Decision:
    cands = [CandidateResult(model=m, target=f"x/{m}", provider="x", available=True, n=100, cases=100, mean=means[m],
                             lower=means[m] - 0.05, cost_per_call=c, qualifies=means[m] - 0.05 >= 0.8)
             for m, c in costs.items()]
    return Decision(task="t", threshold=0.8, confidence=0.95, status="recommend" if recommended else "no_qualifier",
                    current=None, current_model=None, recommended=recommended, fallbacks=[], entry=None,
                    changed=False, reason="", candidates=cands)


def test_chart_uses_a_log_axis_with_a_free_column_when_costs_span_decades():
    chart = cost_quality_chart(_decision({"rule": 0.0, "small": 1e-5, "big": 1e-2},
                                         {"rule": 0.7, "small": 0.85, "big": 0.95}, "small"))
    assert chart.log
    assert "(log scale)" in chart.svg and ">$0</text>" in chart.svg
    assert chart.plotted == ["rule", "small", "big"]


def test_chart_lists_unpriced_and_unevaluated_candidates_instead_of_drawing_them():
    d = _decision({"a": 0.001, "b": None}, {"a": 0.9, "b": 0.9}, "a")
    d.candidates.append(CandidateResult(model="c", target="x/c", provider="x", available=False))
    chart = cost_quality_chart(d)
    assert chart.plotted == ["a"]
    assert chart.not_plotted == ["b (no price)", "c (not evaluated; not available here)"]


def test_chart_escapes_model_names():
    name = "<img src=x onerror=alert(1)>"
    chart = cost_quality_chart(_decision({name: 0.001}, {name: 0.9}))
    assert "<img" not in chart.svg and "&lt;img src=x onerror=alert(1)&gt;" in chart.svg


@pytest.mark.parametrize("points, expected", [
    ([(1.0, 0.9), (2.0, 0.8), (3.0, 0.95)], ["p0", "p2"]),      # p1 costs more and scores less than p0
    ([(0.0, 0.5), (0.0, 0.7), (5.0, 0.7)], ["p1"]),             # equal cost: the better one; equal mean: cheaper
    ([(1.0, 0.5), (2.0, 0.6), (4.0, 0.9)], ["p0", "p1", "p2"]),
])
def test_frontier_keeps_only_candidates_nothing_beats_on_cost_and_quality(points, expected):
    pts = [Point(f"p{i}", c, m, m, True, False, False, "") for i, (c, m) in enumerate(points)]
    assert [p.model for p in frontier(pts)] == expected


def test_json_document_is_strict_json_without_nan(example):
    text = example[2].json.read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in report.json"))
    candidate = json.loads(text)["tasks"][0]["candidates"][0]
    assert not any(isinstance(v, float) and math.isnan(v) for v in candidate.values())


def test_the_run_table_never_shows_two_tasks_under_one_name():
    import pandas as pd

    from harness.report import run_table

    row = dict(model="qwen-1.5b", n=10, mean=0.9, errors=0, p50_ms=1.0, p95_ms=2.0, prompt_tokens=5.0,
               completion_tokens=1.0, cost_per_call=0.0)
    names = ["support_reply_tone_answer_refund", "support_reply_tone_answer_shipping",
             "x" * 30 + "_first_variant_of_a_very_long_imported_name", "x" * 30 + "_second_variant_of_a_very_long_imported_name"]
    table = run_table(pd.DataFrame([dict(row, task=t) for t in names]))
    shown = [line.split()[0] for line in table.splitlines()[2:]]
    assert shown[:2] == names[:2] and len(set(shown)) == 4 and all(len(s) <= 48 for s in shown)
