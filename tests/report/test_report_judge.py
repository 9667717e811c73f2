"""The report on a judged task: the judge's reasons and votes, the agreement table, plain and
corrected bounds, and evaluation cost apart from the candidates' cost; all escaped."""

from __future__ import annotations

import json
import re

from harness.commands import recommend
from harness.project import load_project
from harness.report import build_report
from harness.runner import run
from tests.projfix import spec, write_project

EVIL = "<script>alert(1)</script><b>x</b>"

JUDGES = '''
import json

def markup_judge(v):
    verdict = "pass" if v["seed"] % 2 == 0 or "good" in v["output"] else "fail"
    return json.dumps({"reason": "judge says <img src=x onerror=alert(2)> " + verdict, "verdict": verdict})

def evil_rule(v):
    return v["text"] + " <script>alert(1)</script><b>x</b>"
'''


def _report(tmp_path):
    golden = [{"id": f"c{i:02d}", "vars": {"text": f"{'good' if i % 2 else 'bad'} {i}"}, "expected": f"good {i}"}
              for i in range(8)]
    labels = [{"case": f"c{i:02d}", "output": f"{'good' if i % 2 else 'bad'} {i} {EVIL}",
               "verdict": "pass" if i % 2 else "fail"} for i in range(0, 8, 2)]
    labels += [{"case": "c01", "model": "evil", "verdict": "pass"}]
    write_project(tmp_path, models={"evil": {"python": "judges:evil_rule", "price": {"per_call": 0.002}},
                                    "judge": {"python": "judges:markup_judge", "price": {"per_call": 0.001}}},
                  specs={"t": spec(candidates=["evil"], threshold=0.1,
                                   graders=[{"type": "llm_judge", "rubric": "good?", "judge": "judge", "votes": 3}],
                                   judge={"labels": "golden_sets/t.labels.jsonl", "min_agreement": 0.5})},
                  golden={"t": golden},
                  files={"judges.py": JUDGES,
                         "golden_sets/t.labels.jsonl": "".join(json.dumps(x) + "\n" for x in labels)})
    project = load_project(tmp_path)
    run(project, progress=False)
    files = build_report(project, recommend(project), tmp_path / "out")
    return files.html.read_text(), json.loads(files.json.read_text())


def test_report_shows_agreement_bounds_and_evaluation_cost(tmp_path):
    html, doc = _report(tmp_path)
    # agreement: 5 labelled outputs; the judge (2 of 3 votes pass on even seeds) passes all of them
    assert "The judge against human verdicts (5 outputs judged by both)" in html
    task = doc["tasks"][0]
    assert task["judge_agreement"]["confusion"] == {"both_pass": 1, "judge_pass_human_fail": 4,
                                                    "judge_fail_human_pass": 0, "both_fail": 0}
    assert "required: accuracy ≥ 0.5" in html
    c = task["candidates"][0]
    assert c["plain_lower"] > c["lower"] and c["human_labels"] == 5
    assert "uncorrected; 5 human verdicts correct it to" in html
    # 8 cases x 3 votes x $0.001 judging; 8 x $0.002 for the candidate's own calls
    assert c["eval_cost_per_call"] == 0.003 and c["cost_per_call"] == 0.002
    assert "the candidates' calls $0.016, the judge's calls $0.024 (60.0% of it)" in html


def test_judge_reasons_and_votes_reach_the_case_browser_escaped(tmp_path):
    html, _ = _report(tmp_path)
    data = re.search(r'<script type="application/json" id="cases-data">(.*?)</script>', html, re.S).group(1)
    assert "<img" not in data and "<script" not in data
    cases = json.loads(data)["cases"]
    reasons = [cell[4] for case in cases for cell in case[7] if cell]
    assert "judge: judge says <img src=x onerror=alert(2)> pass [2 of 3 votes] (votes: pass, fail, pass; spread 1.00)" \
        in reasons
    assert EVIL not in html


def test_markdown_summary_gives_agreement_corrected_bound_and_judge_share(tmp_path):
    _report(tmp_path)
    md = (tmp_path / "out" / "summary.md").read_text()
    assert "judge agreement with 5 human verdicts: accuracy 0.20" in md
    assert "needs accuracy ≥ 0.5" in md
    assert re.search(r"evil: lower bound 0\.\d{3} corrected for the judge with 5 human verdicts "
                     r"\(judge alone 0\.\d{3}\)", md)
    assert "evaluation cost: candidates $0.016, judge $0.024 (60% of it)" in md
    assert "<img" not in md


def test_recommend_text_gives_the_judges_agreement_and_corrected_bounds(tmp_path):
    from harness.report import recommendation_text

    _report(tmp_path)
    text = recommendation_text(recommend(load_project(tmp_path)))
    assert "  judge:      judge agreement with 5 human verdicts: accuracy 0.20, Cohen's kappa 0.00; " \
           "needs accuracy ≥ 0.5" in text
    assert re.search(r"  judge:      evil: lower bound 0\.\d{3} corrected for the judge with 5 human verdicts", text)
