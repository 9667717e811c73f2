"""`tierwise audit --sample TASK N` (audit/_sample.py): disagreements with the shadow challenger first,
then inputs the monitors flag, then random ones, each with the outputs seen for it."""

from __future__ import annotations

import json
from collections import Counter

import yaml

from harness import load_project
from harness.audit import write_sample
from harness.commands import audit
from harness.store import Store
from tests.projfix import spec, write_project

T0 = 1_700_000_000.0


def _project(tmp_path, golden_labels=("yes", "no") * 10):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "chal": {"python": "rules:upper"}},
                  specs={"t": spec(candidates=["rule", "chal"], output={"choices": ["yes", "no"]})},
                  golden={"t": [{"id": f"g{i}", "vars": {"text": f"golden {i}"}, "expected": w}
                                for i, w in enumerate(golden_labels)]})
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": {"model": "python:rules:echo"}}}))
    return load_project(tmp_path)


def _call(i, text, output, *, broke_first=False):
    """The ledger rows of one captured call (an escalation after a broken contract when broke_first)."""
    base = {"at": T0 + i, "call_id": f"c{i}", "task": "t", "target": "python:rules:echo", "cost": 0.0,
            "latency_ms": 1.0, "input": json.dumps({"text": text}), "prompt_tokens": None, "completion_tokens": None}
    rows = []
    if broke_first:
        rows.append({**base, "model": "rule", "attempt": 1, "kind": "primary", "outcome": "contract_failed",
                     "final": False, "contract_reason": "not one of the choices", "output": "maybe"})
    rows.append({**base, "model": "rule", "attempt": len(rows) + 1, "kind": "escalation" if broke_first else "primary",
                 "outcome": "ok", "final": True, "output": output})
    return rows


def _shadow(i, agree, output, outcome="ok"):
    return {"at": T0 + i, "call_id": f"c{i}", "task": "t", "incumbent": "rule", "challenger": "chal",
            "outcome": outcome, "agree": agree, "output": output, "incumbent_output": None,
            "error": "boom" if outcome == "error" else None, "cost": 0.0, "latency_ms": 2.0}


def _fill(project, ledger, shadow=()):
    with Store(project.store_url()) as store:
        assert store.append_usage(ledger).written == len(ledger)
        if shadow:
            store.write_shadow_calls(list(shadow))


def _lines(project):
    return [json.loads(x) for x in (project.root / "golden_sets" / "t.candidates.jsonl").read_text().splitlines()]


def test_disagreements_come_first_then_flagged_inputs_then_random_ones_with_both_outputs(tmp_path):
    project = _project(tmp_path)
    ledger = []
    for i in range(10):
        ledger += _call(i, f"input {i}", "yes", broke_first=i in (2, 6))
    shadow = [_shadow(1, False, "no"), _shadow(4, False, "no"), _shadow(5, True, "yes"),
              _shadow(7, False, None, outcome="error"), _shadow(8, False, "perhaps", outcome="contract_failed")]
    _fill(project, ledger, shadow)
    result = write_sample(project, "t", 7, seed=3)
    lines = _lines(project)
    assert [(x["vars"]["text"], x["why"]) for x in lines[:5]] == [
        ("input 8", "disagreement"), ("input 4", "disagreement"), ("input 1", "disagreement"),  # newest first
        ("input 6", "contract failure"), ("input 2", "contract failure")]
    assert [x["why"] for x in lines[5:]] == ["random", "random"]
    assert lines[1]["incumbent"] == {"model": "rule", "output": "yes"}
    assert lines[1]["challenger"] == {"model": "chal", "output": "no", "outcome": "ok"}
    assert lines[0]["challenger"]["outcome"] == "contract_failed"
    # a failed challenger call says nothing about the input: not a disagreement, but its output is shown
    seven = [x for x in lines if x["vars"]["text"] == "input 7"]
    assert not seven or seven[0]["why"] == "random"
    assert result["picked"] == {"disagreement": 3, "flagged": 2, "random": 2} and result["written"] == 7


def test_inputs_answered_in_a_label_whose_share_rose_are_flagged_while_the_monitor_alarms(tmp_path):
    project = _project(tmp_path, golden_labels=("yes", "no") * 20)
    ledger = []
    for i in range(400):  # production answers "no" 19 times in 20 against a golden half and half
        ledger += _call(i, f"input {i}", "no" if i % 20 else "yes")
    _fill(project, ledger)
    write_sample(project, "t", 5, seed=1)
    lines = _lines(project)
    assert [x["why"] for x in lines] == ["label rose: no"] * 5
    assert [x["vars"]["text"] for x in lines] == ["input 399", "input 398", "input 397", "input 396", "input 395"]
    write_sample(project, "t", 400, seed=1)
    assert Counter(x["why"] for x in _lines(project)) == {"label rose: no": 380, "random": 20}


def test_without_an_alarm_no_label_is_flagged(tmp_path):
    project = _project(tmp_path, golden_labels=("yes", "no") * 20)
    ledger = []
    for i in range(40):
        ledger += _call(i, f"input {i}", "no" if i % 2 else "yes")
    _fill(project, ledger)
    write_sample(project, "t", 40, seed=1)
    assert {x["why"] for x in _lines(project)} == {"random"}


def test_the_random_group_is_a_uniform_draw_not_the_newest(tmp_path):
    project = _project(tmp_path)
    ledger = []
    for i in range(4):
        ledger += _call(i, f"input {i}", "yes")
    _fill(project, ledger)
    firsts = Counter()
    for seed in range(400):
        write_sample(project, "t", 1, seed=seed)
        firsts[_lines(project)[0]["vars"]["text"]] += 1
    assert set(firsts) == {f"input {i}" for i in range(4)}
    assert all(70 <= n <= 130 for n in firsts.values()), firsts  # 100 each expected; 3 sd is about 26
    write_sample(project, "t", 4, seed=9)
    again = _lines(project)
    write_sample(project, "t", 4, seed=9)
    assert _lines(project) == again


def test_the_audit_text_says_what_was_picked_and_how_many_disagreements_were_not_captured(tmp_path):
    project = _project(tmp_path)
    ledger = []
    for i in range(3):
        ledger += _call(i, f"input {i}", "yes")
    _fill(project, ledger, [_shadow(1, False, "no"), _shadow(40, False, "no")])  # call c40 was not captured
    result = audit(project, sample=("t", 3), recommendation=False)
    text = result.text()
    assert f"wrote 3 of 3 unlabelled candidates for t to {tmp_path / 'golden_sets' / 't.candidates.jsonl'}: " \
           f"1 disagreeing with the challenger, 2 random;" in text
    assert "1 disagreements with the challenger had no captured input" in text
