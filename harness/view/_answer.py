"""An answer from the label page, written: the item is found again on the server (the page only
holds an opaque key, so it cannot name a file, a model or an output), and one line is appended
(view/_append.py) with who answered and when.

Undo appends a retraction line, never rewrites a line: `{"case", "model", "output", "retract":
true, "by", "at"}` in a labels file, `{"id", "retract": true, "by", "at"}` in a golden set (the
loaders, project/_labels.py and project/_golden.py, drop what a later retraction names). Only
the person's own answer can be undone: the live line for the item must be theirs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import TierwiseError
from ._append import append_line
from ._queue import (
    blind_order,
    item_key,
    judge_rows,
    labels_target,
    now_iso,
    pair_outputs,
    pairwise_of,
    read_jsonl,
)

RETRACT = {"retract": True}


class NotInQueue(TierwiseError):
    """The answered item is not (or no longer) in the queue."""


class BadExpected(TierwiseError):
    """The expected value does not fit the task's graders (it would break the golden set)."""


class AlreadyAnswered(TierwiseError):
    """Someone answered this item first (another tab, another person)."""


class NothingToUndo(TierwiseError):
    """The item has no live answer by this person to take back."""


def answer_judge(project: Any, frame: Any, key: str, verdict: str, who: str) -> Path:
    """Append a person's pass/fail verdict on the output the key names to the task's labels file."""
    if verdict not in ("pass", "fail"):
        raise NotInQueue(f"verdict must be pass or fail, got {verdict!r}")
    task, row, _ = _judged_row(project, frame, key)
    record = {"case": row["case"], "model": row["model"], "output": row["output"], "verdict": verdict}
    return _append_verdict(project, task, row, record, who)


CHOICES = {"1": 0, "2": 1, "tie": None}


def answer_pairwise(project: Any, frame: Any, key: str, choice: Any, who: str) -> Path:
    """Append a person's blind choice between the two answers the key names ("1", "2" as shown, or
    "tie") to the labels file, as the pass/fail verdict the task's pairwise grader would give."""
    if choice not in CHOICES:
        raise NotInQueue(f'choice must be "1", "2" or "tie", got {choice!r}')
    task, row, rows = _judged_row(project, frame, key)
    pair = pairwise_of(task)
    case = next((c for c in task.golden.cases if c.id == row["case"]), None)
    if pair is None or case is None or pair.reference(case, pair_outputs(pair, rows).get(row["case"], {})) is None:
        raise NotInQueue(f"{key}: not a blind comparison of the current results (reload the page)")
    picked = CHOICES[choice]
    outcome = "tie" if picked is None else "win" if blind_order(key)[picked] == 0 else "loss"
    other = "the reference" if pair.against == "reference" else f"{pair.against}'s output"
    preferred = {"win": "this output", "loss": other, "tie": "neither (equally good)"}[outcome]
    record = {"case": row["case"], "model": row["model"], "output": row["output"], "verdict": pair.verdict(outcome),
              "note": f"blind comparison with {other}: preferred {preferred} (pairwise rate {pair.rate})"}
    return _append_verdict(project, task, row, record, who)


def _judged_row(project: Any, frame: Any, key: str) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """(the task, the judged output the key names, every judged output of the task)."""
    kind, task_name, _, case = _split(key, 4)
    task = project.tasks.get(task_name)
    rows = judge_rows(frame[frame["task"] == task_name] if task is not None and frame is not None and len(frame)
                      else None)
    row = next((r for r in rows if r["case"] == case
                and item_key(task_name, case, r["model"], r["output"], kind) == key), None)
    if row is None:
        raise NotInQueue(f"{key[:120]!r}: no such output in the current results (re-run or reload the page)")
    return task, row, rows


def _append_verdict(project: Any, task: Any, row: dict[str, Any], record: dict[str, Any], who: str) -> Path:
    """Append one verdict line (with who and when) unless this output already has one."""
    case = row["case"]
    record = {**record, "by": who, "at": now_iso()}

    def check(lines: list[str]) -> None:
        if _live_verdicts(lines, row):
            raise AlreadyAnswered(f"case {case}: this output already has a verdict in the labels file")

    return append_line(project.root, labels_target(project, task), record, check)


def _live_verdicts(lines: list[str], row: dict[str, Any]) -> list[dict[str, Any]]:
    """The labels file's lines on this output (same case, model and output) no retraction took back."""
    from ..project import label_identity, live_lines

    me = (row["case"], row["model"], row["output"].strip())
    return [obj for _, _, obj in live_lines(((i, "", o) for i, o in enumerate(_objects(lines))), strict=False)
            if label_identity(obj) == me]


