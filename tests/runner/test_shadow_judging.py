"""runner/_shadow_judging.py with a local (llama.cpp) judge: `recommend` starts it only when there are
shadow pairs to judge, judges them with the real bundled model and stops it; a judge that cannot
start or load fails every pair, recorded and counted; with nothing to judge, neither llama.cpp nor
LiteLLM is imported (by recommend, or by audit and its pairwise monitor)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.commands import recommend
from harness.decide import live_grader
from harness.errors import ConfigError
from harness.fingerprint import live_judge_hash
from harness.project import load_project
from harness.store import Store
from tests.projfix import spec, write_project
from tests.shadowfix import store_pairs

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
needs_llama = pytest.mark.requires(HAS_LLAMA, "needs llama_cpp: pip install -e '.[local]'")
ROOT = Path(__file__).resolve().parents[2]

RULES = '''
def big(vars):
    return f"The answer to {vars['text']} is forty-two."

def small(vars):
    return f"{vars['text']}: 42"
'''


def make(root: Path, judge: dict) -> Path:
    """A judged reply task (big the incumbent, small the challenger), never run: only live pairs."""
    models = {"big": {"python": "rules:big", "price": {"per_call": 0.002}},
              "small": {"python": "rules:small", "price": {"per_call": 0.0001}}, "judge": judge}
    task = spec("reply", prompt={"user": "Answer briefly: {{ text }}"}, graders=[{"type": "pairwise", "judge": "judge"}],
                threshold=0.75, max_regression=0.15, candidates=["big", "small"])
    golden = [{"id": f"c{i}", "vars": {"text": f"question {i}"}, "expected": f"The answer to question {i} is forty-two."}
              for i in range(4)]
    write_project(root, models=models, specs={"reply": task}, golden={"reply": golden}, files={"rules.py": RULES})
    (root / "registry.yaml").write_text("tasks: {}\n")
    return root


def shadow(root: Path, n: int, capture: bool = True) -> None:
    """n shadow pairs (small against big) with the call's input in the usage ledger."""
    texts = [f"what is six times seven, asked the {i}th time" for i in range(n)]
    store_pairs(load_project(root).store_url(),
                [({"text": t}, f"The answer to {t} is forty-two.", f"{t}: 42") for t in texts], capture)


def verdicts(root: Path) -> list[dict]:
    project = load_project(root)
    task = project.tasks["reply"]
    with Store(project.store_url()) as store:
        return list(store.shadow_verdicts("reply", live_judge_hash(task, live_grader(task))).values())


def notes(root: Path) -> list[str]:
    return recommend(load_project(root)).decisions[0].notes


def gguf(tmp_path: Path) -> dict:
    """A local judge whose weights file exists but is not a model llama.cpp can load."""
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 60)
    return {"local": str(path), "price": {"per_hour": 1.0}}


@needs_llama
@pytest.mark.parametrize("state", ["uncaptured", "judged"])
def test_with_nothing_to_judge_recommend_imports_neither_llama_cpp_nor_litellm(tmp_path, state):
    root = make(tmp_path / "p", gguf(tmp_path))
    shadow(root, 3, capture=state != "uncaptured")
    if state == "judged":  # every pair already has its verdict
        project = load_project(root)
        task = project.tasks["reply"]
        with Store(project.store_url()) as store:
            store.write_shadow_verdicts([{"shadow_id": r["id"], "task": "reply", "judge": live_judge_hash(task, live_grader(task)),
                                          "judged_at": time.time(), "outcome": "tie", "orders": None, "error": None,
                                          "eval_cost": 0.0} for r in store.shadow_calls("reply")])
    code = ("import json, sys\nfrom harness.commands import recommend\nfrom harness.project import load_project\n"
            "d = recommend(load_project(sys.argv[1])).decisions[0]\n"
            "from harness.commands import audit\n"  # audit's recommendation and its pairwise monitor too
            "shown = [m.line() for m in audit(load_project(sys.argv[1])).monitors]\n"
            "print(json.dumps([[m for m in ('litellm', 'llama_cpp') if m in sys.modules], d.notes, shown]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", code, str(root)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported, said, shown = json.loads(done.stdout.splitlines()[-1])
    assert imported == []
    assert not any("judged" in n and "new shadow pairs" in n for n in said)
    assert [m.split(": ")[:3] for m in shown] == [["reply", "shadow small", "PENDING"]]
    assert ("in 3 judged pairs" if state == "judged" else "3 shadow pairs have no stored answers") in shown[0]


@needs_llama
def test_a_judge_that_cannot_start_fails_every_pair_recorded_and_counted(tmp_path, monkeypatch):
    root = make(tmp_path / "p", gguf(tmp_path))
    shadow(root, 3)

    class Unstartable:
        @staticmethod
        def start(*args, **kwargs):
            raise ConfigError("local model 'broken.gguf': sha256 differs; fix: reinstall it")

    monkeypatch.setattr("harness.runner._judge_session.Engines", Unstartable)
    said = notes(root)
    assert any("judge judge could not start: local model 'broken.gguf': sha256 differs" in n for n in said)
    assert any("judged 3 new shadow pairs" in n and "3 judge failures, counted against the challenger" in n for n in said)
    rows = verdicts(root)
    assert len(rows) == 3 and all(v["outcome"] is None and "could not start" in v["error"] for v in rows)
    monkeypatch.undo()  # the next read asks again (the weights still do not load: failures again, each recorded)
    again = notes(root)
    assert any("judged 3 new shadow pairs" in n and "3 judge failures" in n for n in again)
    assert all("could not start" not in v["error"] for v in verdicts(root))


@needs_llama
def test_weights_llama_cpp_cannot_load_fail_each_pair_with_the_reason(tmp_path):
    root = make(tmp_path / "p", gguf(tmp_path))
    shadow(root, 2)
    said = notes(root)
    assert any("judged 2 new shadow pairs" in n and "2 judge failures" in n for n in said)
    rows = verdicts(root)
    assert len(rows) == 2 and all(v["outcome"] is None and "Failed to load model" in v["error"] for v in rows)
    assert not [t for t in threading.enumerate() if t.name.startswith("tierwise-llama")]  # the engine stopped


@pytest.mark.slow
@needs_llama
def test_recommend_judges_live_pairs_with_the_bundled_local_model_and_stops_it(tmp_path):
    root = make(tmp_path / "p", {"local": "smollm2-135m-instruct", "price": {"per_hour": 3600.0}})
    shadow(root, 2)
    said = notes(root)
    judged = next(n for n in said if n.startswith("judged 2 new shadow pairs"))
    assert "(4 judge calls, $" in judged  # both orders of each pair, priced by the judge's compute time
    rows = verdicts(root)
    assert len(rows) == 2
    for v in rows:  # a verdict over both orders, or a failure with its reason: never silent
        assert (v["outcome"] in ("win", "tie", "loss") and len(json.loads(v["orders"])) == 1) or v["error"]
    assert not [t for t in threading.enumerate() if t.name.startswith("tierwise-llama")]  # the engine stopped
    failed = sum(v["outcome"] is None for v in rows)  # the next read asks only the failed pairs again
    again = [n for n in notes(root) if n.startswith("judged ")]
    assert [n.split(" new")[0] for n in again] == ([f"judged {failed}"] if failed else [])
