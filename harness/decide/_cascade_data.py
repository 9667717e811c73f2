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
from dataclasses import replace
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
    contract = _contract_for(task)
    for spec in task.spec.cascades:
        label = spec.label
        walk = _walk(task, spec, groups, contract, check_timeout_s, notes)
        if isinstance(walk, str):
            skipped[label] = walk
            continue
        stages, missing = walk
        if missing:
            need = sum(len(c) for c in missing.values())
            skipped[label] = (f"not evaluated: {', '.join(sorted(missing))} lack{'s' if len(missing) == 1 else ''} "
                              f"{need} result{'s' if need != 1 else ''} on cases the cascade reaches; "
                              f"run `tierwise run {task.name}`")
            continue
        out.append(Cascade(label, stages, spec.thresholds, cases=list(_case_ids(task))))
    return out, skipped, notes


def cascade_needs(task: Task, groups: dict[str, Any], check_timeout_s: float
                  ) -> dict[str, dict[str, list[str]]]:
    """For an adaptive run: per cascade still short of results, per stage model, the case ids
    it still needs the model on, in case order. A stage is needed on a case only where every earlier stage has answered it and might
    defer it at the most deferring grid point (a rule that answered, a model sure of its label
    beyond every threshold, never passes the case on), so the dear stage is called only on the
    cases the cheap ones could hand it. The stages run every case their cascades reach, never
    stopped early: a cascade is decided on all of the golden set, a set fixed before any score."""
    contract = _contract_for(task)
    out: dict[str, dict[str, list[str]]] = {}
    for spec in task.spec.cascades:
        walk = _walk(task, spec, groups, contract, check_timeout_s, [])
        if not isinstance(walk, str) and walk[1]:
            out[spec.label] = walk[1]
    return out


def _contract_for(task: Task) -> Any:
    uses = {signal_name(s) for spec in task.spec.cascades for i in range(len(spec.models)) for s in spec.signals(i)}
    return Contract(task) if uses & {"contract", "agreement"} else None


def _case_ids(task: Task) -> list[str]:
    from ._adaptive import case_sequence

    return case_sequence(task)


def _walk(task: Task, spec: Any, groups: dict[str, Any], contract: Any, check_timeout_s: float,
          notes: list[str]) -> str | tuple[list[Stage], dict[str, list[str]]]:
    """The cascade's stages over every golden case, and per stage the cases it is missing that
    the cascade reaches (all earlier stages have a result there and might defer it); a stage is
    filled with a placeholder on the cases no threshold lets reach it. A reason (str) when the
    cascade cannot be replayed at all."""
    label = spec.label
    signals = [spec.signals(i) for i in range(len(spec.models))]
    other = sorted({signal_name(s) for sig in signals for s in sig} - set(REPLAYED))
    if other:
        return f"not evaluated: {', '.join(other)} signals are not replayed from stored results yet"
    order = _case_ids(task)
    top = max(spec.thresholds) if spec.thresholds else None
    reach = np.ones(len(order), dtype=bool)  # cases some threshold lets reach this stage
    stages: list[Stage] = []
    missing: dict[str, list[str]] = {}
    for i, (model, sig) in enumerate(zip(spec.models, signals)):
        frame = groups.get(model)
        have = set(frame["case_id"].astype(str)) if frame is not None and len(frame) else set()
        present = np.array([c in have for c in order], dtype=bool)
        lacking = reach & ~present
        if lacking.any():
            missing[model] = [c for c, m in zip(order, lacking) if m]
        run = reach & present
        idx = [c for c, m in zip(order, run) if m]
        part = _stage(task, label, model, frame, idx, sig, contract, check_timeout_s, notes) if idx else None
        stages.append(_scatter(model, part, run, sig))
        if i < len(spec.models) - 1:
            defer = np.asarray(stages[-1].defers, dtype=bool).copy()
            if stages[-1].confidence is not None and top is not None:
                defer |= ~(np.asarray(stages[-1].confidence, dtype=float) >= top)
            reach &= present & defer  # a case not yet run by this stage is not known to reach the next
    return stages, missing


def _scatter(model: str, part: Stage | None, run: np.ndarray, signals: list[Any]) -> Stage:
    """A stage over every case from its results on the `run` ones; the others are cases it is never
    asked (an earlier stage answers them at every threshold) or not yet run: no score, no cost,
    deferring, no error."""
    n = len(run)

    def fill(values: Any, default: Any, dtype: Any) -> np.ndarray:
        out = np.full(n, default, dtype=dtype)
        if part is not None and values is not None:
            out[run] = np.asarray(values, dtype=dtype)
        return out

    confidence = None
    if "confidence" in {signal_name(s) for s in signals}:
        confidence = fill(part.confidence if part is not None else None, math.nan, float)
    return Stage(model, fill(part and part.scores, 0.0, float), fill(part and part.defers, True, bool),
                 fill(part and part.cost, 0.0, float), fill(part and part.latency_ms, 0.0, float), confidence,
                 fill(part and part.errors, False, bool))


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
    """The task's single candidates (`evidence`, _selection.Candidate) and its cascades in one
    family (decide/_cascade.py). A cascade that cannot be decided is listed with why and counted
    in the family untested (p = 1), as a single candidate without results is.

    The suggested cascades (`cascades: suggest`) are all in the family, fixed by the spec before
    any score is seen; those tried are [C, D] for each D that qualifies, or for the dearest D when
    none does. Which D qualifies depends on the tries (a cascade certified at its last point leaves
    the active set and loosens every other level), so the tried set grows until it is stable. The
    promise holds for any tried set: the procedure is monotone in its p-values (a lower p never
    removes a rejection), and leaving a cascade untried is testing it with p = 1, so its rejections
    are a subset of those of the same family with every suggested cascade tried."""
    cascades, skipped, notes = cascade_inputs(task, groups, check_timeout_s)
    suggested = [c.label for c in task.spec.suggested_cascades]
    ends = {c.label: c.models[-1] for c in task.spec.suggested_cascades}
    listed = [c for c in cascades if c.name not in ends]
    ready = {c.name: c for c in cascades if c.name in ends}
    dearest = task.spec.single_candidates[-1] if task.spec.single_candidates else None
    tried: set[str] = set()
    while True:
        chosen = [ready[n] for n in suggested if n in tried]
        untested = [n for n in suggested if n not in tried and n not in skipped] + list(skipped)
        selection = select_policies(evidence, listed + chosen, task.spec.threshold, task.spec.confidence,
                                    untested=untested)
        qualifying = {v.name for v in selection.singles if v.qualifies} or {dearest}
        more = {n for n in ready if ends[n] in qualifying} - tried
        if not more:
            break
        tried |= more
    # a suggested cascade that cannot be decided is counted (above) and in the tried line, not listed
    selection.skipped.update({n: why for n, why in skipped.items() if n not in ends})
    selection.notes.extend(notes)
    return replace(selection, tried=tuple(n for n in suggested if n in tried))
