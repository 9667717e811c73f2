"""`tierwise audit` on a generated ledger and on exports, against hand-computed figures."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from click.testing import CliRunner

from harness import load_project, run
from harness.audit import UsageError, measured_volumes
from harness.commands import audit
from harness.cli import cli
from harness.store import Store
from tests.projfix import spec, write_project

T0 = 1_700_000_000.0
DAY = 86400.0


def _attempt(call_id, task, model, at, cost, latency, kind="primary", outcome="ok", final=True, trace=None,
             step=None, **extra):
    row = {"at": at, "call_id": call_id, "task": task, "model": model, "target": model, "attempt": 1, "kind": kind,
           "outcome": outcome, "final": final, "cost": cost, "latency_ms": latency, "trace": trace, "step": step,
           "prompt_tokens": 10, "completion_tokens": 2, "input": None, "output": None}
    row.update(extra)
    return row


# triage: 4 calls, 6 attempts; summary: 3 calls. Traces T1..T3 each run route -> summarise.
LEDGER = [
    _attempt("c1", "t", "api", T0, 0.01, 100, trace="T1", step="route"),
    _attempt("c2", "t", "api", T0 + 10, None, 50, outcome="error", final=False, trace="T2", step="route"),
    _attempt("c2", "t", "backup", T0 + 11, 0.02, 200, kind="fallback", trace="T2", step="route"),
    _attempt("c3", "t", "api", T0 + 20, 0.01, 100, outcome="contract_failed", final=False, trace="T3", step="route",
             contract_reason="not one of the choices"),
    _attempt("c3", "t", "backup", T0 + 21, 0.03, 300, kind="escalation", trace="T3", step="route"),
    _attempt("c4", "t", "api", T0 + DAY, 0.01, 300),
    _attempt("s1", "summary", "big", T0 + 1, 0.04, 1000, trace="T1", step="summarise"),
    _attempt("s2", "summary", "big", T0 + 12, 0.04, 1000, trace="T2", step="summarise"),
    _attempt("s3", "summary", "big", T0 + 22, 0.04, 1000, trace="T3", step="summarise"),
]


def _project(tmp_path, fake_openai=None, evaluate=False):
    models = {"rule": {"python": "rules:echo"}}
    if fake_openai is not None:
        models["api"] = {"litellm": "openai/fake-model", "api_base": fake_openai.base_url, "api_key_env": "TW_KEY",
                         "price": {"input_per_mtok": 1000.0, "output_per_mtok": 2000.0}}
    write_project(tmp_path, models=models, specs={"t": spec(candidates=list(models))},
                  golden={"t": [{"id": f"c{i}", "vars": {"text": w}, "expected": w}
                                for i, w in enumerate(["yes", "no"] * 10)]})
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump(
        {"tasks": {"t": {"model": "openai/fake-model" if fake_openai else "python:rules:echo", "fallbacks": []}}}))
    project = load_project(tmp_path)
    if evaluate:
        run(project, progress=False)
    return project


def _fill(project, rows):
    with Store(project.store_url()) as store:
        assert store.append_usage(rows).written == len(rows)


def test_per_task_figures_from_the_ledger_match_hand_computed_sums(tmp_path):
    project = _project(tmp_path)
    _fill(project, LEDGER)
    result = audit(project, recommendation=False)
    assert (result.calls, result.attempts, result.spend) == (7, 9, pytest.approx(0.20))
    t, s = {x.task: x for x in result.tasks}["t"], {x.task: x for x in result.tasks}["summary"]
    assert [x.task for x in result.tasks] == ["summary", "t"]  # most spend first
    assert (t.calls, t.attempts, t.spend, t.share) == (4, 6, pytest.approx(0.08), pytest.approx(0.4))
    assert t.cost_per_call == pytest.approx(0.02)
    # per-call latency is the sum of its attempts: [100, 250, 400, 300]
    assert t.p50_ms == pytest.approx(275.0) and t.p95_ms == pytest.approx(385.0)
    assert (t.fallback_rate, t.escalation_rate, t.contract_failures, t.error_rate) == (0.25, 0.25, 1, 0.0)
    assert t.models == {"api": 2, "backup": 2}
    assert (s.calls, s.spend, s.share, s.p95_ms) == (3, pytest.approx(0.12), pytest.approx(0.6), 1000.0)
    assert result.span_s == DAY


def test_pipeline_cost_per_run_and_per_step(tmp_path):
    project = _project(tmp_path)
    _fill(project, LEDGER)
    p = audit(project, recommendation=False).pipelines
    runs = {r.trace: (r.steps, r.cost, r.latency_ms) for r in p.by_run}
    assert runs == {"T1": (2, pytest.approx(0.05), 1100.0), "T2": (2, pytest.approx(0.06), 1250.0),
                    "T3": (2, pytest.approx(0.08), 1400.0)}
    assert [r.trace for r in p.by_run] == ["T3", "T2", "T1"]
    assert (p.runs, p.spend, p.cost_per_run_mean) == (3, pytest.approx(0.19), pytest.approx(0.19 / 3))
    assert p.cost_per_run_p50 == pytest.approx(0.06) and p.cost_per_run_p95 == pytest.approx(0.078)
    steps = {s.step: (s.calls, s.spend, s.cost_per_run) for s in p.steps}
    assert steps == {"route": (3, pytest.approx(0.07), pytest.approx(0.07 / 3)),
                     "summarise": (3, pytest.approx(0.12), pytest.approx(0.04))}
    assert [s.step for s in p.steps] == ["route", "summarise"]  # in the order runs reach them


def test_projection_applies_the_current_recommendation_and_names_where_to_evaluate(tmp_path, fake_openai,
                                                                                   monkeypatch):
    monkeypatch.setenv("TW_KEY", "sk-test-audit-0000000000")
    project = _project(tmp_path, fake_openai, evaluate=True)  # the free rule qualifies and is cheapest
    _fill(project, LEDGER)
    result = audit(project)
    proj = {p.task: p for p in result.projections}
    assert proj["t"].calls_per_month == pytest.approx(4 * 30) and proj["t"].now == pytest.approx(0.08 * 30)
    assert proj["t"].after == 0.0 and proj["t"].recommended == "rule"
    assert proj["summary"].now == proj["summary"].after == pytest.approx(0.12 * 30)
    assert [(o.task, round(o.potential, 6)) for o in result.opportunities] == [("summary", 3.6), ("t", 2.4)]
    assert "no eval spec yet: add evals/summary.yaml" in result.opportunities[0].why
    text = result.text()
    assert "now $6.00, with the current recommendation $3.60 (-40%)" in text
    assert measured_volumes(project, min_window_s=0) == {"t": pytest.approx(120.0), "summary": pytest.approx(90.0)}
    assert measured_volumes(project) == {}  # one day of ledger is not yet a month's rate
    assert proj["t"].volume_from == "ledger rate over only 1.0 days (< 7 days)"
    assert any(n.startswith("the ledger covers less than 7 days") for n in result.notes)


def _burst(n: int, seconds: float, task: str = "t") -> list[dict]:
    return [_attempt(f"b{i}", task, "api", T0 + i * seconds / (n - 1), 0.001, 50) for i in range(n)]


def test_a_burst_is_projected_from_volumes_not_from_its_rate(tmp_path):
    """100 calls in 1.6 minutes projected 1,330,081 calls a month; volumes: says 80,000."""
    project = _project(tmp_path)
    config = yaml.safe_load((tmp_path / "tierwise.yaml").read_text())
    (tmp_path / "tierwise.yaml").write_text(yaml.safe_dump({**config, "volumes": {"t": 80000}}))
    project = load_project(tmp_path)
    _fill(project, _burst(100, 96.0))
    proj = audit(project).projections[0]
    assert proj.calls_per_month == 80000 and proj.now == pytest.approx(80.0)
    assert proj.volume_from == "volumes: in tierwise.yaml (ledger covers 1.6 minutes < 7 days)"
    assert "volumes: in tierwise.yaml" in audit(project).text()


def test_a_ledger_of_a_week_or_more_is_projected_from_its_own_rate(tmp_path):
    project = _project(tmp_path)
    config = yaml.safe_load((tmp_path / "tierwise.yaml").read_text())
    (tmp_path / "tierwise.yaml").write_text(yaml.safe_dump({**config, "volumes": {"t": 80000}}))
    project = load_project(tmp_path)
    _fill(project, _burst(80, 8 * DAY))
    proj = audit(project).projections[0]
    assert proj.calls_per_month == pytest.approx(80 * 30 / 8) and proj.volume_from == "ledger rate over 8.0 days"


def test_the_errors_column_counts_failed_primary_attempts(tmp_path):
    project = _project(tmp_path)
    _fill(project, LEDGER)
    result = audit(project, recommendation=False)
    t = {x.task: x for x in result.tasks}["t"]
    assert t.primary_errors == 1 and t.error_rate == 0.0  # c2's primary failed; its fallback answered
    row = next(line for line in result.text().splitlines() if line.startswith("t "))
    assert row.split()[-3:] == ["1", "(25.0%)", "0.0%"]


def test_a_qualifying_model_is_not_said_to_cost_so_much_if_it_qualifies(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("TW_KEY", "sk-test-audit-0000000000")
    project = _project(tmp_path, fake_openai, evaluate=True)
    from harness.commands import recommend
    from harness.registry import write_registry

    (tmp_path / "registry.yaml").write_text(yaml.safe_dump(
        {"tasks": {"t": {"model": "openai/fake-model", "fallbacks": [], "pin": "the provider policy"}}}))
    project = load_project(tmp_path)
    write_registry(project, recommend(project))  # the pinned model stays; the free rule qualifies too
    project = load_project(tmp_path)
    _fill(project, LEDGER)
    why = {o.task: o.why for o in audit(project).opportunities}["t"]
    assert why.startswith("rule qualifies and would cost $0.00/month; ")  # then the decision's reason
    assert "if it qualifies" not in why


def test_a_sample_that_writes_fewer_than_asked_says_why(tmp_path):
    project = _project(tmp_path)
    _fill(project, [_attempt(f"k{i}", "t", "rule", T0 + i, 0.0, 1, input=json.dumps({"text": w}), output=w)
                    for i, w in enumerate(["yes", "no", "yes", "maybe", "maybe"])])
    result = audit(project, sample=("t", 5), recommendation=False)
    assert result.sample["written"] == 1
    assert result.sample["why"] == ("only 1 distinct new inputs among 5 captured calls: 2 inputs already in the "
                                    "golden set, 1 calls repeating an input")
    assert "wrote 1 of 5 unlabelled candidates" in result.text() and "(only 1 distinct new inputs" in result.text()


SPEND_LOGS = [
    {"request_id": "r1", "call_type": "acompletion", "spend": 0.002, "prompt_tokens": 100, "completion_tokens": 5,
     "startTime": "2025-03-01T10:00:00.000", "endTime": "2025-03-01T10:00:00.400", "model": "gpt-4.1-mini",
     "model_group": "ticket_triage", "session_id": "doc-1", "request_tags": ["step:classify"], "status": "success"},
    {"request_id": "r2", "call_type": "acompletion", "spend": 0.010, "prompt_tokens": 900, "completion_tokens": 80,
     "startTime": "2025-03-01T10:00:01.000", "endTime": "2025-03-01T10:00:03.000", "model": "gpt-4.1",
     "model_group": "gpt-4.1", "session_id": "doc-1", "request_tags": ["task:summary", "step:summarise"],
     "metadata": json.dumps({"user_api_key_hash": "abc"}), "status": "success"},
    {"request_id": "r3", "call_type": "acompletion", "spend": 0.003, "prompt_tokens": 120, "completion_tokens": 5,
     "startTime": "2025-03-02T10:00:00.000", "endTime": "2025-03-02T10:00:00.800", "request_duration_ms": 800,
     "model": "gpt-4.1-mini", "model_group": "ticket_triage", "session_id": "doc-2",
     "request_tags": ["step:classify"], "status": "success"},
    {"request_id": "r4", "call_type": "acompletion", "spend": 0.0, "prompt_tokens": 0, "completion_tokens": 0,
     "startTime": "2025-03-02T10:00:01.000", "endTime": "2025-03-02T10:00:01.100", "model": "gpt-4.1",
     "model_group": "summary", "session_id": "doc-2", "request_tags": ["step:summarise"], "status": "failure"},
]


@pytest.mark.parametrize("shape", ["json", "jsonl", "wrapped"])
def test_litellm_spend_logs_give_the_same_hand_computed_figures(tmp_path, shape):
    path = tmp_path / f"spend.{'jsonl' if shape == 'jsonl' else 'json'}"
    if shape == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in SPEND_LOGS))
    else:
        path.write_text(json.dumps({"data": SPEND_LOGS} if shape == "wrapped" else SPEND_LOGS))
    result = audit(tmp_path / "no-project-here", source=path)
    tasks = {t.task: t for t in result.tasks}
    assert set(tasks) == {"ticket_triage", "summary"}
    assert tasks["ticket_triage"].spend == pytest.approx(0.005) and tasks["summary"].spend == pytest.approx(0.010)
    assert tasks["ticket_triage"].share == pytest.approx(1 / 3)
    assert tasks["ticket_triage"].p50_ms == pytest.approx(600.0)  # 400 and 800 ms
    assert tasks["summary"].error_rate == 0.5
    assert result.span_s == pytest.approx(DAY + 1.0)
    runs = {r.trace: r.cost for r in result.pipelines.by_run}
    assert runs == {"doc-1": pytest.approx(0.012), "doc-2": pytest.approx(0.003)}
    steps = {s.step: s.spend for s in result.pipelines.steps}
    assert steps == {"classify": pytest.approx(0.005), "summarise": pytest.approx(0.010)}
    assert result.projections == []  # no project, no recommendation to apply


def test_a_csv_without_cost_is_priced_from_the_catalog(tmp_path, monkeypatch):
    monkeypatch.setenv("TW_KEY", "sk-test-audit-0000000000")
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        project = _project(tmp_path, server)
    path = tmp_path / "usage.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["timestamp", "task", "model", "input_tokens", "output_tokens", "latency_ms", "trace_id"])
        writer.writerow(["2025-03-01T00:00:00Z", "t", "api", 1000, 10, 120, "a"])
        writer.writerow(["2025-03-01T06:00:00Z", "t", "openai/fake-model", 2000, 20, 80, "a"])
    result = audit(project, source=path, recommendation=False)
    (t,) = result.tasks
    # 1000 $/Mtok in, 2000 $/Mtok out: 3000 * 1e-3 + 30 * 2e-3
    assert t.spend == pytest.approx(3.0 + 0.06) and t.p50_ms == pytest.approx(100.0)


def test_a_bad_export_names_the_file_row_and_fix(tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_text('{"task": "t", "model": "nowhere-model-xyz", "prompt_tokens": 5}\n')
    with pytest.raises(UsageError, match=r"u.jsonl:1: no cost and no price known for model 'nowhere-model-xyz'"):
        audit(tmp_path, source=path)
    path.write_text('{"model": "m", "cost": 1}\n')
    with pytest.raises(UsageError, match=r"u.jsonl:1: needs task and model; found columns cost, model"):
        audit(tmp_path, source=path)


def test_sample_writes_recent_distinct_captured_inputs_not_already_in_the_golden_set(tmp_path):
    project = _project(tmp_path)
    rows = [_attempt(f"k{i}", "t", "rule", T0 + i, 0.0, 1, input=json.dumps({"text": text}), output=text.upper())
            for i, text in enumerate(["alpha", "beta", "yes", "beta", "gamma", "delta"])]
    rows.append(_attempt("u", "t", "rule", T0 + 99, 0.0, 1))  # not captured
    _fill(project, rows)
    result = audit(project, sample=("t", 3), recommendation=False)
    path = tmp_path / "golden_sets" / "t.candidates.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    texts = [c["vars"]["text"] for c in lines]  # nothing disagreed or was flagged: a random three
    assert len(set(texts)) == 3 and set(texts) <= {"alpha", "beta", "gamma", "delta"}  # "yes" is a golden case
    for line in lines:
        assert line["incumbent"] == {"model": "rule", "output": line["vars"]["text"].upper()}
        assert line["id"].startswith("prod-") and line["why"] == "random" and "challenger" not in line
    assert "expected" not in lines[0] and result.sample["written"] == 3
    assert result.sample["picked"] == {"disagreement": 0, "flagged": 0, "random": 3}


def test_sample_without_captured_inputs_says_how_to_capture(tmp_path):
    project = _project(tmp_path)
    _fill(project, LEDGER)
    with pytest.raises(UsageError, match=r"no captured inputs for task 't'.*capture=True"):
        audit(project, sample=("t", 2))


def test_cli_audit_json_and_an_unreadable_export_exit_2(tmp_path):
    path = tmp_path / "spend.json"
    path.write_text(json.dumps(SPEND_LOGS))
    out = CliRunner().invoke(cli, ["audit", "--from", str(path), "--json", "--project", str(tmp_path)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["version"] == 1 and doc["calls"] == 4 and doc["spend"] == pytest.approx(0.015)
    assert {t["task"] for t in doc["tasks"]} == {"ticket_triage", "summary"}
    path.write_text("{not json")
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "harness.cli", "audit", "--from", str(path), "--project",
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "spend.json:1: invalid JSON" in proc.stderr and "Traceback" not in proc.stderr


def _written(tmp_path, fake_openai, monkeypatch, live: dict | None = None):
    """The free rule written to the registry by `recommend --write` (an offline bound), the ledger still
    showing the API model; with `live`, its evidence record says a live claim backs it instead."""
    monkeypatch.setenv("TW_KEY", "sk-test-audit-0000000000")
    project = _project(tmp_path, fake_openai, evaluate=True)
    from harness.commands import recommend
    from harness.registry import write_registry

    write_registry(project, recommend(project))
    if live is not None:
        path = tmp_path / "registry.evidence.json"
        doc = json.loads(path.read_text())
        doc["tasks"]["t"]["live"] = live
        path.write_text(json.dumps(doc))
    project = load_project(tmp_path)
    _fill(project, LEDGER)
    return project


LIVE = {"incumbent": "openai/fake-model", "incumbent_model": "api", "calls": 500, "disagreements": 2,
        "window_start": "2026-12-01T00:00:00+00:00", "window_end": "2026-12-02T00:00:00+00:00", "upper": 0.021,
        "margin": 0.05, "confidence": 0.95, "offline_upper": 1.0}


def test_the_registry_entry_production_did_not_run_yet_is_projected_with_its_offline_claim(
        tmp_path, fake_openai, monkeypatch):
    result = audit(_written(tmp_path, fake_openai, monkeypatch))
    proj = {p.task: p for p in result.projections}["t"]
    assert (proj.recommended, proj.from_registry, proj.claim) == ("rule", True, "offline bound")
    assert proj.now == pytest.approx(0.08 * 30) and proj.after == 0.0  # the saving the written entry brings
    assert proj.basis.startswith("the registry's entry (production ran ")
    assert [o.task for o in result.opportunities] == ["summary"]  # the entry itself is no opportunity
    text = result.text()
    assert "now $6.00, with the registry's entries and the current recommendation $3.60 (-40%)" in text
    assert "t: rule is backed by offline bound: lower " in text


def test_an_entry_backed_by_live_evidence_is_projected_with_its_live_claim_not_offered_if_it_qualifies(
        tmp_path, fake_openai, monkeypatch):
    result = audit(_written(tmp_path, fake_openai, monkeypatch, live=LIVE))
    proj = {p.task: p for p in result.projections}["t"]
    assert (proj.recommended, proj.claim, proj.after) == ("rule", "live non-inferiority", 0.0)
    assert proj.backing == ("live non-inferiority to api: disagreement upper 0.021 < max_regression 0.05 on 500 "
                            "shadowed calls to 2026-12-02T00:00:00+00:00, at 95% (not an offline bound)")
    assert "  t: rule is backed by live non-inferiority to api: " in result.text()
    assert not [o for o in result.opportunities if o.task == "t"]
    assert "if it qualifies" not in result.text()


def test_an_entry_production_already_runs_stays_unchanged_with_its_claim(tmp_path, fake_openai, monkeypatch):
    project = _written(tmp_path, fake_openai, monkeypatch, live=LIVE)
    with Store(project.store_url()) as store:  # a week later, production runs the rule
        assert store.append_usage([_attempt(f"r{i}", "t", "rule", T0 + 2 * DAY + i, 0.0, 1)
                                   for i in range(10)]).written == 10
    proj = {p.task: p for p in audit(project).projections}["t"]
    assert (proj.ran, proj.from_registry, proj.basis, proj.claim) == ("rule", False, "unchanged", "live non-inferiority")
    assert proj.after == proj.now


def test_a_malformed_evidence_record_is_a_note_not_a_crash(tmp_path, fake_openai, monkeypatch):
    project = _written(tmp_path, fake_openai, monkeypatch, live={"calls": "many"})
    result = audit(project)
    assert any(n.startswith("registry.evidence.json: tasks.t: ") and n.endswith("projected without its claim")
               for n in result.notes)
    assert {p.task: p for p in result.projections}["t"].claim == ""


def test_an_export_naming_the_entry_as_its_provider_does_is_the_entry_running(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("TW_KEY", "sk-test-audit-0000000000")
    project = _project(tmp_path, fake_openai, evaluate=True)
    from harness.commands import recommend
    from harness.registry import write_registry

    (tmp_path / "registry.yaml").write_text(yaml.safe_dump(
        {"tasks": {"t": {"model": "openai/fake-model", "fallbacks": [], "pin": "the provider policy"}}}))
    write_registry(load_project(tmp_path), recommend(load_project(tmp_path)))
    project = load_project(tmp_path)
    _fill(project, [_attempt(f"x{i}", "t", "fake-model", T0 + i, 0.01, 100) for i in range(4)])
    proj = audit(project).projections[0]
    assert (proj.ran, proj.from_registry, proj.claim, proj.after) == ("fake-model", False, "offline bound", proj.now)
