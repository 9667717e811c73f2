"""The gate refuses evidence no honest run could have written: hand-edited bounds, counts and run
ids, in the recommended model's record or a fallback's, in new files and in files written before
`successes` and `digest` existed (registry/_consistency.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from harness import load_project
from harness.commands import gate, recommend
from harness.registry import write_registry as write
from harness.runner import run
from tests.projfix import cases, spec, write_project

MODELS = {"rule": {"python": "rules:echo"}, "upper": {"python": "rules:upper"}}


def _continuous_cases(n: int) -> list[dict]:
    """Most answers exact, every fourth one with an extra word: token F1 scores of 1 and 0.67."""
    return [{"id": f"c{i:03d}", "vars": {"text": "yes please" if i % 4 == 0 else "yes"}, "expected": "yes"}
            for i in range(n)]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """pass/fail task `t` (rule, fallback upper), continuous task `c`; written by recommend --write."""
    root = tmp_path_factory.mktemp("consistency") / "p"
    specs = {"t": spec("t", candidates=["rule", "upper"], graders=[{"type": "exact", "normalize": ["lower"]}],
                       params={"temperature": 0, "max_tokens": 8}),
             "c": spec("c", candidates=["rule"], graders=[{"type": "token_f1"}],
                       params={"temperature": 0, "max_tokens": 8})}
    write_project(root, models=MODELS, specs=specs, golden={"t": cases(40), "c": _continuous_cases(40)})
    project = load_project(root)
    run(project, progress=False)
    write(project, recommend(project))
    shutil.rmtree(root / ".tierwise")
    return root


@pytest.fixture
def proj(tmp_path, template) -> Path:
    root = tmp_path / "p"
    shutil.copytree(template, root)
    return root


def _evidence(root: Path) -> dict:
    return json.loads((root / "registry.evidence.json").read_text())


def _edit(root: Path, change) -> None:
    doc = _evidence(root)
    change(doc["tasks"])
    (root / "registry.evidence.json").write_text(json.dumps(doc, indent=2))


def _verdict(root: Path, task: str):
    return next(t for t in gate(load_project(root)).tasks if t.task == task)


def test_evidence_as_written_passes_and_carries_counts_and_digest(proj):
    doc = _evidence(proj)["tasks"]
    assert doc["t"]["method"] == "exact" and doc["t"]["successes"] == 40 and doc["t"]["fallbacks"][0]["successes"] == 40
    assert doc["c"]["method"] == "bootstrap" and doc["c"]["successes"] is None
    assert all(len(doc[t]["digest"]) == 16 for t in ("t", "c"))
    assert [_verdict(proj, t).status for t in ("t", "c")] == ["pass", "pass"]


def _set(task: str, path: str, value):
    def change(tasks):
        record = tasks[task]
        *parents, leaf = path.split(".")
        for p in parents:
            record = record[int(p)] if p.isdigit() else record[p]
        record[leaf] = value
    change.task = task
    return change


HAND_EDITS = [
    # (what a hand edit did, the edit, the problem the gate names)
    ("lower raised above the mean", _set("t", "lower", 1.01), r"lower: 1\.01 is not in \[0, 1\]"),
    ("lower raised above the mean", _set("c", "lower", 0.99), r"lower: 0\.99 is above mean 0\.9\d+"),
    ("lower raised, still under the mean", _set("t", "lower", 0.97),
     r"lower: 0\.97 but the exact bound for 40 of 40 cases at 0\.\d+ is 0\.\d+"),
    ("a fallback's lower raised", _set("t", "fallbacks.0.lower", 0.99),
     r"fallbacks\[0\]\.lower: 0\.99 but the exact bound for 40 of 40"),
    ("successes raised", _set("t", "successes", 41), r"successes: 41 is more than n 40"),
    ("mean lowered under its counts", _set("t", "mean", 0.95), r"mean: 0\.95 is not successes/n = 40/40"),
    ("a run id that is not one", _set("t", "run_ids", ["latest"]), r"run_ids: 'latest' is not a run id"),
    ("no run ids", _set("t", "run_ids", []), r"run_ids: empty"),
    ("no cases", _set("c", "n", 0), r"n: 0; evidence needs at least one evaluated case"),
    ("a level above 1 - confidence", _set("t", "level", 0.5), r"level: 0\.5 is not in \(0, 0\.05\]"),
    # what no range check can see, the digest does: a well-formed run id that points nowhere,
    # a continuous score's bound raised but kept under its mean
    ("run ids pointing nowhere", _set("t", "run_ids", ["ffffffffffff"]), r"digest: \w{16} does not match the record"),
    ("a continuous bound raised under its mean", _set("c", "lower", 0.9), r"digest: \w{16} does not match"),
]


@pytest.mark.parametrize("what, edit, says", HAND_EDITS, ids=[h[0] for h in HAND_EDITS])
def test_a_hand_edited_record_fails_the_gate_naming_task_and_field(proj, what, edit, says):
    _edit(proj, edit)
    verdicts = gate(load_project(proj)).tasks
    failed = [t for t in verdicts if t.status == "fail"]
    assert [t.task for t in failed] == [edit.task], [t.line for t in verdicts]
    assert re.search(rf"^evidence for {edit.task} is inconsistent: .*{says}", failed[0].message), failed[0].line
    assert "tierwise gate --rerun" in failed[0].fix


def _old_format(tasks):
    """As a tierwise before this change wrote it: no successes, no digest."""
    for record in tasks.values():
        for r in (record, *record["fallbacks"]):
            r.pop("successes", None)
        record.pop("digest", None)


def test_old_evidence_without_counts_or_digest_still_passes(proj):
    _edit(proj, _old_format)
    assert [_verdict(proj, t).status for t in ("t", "c")] == ["pass", "pass"]


def test_old_evidence_has_its_pass_fail_counts_read_from_the_mean(proj):
    _edit(proj, _old_format)
    _edit(proj, _set("t", "lower", 0.97))
    assert "lower: 0.97 but the exact bound for 40 of 40 cases" in _verdict(proj, "t").message
    _edit(proj, _set("t", "mean", 0.987))  # 39.48 of 40 cases: no pass/fail run gives that
    assert "mean: 0.987 x n 40 is not a whole number of passed cases" in _verdict(proj, "t").message
