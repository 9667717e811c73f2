"""audit/_judge_monitor.py: the task's own llm_judge grades a sampled fraction of the incumbent's
captured live calls (a python rule as the judge), and a one-sided sequential test compares the judged
FAIL rate with the golden set's: no alarm on a null stream, an alarm with its since-when on a degraded
one, judge failures recorded and counted, and nothing imported when there is nothing to judge."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness import Client
from harness.commands import audit
from harness.errors import ConfigError
from harness.fingerprint import live_judge_hash
from harness.project import load_project
from harness.runner import judge_grader, sampled
from harness.store import Store
from tests.projfix import spec, tierwise, write_project

ROOT = Path(__file__).resolve().parents[2]
RULES = '''
import json

def answer(vars):
    if vars["kind"] == "crash":
        return "CRASH the judge"
    return "Sorry, no." if vars["kind"] == "bad" else "Here is the answer you asked for."

def judge(vars):
    """A pass_fail llm_judge verdict: a reply that refuses fails."""
    if "CRASH" in vars["output"]:
        return "not json at all"
    verdict = "fail" if "no." in vars["output"] else "pass"
    return json.dumps({"reason": f"the reply {'refuses' if verdict == 'fail' else 'answers'}", "verdict": verdict})
'''


def _project(root: Path, monitor: dict | None = None, judge: dict | None = None) -> Path:
    models = {"inc": {"python": "rules:answer"}, "judge": judge or {"python": "rules:judge"}}
    golden = [{"id": f"c{i}", "vars": {"text": f"question {i}", "kind": "bad" if i % 10 == 0 else "good"},
               "expected": "an answer"} for i in range(100)]   # 10 of 100 fail the judge
    task = spec("r", prompt={"user": "{{ text }} ({{ kind }})"}, candidates=["inc"], threshold=0.5,
                graders=[{"type": "llm_judge", "judge": "judge", "rubric": "The reply answers the question."}])
    write_project(root, models=models, files={"rules.py": RULES}, specs={"r": task}, golden={"r": golden},
                  config={"monitor": {"r": monitor or {"judge_rate": 1.0, "judge_per_read": 5000}}})
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"r": {"model": "python:rules:answer"}}}))
    return root


def _stream(root: Path, kinds: list[str]) -> None:
    with Client(root, capture=True) as client:
        for i, kind in enumerate(kinds):
            client.complete("r", text=f"live question {i}", kind=kind)
        client.ledger.flush(30)


def _kinds(rng, n: int, bad: float) -> list[str]:
    return ["bad" if u < bad else "good" for u in rng.random(n)]


def _run(root, monkeypatch, capsys):
    code, out, err = tierwise(monkeypatch, capsys, "run", "--project", str(root))
    assert code == 0, out + err


def test_a_null_stream_raises_no_alarm(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    _run(root, monkeypatch, capsys)
    _stream(root, _kinds(np.random.default_rng(0), 600, 0.10))   # the golden set's rate
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--check", "--project", str(root))
    assert code == 0, out + err
    line = next(s for s in out.splitlines() if "judged fails (judge)" in s)
    assert "r: judged fails (judge): OK" in line and "against 10/100 evaluated" in line
    assert "600 of 600 sampled calls judged" in line


def test_a_degraded_stream_alarms_with_since_when_and_a_sample_of_calls(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path, {"judge_rate": 0.5, "judge_per_read": 5000})
    _run(root, monkeypatch, capsys)
    rng = np.random.default_rng(1)
    _stream(root, _kinds(rng, 300, 0.10) + _kinds(rng, 600, 0.40))
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--check", "--project", str(root))
    assert code == 1
    line = next(s for s in err.splitlines() if "judged fails" in s)
    assert "alarm: r: judged fails (judge): ALARM since 20" in line and "against 10/100 evaluated" in line
    assert "fix: re-evaluate the task" in line
    project = load_project(root)
    task = project.tasks["r"]
    with Store(project.store_url()) as store:
        verdicts = store.live_verdicts("r", live_judge_hash(task, judge_grader(task)))
        calls = {r["call_id"] for r in store.usage_rows(["call_id"])}
    assert {c for c in calls if sampled(c, 0.5)} == set(verdicts)   # the sample is the hash's, every read
    assert 380 < len(verdicts) < 520
    row = next(m for m in audit(root).monitors if m.monitor == "judged fails (judge)")
    with Store(project.store_url()) as store:
        times = sorted({r["call_id"]: r["at"] for r in store.usage_rows(["call_id", "at"])}.values())
    assert row.state == "alarm" and row.since >= times[300]   # raised after the drift began, at call 301


def test_each_read_judges_at_most_judge_per_read_and_never_a_call_twice(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path, {"judge_rate": 1.0, "judge_per_read": 50})
    _run(root, monkeypatch, capsys)
    _stream(root, _kinds(np.random.default_rng(2), 80, 0.10))
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--project", str(root))
    assert "50 of 80 sampled calls judged; 30 left for the next read (at most 50 a read)" in out
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--project", str(root))
    assert "80 of 80 sampled calls judged" in out and "left for the next read" not in out


def test_judge_failures_are_recorded_counted_as_fails_and_shown(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    _run(root, monkeypatch, capsys)
    _stream(root, ["good"] * 40 + ["crash"] * 3)
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--project", str(root))
    line = next(s for s in out.splitlines() if "judged fails" in s)
    assert "43 of 43 sampled calls judged; 3 judge failures, counted as fails until judged again" in line
    assert "fails 3/43" in line
    project = load_project(root)
    task = project.tasks["r"]
    with Store(project.store_url()) as store:
        failed = [v for v in store.live_verdicts("r", live_judge_hash(task, judge_grader(task))).values()
                  if v["passed"] is None]
    assert len(failed) == 3 and all("judge error" in v["error"] for v in failed)


def test_without_golden_results_the_monitor_waits_and_says_how_to_get_them(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    _stream(root, ["good"] * 5)
    code, out, err = tierwise(monkeypatch, capsys, "audit", "--check", "--project", str(root))
    assert code == 0
    assert "r: judged fails (judge): PENDING: 5 sampled calls, but no judged golden-set results of inc" in out
    assert "run `tierwise run r`" in out


def test_sampling_is_a_fixed_fraction_decided_by_the_call_id():
    ids = [f"{i:032x}" for i in range(20000)]
    share = np.mean([sampled(c, 0.05) for c in ids])
    assert 0.045 < share < 0.055
    assert [sampled(c, 0.05) for c in ids[:200]] == [sampled(c, 0.05) for c in ids[:200]]
    assert not any(sampled(c, 0.0) for c in ids[:100]) and all(sampled(c, 1.0) for c in ids[:100])


@pytest.mark.parametrize("monitor, match", [
    ({"nope": {"judge_rate": 0.1}}, r"tierwise.yaml: monitor.nope: unknown task 'nope'; known: r"),
    ({"r": {"judge_rate": 1.5}}, r"tierwise.yaml: monitor.r.judge_rate"),
    ({"r": {"judge_rat": 0.1}}, r"tierwise.yaml: monitor.r.judge_rat"),
])
def test_bad_monitor_settings_are_one_clean_error(tmp_path, monitor, match):
    root = _project(tmp_path)
    cfg = yaml.safe_load((root / "tierwise.yaml").read_text())
    cfg["monitor"] = monitor
    (root / "tierwise.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=match):
        load_project(root)


@pytest.mark.parametrize("state", ["uncaptured", "judged"])
def test_plain_audit_with_nothing_to_judge_imports_neither_litellm_nor_llama_cpp(tmp_path, monkeypatch, capsys, state):
    root = _project(tmp_path / "p")
    if state == "judged":  # golden results graded by the python judge, then the catalog's judge made local
        code, out, err = tierwise(monkeypatch, capsys, "run", "--project", str(root))
        assert code == 0, out + err
    gguf = tmp_path / "judge.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    cfg = yaml.safe_load((root / "tierwise.yaml").read_text())
    cfg["models"]["judge"] = {"local": str(gguf), "price": {"per_hour": 1.0}}
    (root / "tierwise.yaml").write_text(yaml.safe_dump(cfg))
    with Client(root, capture=state != "uncaptured") as client:
        for i in range(5):
            client.complete("r", text=f"q{i}", kind="good")
        client.ledger.flush(30)
    project = load_project(root)
    task = project.tasks["r"]
    if state == "judged":  # every sampled call already has its verdict
        judge = live_judge_hash(task, judge_grader(task))
        with Store(project.store_url()) as store:
            store.write_live_verdicts([{"call_id": r["call_id"], "task": "r", "model": "inc", "judge": judge,
                                        "at": r["at"], "judged_at": r["at"], "passed": True, "score": 1.0}
                                       for r in store.usage_rows(["call_id", "at"])])
    code = ("import json, sys\nfrom harness.commands import audit\n"
            "r = audit(sys.argv[1])\n"
            "print(json.dumps([[m for m in ('litellm', 'llama_cpp') if m in sys.modules], "
            "[m.line() for m in r.monitors]]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", code, str(root)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported, lines = json.loads(done.stdout.splitlines()[-1])
    assert imported == []
    judged = [s for s in lines if "judged fails" in s]
    if state == "uncaptured":
        assert judged == []
    else:
        assert len(judged) == 1 and "OK" in judged[0] and "5 of 5 sampled calls judged" in judged[0], lines


HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None


@pytest.mark.requires(HAS_LLAMA, "needs llama_cpp: pip install -e '.[local]'")
def test_a_local_judge_that_cannot_start_fails_every_sampled_call_recorded_and_counted(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path / "p")
    _run(root, monkeypatch, capsys)   # golden results graded by the python judge
    gguf = tmp_path / "judge.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    cfg = yaml.safe_load((root / "tierwise.yaml").read_text())
    cfg["models"]["judge"] = {"local": str(gguf), "price": {"per_hour": 1.0}}
    (root / "tierwise.yaml").write_text(yaml.safe_dump(cfg))
    _stream(root, ["good"] * 4)

    class Unstartable:
        @staticmethod
        def start(*args, **kwargs):
            raise ConfigError("local model 'judge.gguf': sha256 differs; fix: reinstall it")

    monkeypatch.setattr("harness.runner._judge_session.Engines", Unstartable)
    row = next(m for m in audit(root).monitors if m.monitor == "judged fails (judge)")
    assert "4 of 4 sampled calls judged; 4 judge failures, counted as fails until judged again" in row.text
    assert "judge: judge judge could not start: local model 'judge.gguf': sha256 differs" in row.text
    project = load_project(root)
    task = project.tasks["r"]
    with Store(project.store_url()) as store:
        rows = list(store.live_verdicts("r", live_judge_hash(task, judge_grader(task))).values())
    assert len(rows) == 4 and all(v["passed"] is None and "could not start" in v["error"] for v in rows)


def test_a_judge_that_cannot_run_here_leaves_the_monitor_pending_and_says_why(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path / "p")
    _run(root, monkeypatch, capsys)
    cfg = yaml.safe_load((root / "tierwise.yaml").read_text())
    cfg["models"]["judge"] = {"litellm": "openai/gpt-4.1-mini"}
    (root / "tierwise.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _stream(root, ["good"] * 3)
    row = next(m for m in audit(root).monitors if m.monitor == "judged fails (judge)")
    assert row.state == "pending" and "0 of 3 sampled calls judged; not judged: judge judge cannot run here" in row.text
