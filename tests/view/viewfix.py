"""A small project for the view's tests: a graded task `t` (two python candidates that disagree,
golden-set candidates drafted as `audit --sample` writes them), a judged task `j` (a python
judge, a candidate whose output carries markup) and, with `pairwise=True`, a task `p` graded by a
blind comparison with the reference (a python judge that prefers the answer saying "good").
Every path under the given root."""

from __future__ import annotations

import json
from pathlib import Path

from tests.projfix import spec, write_project

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"

RULES = '''
import json

def judge(v):
    verdict = "pass" if "good" in v["output"] else "fail"
    return json.dumps({"reason": "judge says " + verdict + " <b>bold</b>", "verdict": verdict})

def evil(v):
    return v["text"] + " EVIL"

def echo(v):
    return v["text"]

def shout(v):
    return v["text"].upper()

def prefers_good(v):
    a_good, b_good = "good" in v["A"], "good" in v["B"]
    winner = "tie" if a_good == b_good else "A" if a_good else "B"
    return json.dumps({"reason": winner + " is more helpful", "winner": winner})
'''.replace("EVIL", EVIL.replace('"', '\\"'))


def view_project(root: Path, *, labels: str | None = None, drafted: int = 6, pairwise: bool = False,
                 limit: int | None = None) -> Path:
    """Write and run the project; `labels` is the judged task's judge.labels (None: not set);
    `limit`: run only the first cases of each task (a run that stopped early)."""
    from harness.project import load_project
    from harness.runner import run

    judged = spec("j", candidates=["evil", "echo"], threshold=0.5,
                  graders=[{"type": "llm_judge", "rubric": "Is it good?", "judge": "judge"}])
    files = {}
    if labels is not None:  # the file must exist with a label for the spec to load: one person's verdict
        judged["judge"] = {"labels": labels}
        files[labels] = json.dumps({"case": "j00", "model": "echo", "verdict": "fail", "by": "seed"}) + "\n"
    words = ["yes", "no", "Yes", "NO", "maybe", "Maybe", "ok", "OK"]
    specs = {"t": spec(candidates=["echo", "shout"], graders=[{"type": "exact", "normalize": ["strip"]}]), "j": judged}
    golden = {"t": [{"id": f"c{i}", "vars": {"text": w}, "expected": w} for i, w in enumerate(words)],
              "j": [{"id": f"j{i:02d}", "vars": {"text": f"{'good' if i % 3 else 'bad'} {i}"}} for i in range(12)]}
    if pairwise:
        specs["p"] = spec("p", candidates=["evil", "echo"], threshold=0.5,
                          graders=[{"type": "pairwise", "judge": "pjudge", "against": "reference"}])
        golden["p"] = [{"id": f"p{i:02d}", "vars": {"text": f"{'good' if i % 2 else 'plain'} {i}"},
                        "expected": f"good reference {i}"} for i in range(6)]
    write_project(
        root,
        models={"echo": {"python": "vrules:echo"}, "shout": {"python": "vrules:shout", "price": {"per_call": 0.001}},
                "evil": {"python": "vrules:evil"}, "judge": {"python": "vrules:judge"},
                "pjudge": {"python": "vrules:prefers_good"}},
        specs=specs,
        golden=golden,
        files={**files, "vrules.py": RULES,
               "golden_sets/t.candidates.jsonl": "".join(
                   json.dumps({"id": f"prod-{i}", "vars": {"text": f"new input {i}"},
                               "incumbent": {"model": "echo", "output": f"answer {i} {EVIL if i == 0 else ''}"},
                               "captured_at": "2025-01-01T00:00:00Z"}) + "\n" for i in range(drafted))})
    run(load_project(root), limit=limit, progress=False)
    return root


def rerun_saying_no(root: Path, group: str | None = None) -> str:
    """Run again with `echo` saying "no" to everything: on task t only case c1 ("no") still passes."""
    from harness.project import load_project
    from harness.runner import run

    rules = root / "vrules.py"
    rules.write_text(rules.read_text().replace('def echo(v):\n    return v["text"]', 'def echo(v):\n    return "no"'))
    return run(load_project(root), run_group=group, progress=False).run_id


SLOW_RULES = '''
import os, time

def quick(v):
    return v["text"]

def slow(v):
    """Answers cases x0-x3 at once; the rest wait for the file `go` (at most 60 s)."""
    if int(v["text"][1:]) >= 4:
        end = time.time() + 60
        while not os.path.exists(os.path.join(os.path.dirname(__file__), "go")) and time.time() < end:
            time.sleep(0.05)
    return v["text"]
'''


def slow_project(root: Path) -> Path:
    """Task t: `quick` answers at once, `slow` answers four cases and waits for the file `go`."""
    return write_project(root, models={"quick": {"python": "prules:quick"}, "slow": {"python": "prules:slow"}},
                         config={"timeout_s": 120},
                         specs={"t": spec(candidates=["quick", "slow"]), "u": spec("u", candidates=["quick"])},
                         golden={"t": [{"id": f"c{i}", "vars": {"text": f"x{i}"}, "expected": f"x{i}"} for i in range(10)],
                                 "u": [{"id": "u0", "vars": {"text": "x0"}, "expected": "x0"}]},
                         files={"prules.py": SLOW_RULES})


def run_in_background(root: Path, *args: str):
    """`tierwise run ARGS` in another process (the view only shows runs whose process is alive)."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.Popen([sys.executable, "-c", "from harness.cli import main; main()", "run", *args],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
