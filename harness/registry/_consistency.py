"""Is a task's evidence record consistent with itself? The gate's check of an evidence file it
did not write, on a fresh checkout (no store, no scipy: `tierwise gate` starts without them).

The evidence file is committed text that anyone can edit; the gate cannot re-run the models
(`--rerun` does), but it can refuse a record that no honest run could have written:

- counts and bounds in range: confidence in (0, 1), n >= 1, 0 <= lower <= mean <= 1 (a lower confidence bound
  never exceeds the mean it bounds; the judge-corrected bound never exceeds the judge's own),
  the procedure's level in (0, 1 - confidence], run ids present and shaped like the store's;
- pass/fail scores (method exact): the passed cases k (recorded as `successes`, else read
  from mean x n, which must then be a whole number) and the exact Clopper-Pearson bound
  recomputed from k and n (decide.stats.clopper_pearson_lower_pure, the bound in pure Python):
  equal to `lower` at the recorded level for a fixed-n run, and never above the bound at the
  task's confidence for any record (a smaller level only lowers it);
- the record's digest (fingerprint.evidence_digest), when it has one, still matches.

Continuous scores (bootstrap bounds) cannot be recomputed without the scores, which the file
does not carry: they get the range checks and the digest. The digest is not a signature:
it catches an edit made without Tierwise (by hand, a merge, a search-and-replace), not a
forgery by someone who recomputes it; `tierwise gate --rerun` is the check that trusts no file.
Records written before `successes` and `digest` existed are read and checked as far as they go.
"""

from __future__ import annotations

import re
from typing import Any

from ..decide.stats import clopper_pearson_lower_pure
from ..fingerprint import EVIDENCE_DIGEST_KEY, evidence_digest
from ._evidence import ModelEvidence, TaskEvidence

ROUNDING = 2e-6  # the file keeps 6 decimals: a recomputed figure may differ by half of 1e-6 each side
RUN_ID = re.compile(r"[0-9a-f]{12}")  # Store.start_run: uuid4().hex[:12]


def evidence_problems(raw: dict[str, Any], record: TaskEvidence) -> list[str]:
    """What makes this task's record inconsistent, each naming its field; [] when none."""
    out = []
    written = raw.get(EVIDENCE_DIGEST_KEY)
    if written is not None and written != evidence_digest(raw):
        out.append(f"{EVIDENCE_DIGEST_KEY}: {written} does not match the record (edited after "
                   f"`tierwise recommend --write` wrote it)")
    if not 0.0 < record.confidence < 1.0:  # NaN fails too; every bound below needs one in (0, 1)
        return out + [f"confidence: {record.confidence} is not in (0, 1)"]
    out += model_problems(record, record.confidence)
    for i, fb in enumerate(record.fallbacks):
        out += [f"fallbacks[{i}].{p}" for p in model_problems(fb, record.confidence)]
    return out


def model_problems(m: ModelEvidence, confidence: float) -> list[str]:
    """What makes one model's record inconsistent ('field: why')."""
    out = []
    alpha = 1 - confidence
    if m.n < 1:
        out.append(f"n: {m.n}; evidence needs at least one evaluated case")
    if not 0.0 <= m.lower <= 1.0:  # NaN fails too
        out.append(f"lower: {m.lower} is not in [0, 1]")
    if m.mean is not None and not 0.0 <= m.mean <= 1.0:
        out.append(f"mean: {m.mean} is not in [0, 1]")
    elif m.mean is not None and m.lower > m.mean + ROUNDING:
        out.append(f"lower: {m.lower} is above mean {m.mean} (a lower confidence bound never exceeds the mean)")
    if m.plain_lower is not None and m.lower > m.plain_lower + ROUNDING:
        out.append(f"lower: {m.lower} is above plain_lower {m.plain_lower} (the judge-corrected bound never "
                   f"exceeds the judge's own)")
    if m.level is not None and not 0.0 < m.level <= alpha + 1e-9:
        out.append(f"level: {m.level} is not in (0, {alpha:g}] (1 - confidence {confidence:g})")
    if m.n >= 1 and not m.run_ids:
        out.append("run_ids: empty; evidence names the runs it was measured in")
    bad = next((r for r in m.run_ids if not RUN_ID.fullmatch(r)), None)
    if bad is not None:
        out.append(f"run_ids: {bad!r} is not a run id (12 hex digits)")
    if not out:
        out += _count_problems(m, confidence)
    return out


def _count_problems(m: ModelEvidence, confidence: float) -> list[str]:
    """The pass/fail counts against the mean and the exact bound (method exact only)."""
    k = m.successes
    if k is not None:
        if k > m.n:
            return [f"successes: {k} is more than n {m.n}"]
        if m.mean is not None and abs(m.mean - k / m.n) > ROUNDING:
            return [f"mean: {m.mean} is not successes/n = {k}/{m.n}"]
    if m.method != "exact":
        return []
    if k is None:
        if m.mean is None:
            return ["mean: missing; an exact (pass/fail) bound needs the mean or successes"]
        k = round(m.mean * m.n)
        if abs(m.mean * m.n - k) > ROUNDING * m.n:
            return [f"mean: {m.mean} x n {m.n} is not a whole number of passed cases, as an exact "
                    f"(pass/fail) bound needs"]
    fixed_level = m.level is not None and not m.adaptive
    at = 1 - m.level if fixed_level else confidence
    bound = clopper_pearson_lower_pure(k, m.n, at)
    if m.lower > bound + ROUNDING or (fixed_level and m.lower < bound - ROUNDING):
        how = "" if fixed_level else "at most "
        return [f"lower: {m.lower} but the exact bound for {k} of {m.n} cases at {at:.6g} is {how}{bound:.6f}"]
    return []
