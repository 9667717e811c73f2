"""A task's cascades as decide/_cascade.py reads them: each stage's stored results on the same
cases, turned into per-case scores, deferral signals, costs, latencies and probabilities.

No model is called: a stage's answer on every case is already in the store (every stage is a
candidate of the task, _cascade_spec.py), so the cascade is replayed from those rows. Signals
read from a row: `abstain` (finish_reason "abstain": a python: rule returned None), `contract`
(the output breaks the task's choices or schema, by the same Contract the client enforces), and
`confidence` (the row's probability, 006_result_confidence; NULL defers at every threshold). A
failed call defers too, as the client would move on. `agreement` and `check` are not replayed
yet: a cascade using them is reported as not evaluated, and stays out of the family.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..models import ABSTAINED
from ..project import Task, signal_name
from ._cascade import Cascade, PolicySelection, Stage, select_policies

REPLAYED = ("abstain", "contract", "confidence")


def cascade_inputs(task: Task, groups: dict[str, Any]) -> tuple[list[Cascade], dict[str, str]]:
    """The task's cascades that can be decided, and why each other one cannot (by name)."""
    out: list[Cascade] = []
    skipped: dict[str, str] = {}
    contract = None
    for spec in task.spec.cascades:
        label = spec.label
        other = sorted({signal_name(s) for i in range(len(spec.models)) for s in spec.signals(i)} - set(REPLAYED))
        if other:
            skipped[label] = f"not evaluated: {', '.join(other)} signals are not replayed from stored results yet"
            continue
        rows = [groups.get(m) for m in spec.models]
        missing = [m for m, r in zip(spec.models, rows) if r is None or not len(r)]
        if missing:
            skipped[label] = f"not evaluated: {', '.join(missing)} has no results; run `tierwise run {task.name}`"
            continue
        if any(r["case_id"].duplicated().any() for r in rows):
            skipped[label] = "not evaluated: a stage has repeats; cascades are replayed from one answer per case"
            continue
        cases = set(rows[0]["case_id"])
        for r in rows[1:]:
            cases &= set(r["case_id"])
        if len(cases) < len(task.golden):
            skipped[label] = (f"not evaluated: its stages share {len(cases)} of {len(task.golden)} cases; "
                              f"run `tierwise run {task.name}`")
            continue
        order = sorted(cases)
        if contract is None and any(signal_name(s) == "contract" for i in range(len(spec.models))
                                    for s in spec.signals(i)):
            from ..project import Contract

            contract = Contract(task)
        stages = [_stage(m, r.set_index("case_id").loc[order], spec.signals(i), contract)
                  for i, (m, r) in enumerate(zip(spec.models, rows))]
        out.append(Cascade(label, stages, spec.thresholds, cases=[str(c) for c in order]))
    return out, skipped


def _stage(model: str, rows: Any, signals: list[Any], contract: Any) -> Stage:
    names = {signal_name(s) for s in signals}
    errors = rows["error"].notna().to_numpy()
    defers = errors.copy()
    if "abstain" in names:
        defers |= (rows["finish_reason"] == ABSTAINED).to_numpy()
    if "contract" in names:
        defers |= np.array([not isinstance(o, str) or contract.verdict(o).reason is not None for o in rows["output"]])
    confidence = None
    if "confidence" in names:
        confidence = rows["confidence"].astype(float).to_numpy() if "confidence" in rows else np.full(len(rows), math.nan)
    return Stage(model, rows["score"].fillna(0.0).clip(0, 1).to_numpy(dtype=float), defers,
                 rows["cost"].astype(float).to_numpy(), rows["latency_ms"].fillna(0.0).to_numpy(dtype=float),
                 confidence, errors)


def decide_with_cascades(task: Task, evidence: list[Any], groups: dict[str, Any]) -> PolicySelection:
    """The task's single candidates (`evidence`, _selection.Candidate) and its decidable cascades
    in one family (decide/_cascade.py); the undecidable ones are listed with why."""
    cascades, skipped = cascade_inputs(task, groups)
    selection = select_policies(evidence, cascades, task.spec.threshold, task.spec.confidence)
    selection.skipped.update(skipped)
    return selection
