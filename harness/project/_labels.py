"""Human verdicts on outputs (a labels file per task, JSONL), for the judge's agreement.

One label a line:

    {"case": "sr-003", "model": "smollm2-135m", "output": "Sorry to hear…", "verdict": "fail",
     "note": "promises a refund the policy does not allow"}

`case` is a golden-set case id. A label says what a person thinks of one output of that case:
`output` (the text judged; it matches any model's output equal to it after trimming) and/or
`model` (a catalog name; it matches that model's current output). Give `output` whenever you
can: a label on a model alone no longer describes its output once the output changes. `verdict`
is pass / fail, true / false, or a score in [0, 1] (compared with the task's pass mark).
`note`, `by` (who) and `at` (when, as `tierwise view` writes it: 2025-01-31T12:00:00Z) are kept
for people and not read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GoldenSetError
from ._golden import jsonl_objects

_KEYS = {"case", "model", "output", "verdict", "note", "by", "at"}


@dataclass(frozen=True)
class Label:
    case: str
    verdict: float          # 1.0 pass, 0.0 fail, or a score in [0, 1]
    model: str | None = None
    output: str | None = None
    line: int = 0

    def matches(self, model: str, output: str | None) -> bool:
        """Whether this label is about this model's output (see the module docstring)."""
        if self.output is not None:
            return output is not None and output.strip() == self.output.strip() and \
                (self.model is None or self.model == model)
        return self.model == model


@dataclass(frozen=True)
class Labels:
    path: str
    labels: tuple[Label, ...]
    sha256: str

    def for_case(self, case_id: str) -> list[Label]:
        return [lab for lab in self.labels if lab.case == case_id]


def load_labels(path: Path, shown: str, case_ids: set[str], models: set[str]) -> Labels:
    """Read and check a labels file; a bad line is `file:line: what is wrong`."""
    if not path.is_file():
        raise GoldenSetError(f"{shown}: labels file not found; fix: create it (one JSON label a line) or "
                             f"correct judge.labels")
    raw = path.read_bytes()
    out: list[Label] = []
    for lineno, where, obj in jsonl_objects(raw, shown, "a label"):
        unknown = sorted(set(obj) - _KEYS)
        if unknown:
            raise GoldenSetError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_KEYS))}")
        case = obj.get("case")
        if not isinstance(case, (str, int)) or isinstance(case, bool) or str(case) not in case_ids:
            raise GoldenSetError(f"{where}: case {case!r} is not a case id of the golden set; fix: use a case's id")
        model, output = obj.get("model"), obj.get("output")
        if model is None and output is None:
            raise GoldenSetError(f'{where}: a label needs "output" (the text judged) or "model"; fix: add one')
        if model is not None and model not in models:
            raise GoldenSetError(f"{where}: model {model!r} is not a candidate of the task; "
                                 f"known: {', '.join(sorted(models))}")
        if output is not None and not isinstance(output, str):
            raise GoldenSetError(f'{where}: "output" must be the judged text')
        out.append(Label(str(case), _verdict(obj.get("verdict"), where), model, output, lineno))
    if not out:
        raise GoldenSetError(f"{shown}: no labels; fix: add one JSON label a line, or remove judge.labels")
    return Labels(shown, tuple(out), hashlib.sha256(raw).hexdigest())


def _verdict(value: Any, where: str) -> float:
    if value in ("pass", True):
        return 1.0
    if value in ("fail", False):
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise GoldenSetError(f'{where}: "verdict" must be pass, fail, true, false or a score in [0, 1], got {value!r}')
