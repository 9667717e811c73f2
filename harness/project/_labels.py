"""Human verdicts on outputs (a labels file per task, JSONL), for the judge's agreement.

One label a line:

    {"case": "sr-003", "model": "smollm2-135m", "output": "Sorry to hear…", "verdict": "fail",
     "note": "promises a refund the policy does not allow"}

`case` is a golden-set case id. A label says what a person thinks of one output of that case:
`output` (the text judged; it matches any model's output equal to it after trimming) and/or
`model` (a catalog name; it matches that model's current output). Give `output` whenever you
can: a label on a model alone no longer describes its output once the output changes. `verdict`
is pass / fail, true / false, or a score in [0, 1] (compared with the task's pass mark);
`null` is an output not labelled yet (`tierwise labels TASK --template` writes such lines).
`note`, `by` (who) and `at` (when, as `tierwise view` writes it: 2025-01-31T12:00:00Z) are kept
for people and not read.

A retraction takes a verdict back without rewriting the file (the view's undo appends one):

    {"case": "sr-003", "model": "smollm2-135m", "output": "Sorry to hear…", "retract": true, "by": "ana", "at": "…"}

It cancels every EARLIER line with the same `case`, `model` and `output` (compared after
trimming; a key left out must be left out there too): those outputs are unlabelled again, and a
later line may label them anew. A retraction that cancels nothing is an error (`file:line`).

A declared labels file may be missing or hold no verdicts yet: labels need outputs first. The
task then loads, and its judge evidence cannot qualify a model until people have judged some
outputs (decide/_rule.py says so, with the command).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GoldenSetError
from ._golden import jsonl_objects

_KEYS = {"case", "model", "output", "verdict", "note", "by", "at"}
_RETRACT_KEYS = {"case", "model", "output", "retract", "by", "at"}


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
    pending: tuple[tuple[str, str], ...] = ()  # (case, output) of lines whose verdict is still null
    missing: bool = False     # the file does not exist yet

    @property
    def todo(self) -> int:
        return len(self.pending)

    def for_case(self, case_id: str) -> list[Label]:
        return [lab for lab in self.labels if lab.case == case_id]


def load_labels(path: Path, shown: str, case_ids: set[str], models: set[str]) -> Labels:
    """Read and check a labels file; a bad line is `file:line: what is wrong`."""
    if not path.exists():
        return Labels(shown, (), hashlib.sha256(b"").hexdigest(), missing=True)
    if not path.is_file():
        raise GoldenSetError(f"{shown}: not a file; fix: point judge.labels at a JSONL file (it may be empty)")
    raw = path.read_bytes()
    out: list[Label] = []
    pending: list[tuple[str, str]] = []
    for lineno, where, obj in live_lines(jsonl_objects(raw, shown, "a label")):
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
        if obj.get("verdict") is None:  # not labelled yet
            pending.append((str(case), (output or "").strip()))
            continue
        out.append(Label(str(case), _verdict(obj.get("verdict"), where), model, output, lineno))
    return Labels(shown, tuple(out), hashlib.sha256(raw).hexdigest(), tuple(pending))


def label_identity(obj: dict[str, Any]) -> tuple[str, Any, Any]:
    """What a label line is about, as a retraction names it: (case, model, trimmed output)."""
    output = obj.get("output")
    return str(obj.get("case")), obj.get("model"), output.strip() if isinstance(output, str) else output


def live_lines(lines: Any, strict: bool = True) -> list[tuple[int, str, dict[str, Any]]]:
    """The (line number, `file:line`, object) of a labels file's lines that no later retraction
    cancels, retractions left out. `strict`: a bad retraction is a GoldenSetError (the loader);
    else it is skipped (the view, which shows a file that may be mid-edit)."""
    kept: list[tuple[int, str, dict[str, Any]]] = []
    for lineno, where, obj in lines:
        if "retract" not in obj:
            kept.append((lineno, where, obj))
            continue
        unknown = sorted(set(obj) - _RETRACT_KEYS)
        problem = (f"unknown key {unknown[0]!r} in a retraction; allowed: {', '.join(sorted(_RETRACT_KEYS))}"
                   if unknown else 'a retraction says "retract": true' if obj.get("retract") is not True else "")
        if not problem:
            who = label_identity(obj)
            before = len(kept)
            kept = [k for k in kept if label_identity(k[2]) != who]
            if len(kept) == before:
                problem = "this retraction takes back no earlier line (same case, model and output)"
        if problem and strict:
            raise GoldenSetError(f"{where}: {problem}; fix: correct or remove the line")
    return kept


def template_lines(labels: Labels | None, rows: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Label lines to fill in (verdict null) for each (case, model, output) that no label (nor
    a line already waiting for one) covers; one line per distinct output of a case, listing
    the first model that gave it. Outputs are what people judge, so each is written in full."""
    have = labels.labels if labels is not None else ()
    seen: set[tuple[str, str]] = set(labels.pending if labels is not None else ())
    out = []
    for case, model, output in rows:
        key = (case, output.strip())
        if key in seen or any(lab.case == case and lab.matches(model, output) for lab in have):
            continue
        seen.add(key)
        out.append({"case": case, "model": model, "output": output, "verdict": None, "note": ""})
    return out


def _verdict(value: Any, where: str) -> float:
    if value in ("pass", True):
        return 1.0
    if value in ("fail", False):
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise GoldenSetError(f'{where}: "verdict" must be pass, fail, true, false or a score in [0, 1], got {value!r}')