def undo(project: Any, frame: Any, key: str, who: str) -> Path:
    """Take back `who`'s answer to the item `key` names: append a retraction line to the file the
    answer went to. NothingToUndo when the item has no live answer of theirs."""
    kind = _split(key, 3)[0] if key.startswith("golden:") else _split(key, 4)[0]
    if kind == "golden":
        return _undo_golden(project, key, who)
    task, row, _ = _judged_row(project, frame, key)
    record = {"case": row["case"], "model": row["model"], "output": row["output"], **RETRACT, "by": who,
              "at": now_iso()}

    def check(lines: list[str]) -> None:
        live = _live_verdicts(lines, row)
        if not live:
            raise NothingToUndo(f"case {row['case']}: this output has no verdict to undo (reload the page)")
        if live[-1].get("by") != who:
            raise NothingToUndo(f"case {row['case']}: the verdict on this output is {str(live[-1].get('by'))[:100]!r}'s, "
                                f"not yours; undo takes back only your own answers")

    return append_line(project.root, labels_target(project, task), record, check)


def _undo_golden(project: Any, key: str, who: str) -> Path:
    _, task_name, case = _split(key, 3)
    task = project.tasks.get(task_name)
    if task is None:
        raise NotInQueue(f"{key[:80]!r}: no such task in the project (reload the page)")
    golden = task.spec.golden_set
    path = Path(golden) if Path(golden).is_absolute() else project.root / golden

    def check(lines: list[str]) -> None:
        live = _live_cases(lines).get(case)
        if live is None:
            raise NothingToUndo(f"case {case} is not in the golden set: nothing to undo (reload the page)")
        if (live.get("metadata") or {}).get("labelled_by") != who:
            raise NothingToUndo(f"case {case} was not added by you in the view; undo takes back only your own "
                                f"answers (edit {golden} to remove it)")

    return append_line(project.root, path, {"id": case, **RETRACT, "by": who, "at": now_iso()}, check)


def _live_cases(lines: list[str]) -> dict[str, dict[str, Any]]:
    """id -> the golden-set line that gives it, retracted cases left out (project/_golden.py's rule)."""
    live: dict[str, dict[str, Any]] = {}
    for obj in _objects(lines):
        if obj.get("retract") is True:
            live.pop(str(obj.get("id")), None)
        elif "id" in obj:
            live.setdefault(str(obj["id"]), obj)
    return live


def answer_golden(project: Any, key: str, expected: Any, who: str) -> Path:
    """Append a drafted production input, with the expected value a person gave, to the golden set."""
    _, task_name, case = _split(key, 3)
    task = project.tasks.get(task_name)
    drafted = project.root / "golden_sets" / f"{task_name}.candidates.jsonl"
    entry = next((e for e in read_jsonl(drafted) if e.get("id") == case), None) if task is not None else None
    if entry is None or not isinstance(entry.get("vars"), dict):
        raise NotInQueue(f"{key}: not a drafted case of {drafted.name}")
    if expected is None or expected == "":
        raise NotInQueue("an expected value is needed; fix: pick an output or type one")
    _check_expected(task, expected)
    record = {"id": case, "vars": entry["vars"], "expected": expected,
              "metadata": {"labelled_by": who, "labelled_at": now_iso(), "source": "audit --sample"}}

    def check(lines: list[str]) -> None:
        if case in _live_cases(lines):
            raise AlreadyAnswered(f"case {case} is already in the golden set")

    golden = task.spec.golden_set
    return append_line(project.root, Path(golden) if Path(golden).is_absolute() else project.root / golden,
                       record, check)


def _check_expected(task: Any, expected: Any) -> None:
    """Refuse an expected value a grader of the task cannot use: written, it would stop the
    project from loading (the check `load_project` makes on every case)."""
    from ..graders import expected_problem

    output_spec = task.spec.output.model_dump(exclude_none=True) if task.spec.output else None
    for i, grader in enumerate(task.graders):
        problem = expected_problem(grader, expected, output_spec)
        if problem:
            raise BadExpected(f"the expected value: {problem} (graders[{i}] of evals/{task.name}.yaml); "
                              f"fix: give a value that grader can use")


def _split(key: str, parts: int) -> list[str]:
    pieces = key.split(":", parts - 1) if isinstance(key, str) else []
    if len(pieces) != parts or pieces[0] not in ("judge", "pair", "golden"):
        raise NotInQueue(f"{str(key)[:120]!r}: not an item key of this page")
    return pieces


def _objects(lines: list[str]):
    for line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield obj
