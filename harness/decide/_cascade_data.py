"""A task's cascades as decide/_cascade.py reads them: each stage's stored results on the same
cases, turned into per-case scores, deferral signals, costs, latencies and probabilities.

No model is called: a stage's answer on every case is already in the store (every stage is a
candidate of the task, _cascade_spec.py), so the cascade is replayed from those rows, the way
harness.Client runs it (client/_cascade.py). Signals read from a row:

- `abstain`: finish_reason "abstain" (a python: rule returned None);
- `contract`: the output breaks the task's choices or schema, by the same Contract the client enforces;
- `confidence`: the row's probability (007_result_confidence, recorded where the calls asked for
  log-probabilities, models/_contract.py); NULL defers at every threshold;
- `{check: python:module:fn}`: the verifier is called on the stored output, `fn(vars, output)`
  with the case's vars; False, None, an exception or no return within grade_timeout_s defers, as at
  call time (an abandonable worker with a deadline, harness/deadline.py, as a custom grader runs);
  each timed-out case is counted in the selection's notes, never passed over in silence;
- `{agreement: m}`: the stage's stored repeats of the case are its k samples (the task's
  `repeats`, which the registry entry writes as `of: k`); it defers unless m of the answers that
  keep the contract agree (compared as the contract reads them, Verdict.answer_key). The answer is
  the first agreeing sample (score, output, probability); its cost the k samples' sum and its
  latency their maximum (the client calls them at once); it failed when all k did.

A failed call defers too, as the client would move on. A stage without an agreement signal is
asked once at call time, so with repeats its replay reads one sample per case: the first by call
key (a hash, so the choice is fixed before any score is seen); the task's single candidates keep
the mean of their repeats.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..models import ABSTAINED
from ..project import Contract, Task, import_check, signal_name
from ._cascade import Cascade, PolicySelection, Stage, select_policies

REPLAYED = ("abstain", "contract", "confidence", "agreement", "check")


def cascade_inputs(task: Task, groups: dict[str, Any], check_timeout_s: float
                   ) -> tuple[list[Cascade], dict[str, str], list[str]]:
    """The task's cascades that can be decided, why each other one cannot (by name), and notes
    (verifiers that timed out). A `check` verifier is abandoned after `check_timeout_s` seconds."""
    out: list[Cascade] = []
    skipped: dict[str, str] = {}
    notes: list[str] = []
    contract = None
    for spec in task.spec.cascades:
        label = spec.label
        signals = [spec.signals(i) for i in range(len(spec.models))]
        other = sorted({signal_name(s) for sig in signals for s in sig} - set(REPLAYED))
        if other:
            skipped[label] = f"not evaluated: {', '.join(other)} signals are not replayed from stored results yet"
            continue
        rows = [groups.get(m) for m in spec.models]
        missing = [m for m, r in zip(spec.models, rows) if r is None or not len(r)]
        if missing:
            skipped[label] = f"not evaluated: {', '.join(missing)} has no results; run `tierwise run {task.name}`"
            continue
        cases = set(rows[0]["case_id"])
        for r in rows[1:]:
            cases &= set(r["case_id"])
        if len(cases) < len(task.golden):
            skipped[label] = (f"not evaluated: its stages share {len(cases)} of {len(task.golden)} cases; "
                              f"run `tierwise run {task.name}`")
            continue
        order = sorted(cases)
        if contract is None and any(signal_name(s) in ("contract", "agreement") for sig in signals for s in sig):
            contract = Contract(task)
        stages = [_stage(task, label, m, r, order, sig, contract, check_timeout_s, notes)
                  for m, r, sig in zip(spec.models, rows, signals)]
        out.append(Cascade(label, stages, spec.thresholds, cases=[str(c) for c in order]))
    return out, skipped, notes


def _stage(task: Task, label: str, model: str, frame: Any, order: list[Any], signals: list[Any],
           contract: Any, check_timeout_s: float, notes: list[str]) -> Stage:
    names = {signal_name(s) for s in signals}
    agree = max((s.agreement for s in signals if signal_name(s) == "agreement"), default=0)
    if "call_key" in frame:
        frame = frame.sort_values("call_key", kind="stable")
    if agree:
        rows, disagree = _agreeing(frame, order, agree, contract)
    else:
        rows, disagree = frame.drop_duplicates("case_id").set_index("case_id").loc[order], None
    errors = rows["error"].notna().to_numpy()
    abstained = (rows["finish_reason"] == ABSTAINED).to_numpy()
    defers = errors.copy()
    if disagree is not None:
        defers |= disagree
    if "abstain" in names:
        defers |= abstained
    if "contract" in names:
        defers |= np.array([not isinstance(o, str) or contract.verdict(o).reason is not None for o in rows["output"]])
    for signal in signals:
        if signal_name(signal) == "check":
            fn = _verifier(task, label, model, signal.check)
            variables = {c.id: c.vars for c in task.golden.cases}
            answered = ~errors & ~abstained
            verdicts = [_passes(fn, variables[case], out, check_timeout_s) if a else True
                        for a, case, out in zip(answered, rows.index, rows["output"])]
            defers |= np.array([v is not True for v in verdicts], dtype=bool)
            timed_out = sum(v is None for v in verdicts)
            if timed_out:
                notes.append(f"cascade {label}: stage {model}: check {signal.check} timed out on {timed_out} of "
                             f"{int(answered.sum())} answers (over {check_timeout_s:g} s, grade_timeout_s in "
                             f"tierwise.yaml); counted as failed checks (the stage defers), as the client would")
    confidence = None
    if "confidence" in names:
        confidence = rows["confidence"].astype(float).to_numpy() if "confidence" in rows else np.full(len(rows), math.nan)
    return Stage(model, rows["score"].fillna(0.0).clip(0, 1).to_numpy(dtype=float), defers,
                 rows["cost"].astype(float).to_numpy(), rows["latency_ms"].fillna(0.0).to_numpy(dtype=float),
                 confidence, errors)


def _agreeing(frame: Any, order: list[Any], agree: int, contract: Any) -> tuple[Any, np.ndarray]:
    """One row per case for a stage that samples k times: the first agreeing answer (else its
    first sample), with the k samples' summed cost and longest latency; and whether fewer than
    `agree` of the answers that keep the contract agree."""
    by_case = dict(tuple(frame.groupby("case_id", sort=False)))
    picked, disagree = [], []
    for case in order:
        samples = by_case[case]
        ok = samples[samples["error"].isna() & (samples["finish_reason"] != ABSTAINED)]
        keys = [_answer_key(contract, o) for o in ok["output"]]
        counts = Counter(k for k in keys if k is not None)
        top, count = counts.most_common(1)[0] if counts else (None, 0)
        row = (ok.iloc[keys.index(top)] if counts else (ok.iloc[0] if len(ok) else samples.iloc[0])).copy()
        row["cost"] = float(samples["cost"].astype(float).sum(min_count=len(samples)))  # unknown if any is
        row["latency_ms"] = float(samples["latency_ms"].fillna(0.0).max())
        picked.append(row)
        disagree.append(count < agree)
    rows = pd.DataFrame(picked)
    rows.index = pd.Index(order, name="case_id")
    return rows, np.array(disagree, dtype=bool)


def _answer_key(contract: Any, output: Any) -> str | None:
    if not isinstance(output, str):
        return None
    verdict = contract.verdict(output)
    return verdict.answer_key if verdict.reason is None else None


def _verifier(task: Task, label: str, model: str, path: str) -> Callable[[dict[str, Any], str], Any]:
    try:
        return import_check(path)
    except ValueError as exc:
        raise SpecError(f"{task.path}: cascade {label!r}: stage {model}: defer check: {exc}") from None


def _passes(fn: Callable[[dict[str, Any], str], Any], variables: dict[str, Any], output: Any,
            timeout_s: float) -> bool | None:
    """The verifier's verdict on a stored answer, as the client applies it: False, None or an
    exception is a failed check (False); no return within `timeout_s` is one too (None, counted)."""
    from ..deadline import DeadlineExceeded, call_with_deadline

    try:
        passed = call_with_deadline(lambda: fn(dict(variables), output or ""), timeout_s)
    except DeadlineExceeded:
        return None
    except Exception:  # noqa: BLE001 - a crashing verifier is a failed check, as at call time
        return False
    return passed is not False and passed is not None


def decide_with_cascades(task: Task, evidence: list[Any], groups: dict[str, Any],
                         check_timeout_s: float) -> PolicySelection:
    """The task's single candidates (`evidence`, _selection.Candidate) and its decidable cascades
    in one family (decide/_cascade.py); the undecidable ones are listed with why."""
    cascades, skipped, notes = cascade_inputs(task, groups, check_timeout_s)
    selection = select_policies(evidence, cascades, task.spec.threshold, task.spec.confidence)
    selection.skipped.update(skipped)
    selection.notes.extend(notes)
    return selection
