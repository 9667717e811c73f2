"""Golden sets: one JSON case per line, `{"id", "vars", "expected", "tags"}`.

A retraction takes a case back without rewriting the file (the view's undo appends one):
`{"id": "prod-3", "retract": true, "by": "ana", "at": "…"}` removes the case an EARLIER line gave
with that id; a later line may give the id again. A retraction of an id no earlier line gives is
an error (`file:line`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import GoldenSetError

_ALLOWED_KEYS = {"id", "vars", "expected", "tags", "metadata"}
_RETRACT_KEYS = {"id", "retract", "by", "at"}
MAX_KEY_CHARS = 200  # case ids, task names, model names: the store's key columns, on every store


@dataclass(frozen=True)
class Case:
    """One golden-set case."""

    id: str
    vars: dict[str, Any]
    expected: Any = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class GoldenSet:
    path: Path
    cases: tuple[Case, ...]
    sha256: str

    def __len__(self) -> int:
        return len(self.cases)


def jsonl_objects(raw: bytes, shown: str, what: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line number, `file:line`, object) for each non-blank line of a JSONL file; a file that is
    not UTF-8 (a byte order mark is accepted, as in every file Tierwise reads), a line that is not
    JSON or not an object is a GoldenSetError naming the file, the line and the fix."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GoldenSetError(f"{shown}: not UTF-8 (byte {exc.start}); fix: save the file as UTF-8") from None
    # Lines end at "\n" only: str.splitlines() would also split inside a JSON string at U+0085,
    # U+2028 or U+2029, which JSON allows unescaped (a case written with ensure_ascii=False).
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{shown}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenSetError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}); "
                                 f"fix: one JSON object per line") from None
        if not isinstance(obj, dict):
            raise GoldenSetError(f"{where}: {what} must be a JSON object, got {type(obj).__name__}")
        yield lineno, where, obj


def load_golden_set(path: str | Path, shown_as: str | None = None) -> GoldenSet:
    """Read and validate a JSONL golden set; a bad line is `file:line: what is wrong`."""
    path = Path(path)
    name = shown_as or str(path)
    if not path.is_file():
        raise GoldenSetError(f"{name}: golden set not found; fix: create it (one JSON case per line) or correct the path")
    raw = path.read_bytes()
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, where, obj in jsonl_objects(raw, name, "a case"):
        if "retract" in obj:
            _retract(obj, where, cases, seen)
            continue
        unknown = sorted(set(obj) - _ALLOWED_KEYS)
        if unknown:
            raise GoldenSetError(
                f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_ALLOWED_KEYS))}"
            )
        if "id" not in obj:
            raise GoldenSetError(f'{where}: missing "id"; fix: give each case a unique "id"')
        case_id = obj["id"]
        if not isinstance(case_id, (str, int)) or isinstance(case_id, bool) or str(case_id) == "":
            raise GoldenSetError(f'{where}: "id" must be a non-empty string or integer')
        case_id = str(case_id)
        if len(case_id) > MAX_KEY_CHARS:
            raise GoldenSetError(f'{where}: "id" is {len(case_id)} characters, over the limit of {MAX_KEY_CHARS}; '
                                 f"fix: use a shorter id (put long text in metadata)")
        if case_id in seen:
            raise GoldenSetError(
                f"{where}: duplicate id {case_id!r} (first on line {seen[case_id]}); fix: ids must be unique within the file"
            )
        seen[case_id] = lineno
        vars_ = obj.get("vars", {})
        if not isinstance(vars_, dict):
            raise GoldenSetError(f'{where}: "vars" must be an object of template variables')
        tags = obj.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise GoldenSetError(f'{where}: "tags" must be a list of strings')
        metadata = obj.get("metadata", {})
        if not isinstance(metadata, dict):
            raise GoldenSetError(f'{where}: "metadata" must be an object')
        cases.append(Case(case_id, vars_, obj.get("expected"), tuple(tags), metadata, lineno))
    if not cases:
        raise GoldenSetError(f"{name}: golden set has no cases; fix: add one JSON case per line")
    return GoldenSet(path, tuple(cases), hashlib.sha256(raw).hexdigest())


def _retract(obj: dict[str, Any], where: str, cases: list[Case], seen: dict[str, int]) -> None:
    """Apply a retraction line: drop the case an earlier line gave with its id."""
    unknown = sorted(set(obj) - _RETRACT_KEYS)
    if unknown:
        raise GoldenSetError(f"{where}: unknown key {unknown[0]!r} in a retraction; allowed: "
                             f"{', '.join(sorted(_RETRACT_KEYS))}; fix: correct or remove the line")
    case_id = obj.get("id")
    if obj.get("retract") is not True or not isinstance(case_id, (str, int)) or isinstance(case_id, bool):
        raise GoldenSetError(f'{where}: a retraction is {{"id": …, "retract": true}}; fix: correct or remove the line')
    if str(case_id) not in seen:
        raise GoldenSetError(f"{where}: retracts case {str(case_id)[:MAX_KEY_CHARS]!r}, which no earlier line gives; "
                             f"fix: remove the line")
    del seen[str(case_id)]
    cases[:] = [c for c in cases if c.id != str(case_id)]
