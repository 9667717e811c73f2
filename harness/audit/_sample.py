"""`tierwise audit --sample TASK N`: real inputs worth labelling, written as unlabelled golden-set
candidates (golden_sets/TASK.candidates.jsonl; `tierwise view` labels them).

Which inputs, in this order, each distinct and none already a golden case:

1. **disagreements**: calls a shadow challenger answered differently from production (shadow rows
   with agree false whose challenger answered; client/_shadow.py), newest first. These are the
   calls the promotion bound counts against the challenger: a label on one says which model was
   right, which no agreement count can;
2. **inputs the monitors flag** (audit/_monitors.py), newest first: calls whose answer broke the
   task's contract on some attempt (the contract-failures monitor's events), and, while the
   label-mix monitor is in alarm, calls answered with a label whose share rose (`label rose: X`);
3. **random**: the other captured inputs in a random order (seed: `seed`).

Each line carries `why` (disagreement, contract failure, label rose: X, random), the incumbent's
output and, where the call was shadowed, the challenger's (`challenger`: model, output, outcome).
Inputs come from the usage ledger, so only captured calls qualify (`Client(capture=True)`); the
challenger's output is there when the shadow call was captured too.

Limit: the first two groups are chosen for being hard, so a golden set grown from them is not a
random sample of traffic: its pass rate understates production's, and its label mix (which the
label-mix monitor compares production with) leans toward the flagged labels. Add the `random`
lines to keep the golden set representative; the others are the cases a decision is most
uncertain about.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from ._monitor_rows import output_labels
from ._read import UsageError, from_ledger

ORDER = ("disagreement", "flagged", "random")


def write_sample(project: Any, task: str, n: int, store: str | None = None, out: str | Path | None = None,
                 seed: int | None = None) -> dict[str, Any]:
    """Write up to n captured inputs of a task, disagreements and flagged inputs first, then random
    ones, with the outputs beside each, as unlabelled golden-set candidates (JSONL)."""
    from ..fingerprint import digest
    from ..util import atomic_write

    if n < 1:
        raise UsageError("--sample: N must be at least 1")
    url = project.store_url(store)
    ledger = from_ledger(url)
    calls = _captured_calls(ledger, task)
    if not calls:
        raise UsageError(f"no captured inputs for task {task!r} in the usage ledger; fix: create the client with "
                         f"harness.Client(..., capture=True) so inputs and outputs are kept")
    shadowed = _shadowed(url, task)
    flags = _flags(project, task, ledger, calls)
    newest = sorted(calls, key=lambda c: -(calls[c]["at"] or 0.0))
    disagreements = [c for c in newest if c in shadowed and _disagrees(shadowed[c])]
    flagged = [c for c in newest if c in flags and c not in disagreements]
    rest = [c for c in newest if c not in flags and c not in disagreements]
    random.Random(seed).shuffle(rest)
    known = set()
    if task in project.tasks:
        known = {json.dumps(c.vars, sort_keys=True) for c in project.tasks[task].golden.cases}
    picked: dict[str, dict[str, Any]] = {}
    counts = dict.fromkeys(ORDER, 0)
    in_golden, repeats = set(), 0
    for group, ids in zip(ORDER, (disagreements, flagged, rest)):
        for call_id in ids:
            if len(picked) == n:
                break
            call = calls[call_id]
            key = json.dumps(call["vars"], sort_keys=True)
            if key in known:
                in_golden.add(key)
                continue
            if key in picked:
                repeats += 1
                continue
            line = {"id": f"prod-{digest(call['vars'], 10)}", "vars": call["vars"],
                    "why": "disagreement" if group == "disagreement" else flags.get(call_id, "random"),
                    "incumbent": {"model": call["model"], "output": call["output"]}}
            shadow = shadowed.get(call_id)
            if shadow is not None:
                line["challenger"] = {"model": shadow["challenger"], "output": shadow.get("output"),
                                      "outcome": shadow["outcome"]}
            line["captured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(call["at"] or 0))
            picked[key] = line
            counts[group] += 1
    path = Path(out) if out else project.root / "golden_sets" / f"{task}.candidates.jsonl"
    atomic_write(path, "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in picked.values()))
    why = ""
    if len(picked) < n:  # say where the rest went: "0 of 5" alone reads as a fault
        why = (f"only {len(picked)} distinct new inputs among {len(calls)} captured calls: "
               f"{len(in_golden)} inputs already in the golden set, {repeats} calls repeating an input")
    uncaptured = sum(1 for c, row in shadowed.items() if _disagrees(row) and c not in calls)
    return {"task": task, "path": str(path), "written": len(picked), "asked": n, "why": why, "picked": counts,
            "disagreements_not_captured": uncaptured}


def _captured_calls(ledger: list[dict[str, Any]], task: str) -> dict[str, dict[str, Any]]:
    """call id -> the call's captured input and final answer (model, output, time), oldest first. A
    call every model answered against the contract counts too: its last answer is the one shown."""
    calls: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(ledger):
        if r["task"] != task or not r["final"] or r["outcome"] not in ("ok", "contract_failed") or not r["input"]:
            continue
        calls[r["call_id"] or f"#{i}"] = {"vars": json.loads(r["input"]), "model": r["model"], "output": r["output"],
                                          "at": r["at"]}
    return calls


def _shadowed(url: str, task: str) -> dict[str, dict[str, Any]]:
    """call id -> its latest shadow row."""
    from ..store import Store

    with Store(url) as store:
        return {r["call_id"]: r for r in store.shadow_calls(task)}


def _disagrees(row: dict[str, Any]) -> bool:
    """The challenger answered and differed (a failed challenger call says nothing of the input)."""
    return not row["agree"] and row["outcome"] in ("ok", "contract_failed")


def _flags(project: Any, task: str, ledger: list[dict[str, Any]], calls: dict[str, Any]) -> dict[str, str]:
    """call id -> why the monitors flag it: a contract failure on any attempt, or (while the label-mix
    monitor alarms) an answer in a label whose share rose."""
    flags = {r["call_id"]: "contract failure" for r in ledger
             if r["task"] == task and r["outcome"] == "contract_failed" and r["call_id"] in calls}
    spec = project.tasks[task].spec if task in project.tasks else None
    choices = spec.output.choices if spec is not None and spec.output is not None else None
    if not choices:
        return flags
    from ..decide import label_monitor

    labels, _ = output_labels(ledger, task)
    if not labels:
        return flags
    golden = [str(c.expected) for c in project.tasks[task].golden.cases]
    rose = label_monitor(labels, golden, choices, 1 - spec.confidence).rose
    outside = next((r for r in rose if r not in choices), None)  # the monitor's bucket for answers off the choices
    for call_id, call in calls.items():
        if call["output"] is None:
            continue
        answer = str(call["output"]).strip()
        label = (answer if answer in rose else None) if answer in choices else outside
        if label is not None:
            flags.setdefault(call_id, f"label rose: {label}")
    return flags
