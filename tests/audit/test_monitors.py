"""`tierwise audit`'s live monitors: shadow promotion state, label-mix alarm, `--check`'s exit code."""

from __future__ import annotations

import numpy as np
import yaml

from harness import Client
from tests.projfix import spec, tierwise, write_project

RULES = '''
def say(vars):
    return vars["label"]

def echo_mostly(vars):
    return vars["label"] if vars.get("odd") != "1" else "technical"
'''
LABELS = ["billing", "technical"]


def _project(root):
    models = {"inc": {"python": "rules:say"}, "chal": {"python": "rules:echo_mostly"}}
    golden = [{"id": f"c{i}", "vars": {"label": LABELS[i % 2]}, "expected": LABELS[i % 2]} for i in range(100)]
    write_project(root, models=models, files={"rules.py": RULES},
                  config={"shadow": {"t": {"challenger": "chal", "rate": 1.0, "queue": 5000}}},
                  specs={"t": spec(candidates=["inc", "chal"], prompt={"user": "{{ label }}"},
                                   output={"choices": LABELS}, max_regression=0.05)},
                  golden={"t": golden})
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": {"model": "python:rules:say"}}}))
    return root


def _stream(root, labels, odd_every=0):
    with Client(root, capture=True) as client:
        for i, label in enumerate(labels):
            client.complete("t", label=label, odd="1" if odd_every and i % odd_every == 0 else "0")
        client.shadow.drain(30)
        client.ledger.flush(30)


def test_a_label_mix_shift_raises_an_alarm_that_check_reports_with_exit_1(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    rng = np.random.default_rng(0)
    _stream(root, list(rng.choice(LABELS, 400)) + ["billing"] * 400)
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--check", "--project", str(root))
    assert code == 1
    assert "t: label mix: ALARM since 20" in err and ("billing rose" in err or "technical fell" in err)
    assert "fix: add recent production cases to the golden set" in err
    assert "Live monitors:" in out
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--project", str(root))
    assert code == 0 and "label mix: ALARM" in out and "alarm:" not in err  # without --check: shown, exit 0


def test_no_drift_no_alarm_and_a_close_challenger_is_promoted(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    rng = np.random.default_rng(1)
    _stream(root, list(rng.choice(LABELS, 800)), odd_every=200)   # the challenger differs on 1 call in 200 at most
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--check", "--project", str(root))
    assert code == 0, err
    assert "t: label mix: OK" in out
    assert "t: shadow chal: PROMOTED since 20" in out and "non-inferior on live traffic" in out


def test_rising_contract_failures_alarm_against_the_evaluated_rate(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    code, out, err = tierwise(monkeypatch, capsys, "run", "--project", str(root))   # stores the evaluated results
    assert code == 0, out + err
    rng = np.random.default_rng(2)
    labels = list(rng.choice(LABELS, 300)) + [("garbage" if u < 0.2 else LABELS[i % 2])
                                              for i, u in enumerate(rng.random(400))]
    _stream(root, labels)
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--check", "--project", str(root))
    assert code == 1
    assert "t: contract failures: ALARM since 20" in err and "against 0/100 evaluated" in err
    assert "t: provider errors: OK" in out
