"""`tierwise diff`: what moved between two runs, per task and model."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.commands import diff
from harness.errors import StoreError
from harness.project import load_project
from harness.runner import run
from tests.projfix import spec, write_project

SAYS_NO = 'return "no"  # a worse rule'


def _two_runs(tmp_path):
    """Run 1: `rule` echoes (all right). Run 2: the rule always says 'no' (the 'yes' cases fail)."""
    write_project(tmp_path, specs={"t": spec(threshold=0.3)})
    first = run(load_project(tmp_path), progress=False)
    rules = tmp_path / "rules.py"
    rules.write_text(rules.read_text().replace('return vars.get("text", "")', SAYS_NO, 1))
    project = load_project(tmp_path)
    second = run(project, progress=False)
    return project, first.run_id, second.run_id


def test_default_compares_the_last_two_runs_of_each_task(tmp_path):
    project, first, second = _two_runs(tmp_path)
    out = diff(project)
    (task,) = out.tasks
    assert (task.task, task.a.label, task.b.label) == ("t", first, second)
    (m,) = task.models
    assert (m.a["n"], m.a["mean"], m.b["n"], m.b["mean"]) == (6, 1.0, 6, 0.5)
    assert m.b["lower"] < m.a["lower"] and m.a["method"]
    assert m.now_failing == ["c000", "c002", "c004"] and m.now_passing == [] and m.common == 6


def test_named_runs_in_either_order(tmp_path):
    project, first, second = _two_runs(tmp_path)
    (m,) = diff(project, second, first[:6]).tasks[0].models   # a unique prefix names a run too
    assert m.now_passing == ["c000", "c002", "c004"] and m.now_failing == []


def test_a_run_group_is_one_side(tmp_path):
    write_project(tmp_path, specs={"t": spec(threshold=0.3)})
    project = load_project(tmp_path)
    shards = [run(project, shard=(i, 2), run_group="old", progress=False).run_id for i in (1, 2)]
    rules = tmp_path / "rules.py"
    rules.write_text(rules.read_text().replace('return vars.get("text", "")', SAYS_NO, 1))
    project = load_project(tmp_path)
    second = run(project, progress=False).run_id
    task = diff(project).tasks[0]
    assert (task.a.label, task.a.group, sorted(task.a.run_ids), task.b.label) == ("old", True, sorted(shards), second)
    assert (task.models[0].a["n"], task.models[0].now_failing) == (6, ["c000", "c002", "c004"])
    assert diff(project, shards[1], second).tasks[0].a.label == "old"   # a shard's id stands for its group


def test_one_run_only_has_nothing_to_compare(tmp_path):
    write_project(tmp_path)
    project = load_project(tmp_path)
    rid = run(project, progress=False).run_id
    out = diff(project)
    assert out.tasks == [] and out.unpaired == {"t": f"only one run ({rid}) stored results; nothing to compare"}


def test_one_run_named_is_refused(tmp_path):
    write_project(tmp_path)
    with pytest.raises(StoreError, match=r"give two runs \(RUN_A RUN_B\) or none"):
        diff(load_project(tmp_path), "abc")


def test_unknown_run_lists_the_latest(tmp_path):
    project, first, second = _two_runs(tmp_path)
    with pytest.raises(StoreError, match=rf"'nope' is no run id or run group; fix: .*latest: {second}, {first}"):
        diff(project, "nope", second)


def test_cli_text_and_json(tmp_path):
    project, first, second = _two_runs(tmp_path)
    text = CliRunner().invoke(cli, ["diff", "--project", str(tmp_path)])
    assert text.exit_code == 0, text.output
    assert f"t: run {first}" in text.output
    assert "rule: n 6→6, mean 1.000→0.500 (-0.500)" in text.output
    assert "3 now fail: c000, c002, c004" in text.output
    doc = json.loads(CliRunner().invoke(cli, ["diff", first, second, "--json", "--project", str(tmp_path)]).output)
    assert doc["tasks"][0]["models"][0]["now_failing"] == ["c000", "c002", "c004"]
    side = doc["tasks"][0]["a"]
    assert "state" not in side and side["finished_at"] > side["started_at"]


def _ladder(tmp_path, n: int = 20):
    models = {"rule": {"python": "rules:echo"}, "other": {"python": "rules:upper"}}
    golden = [{"id": f"c{i:03d}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"} for i in range(n)]
    write_project(tmp_path, models=models, golden={"t": golden}, specs={"t": spec(candidates=["rule", "other"])})
    return load_project(tmp_path)


def test_a_case_added_and_one_candidate_rerun_compares_every_result_under_each_runs_spec(tmp_path):
    """Issue 29: "intent-rule: n 50→1 … lower 0.879→0.050" after adding one case and re-running
    only the rule; the other candidate was shown as only in run A."""
    first = run(_ladder(tmp_path), progress=False).run_id
    golden = tmp_path / "golden_sets" / "t.jsonl"
    golden.write_text(golden.read_text() + json.dumps({"id": "new", "vars": {"text": "y"}, "expected": "y"}) + "\n")
    project = load_project(tmp_path)
    second = run(project, models=["rule"], progress=False)
    assert second.counts.called == 1
    task = diff(project).tasks[0]
    assert (task.a.label, task.b.label) == (first, second.run_id)
    rule, other = task.models
    assert (rule.model, rule.a["n"], rule.b["n"], rule.common) == ("rule", 20, 21, 20)
    assert rule.b["lower"] > 0.8 and rule.a["mean"] == rule.b["mean"] == 1.0
    assert (other.model, other.a["n"], other.b["n"]) == ("other", 20, 20)  # in both: not "only in run A"


def test_a_resumed_run_compares_what_stood_at_each_end_not_what_each_call_made(tmp_path):
    project = _ladder(tmp_path, n=6)
    first = run(project, models=["rule"], limit=3, progress=False).run_id  # stopped early: a part of the work
    second = run(project, progress=False).run_id                            # the resume does the rest
    task = diff(project, first, second).tasks[0]
    by_model = {m.model: m for m in task.models}
    assert (by_model["rule"].a["n"], by_model["rule"].b["n"], by_model["rule"].common) == (3, 6, 3)
    assert by_model["other"].a is None and by_model["other"].b["n"] == 6  # no result of it existed when A ended
    assert "rule: n 3→6" in diff(project, first, second).text()
