"""Golden sets: one JSON case per line, `{"id", "vars", "expected", "tags"}`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GoldenSetError

_ALLOWED_KEYS = {"id", "vars", "expected", "tags", "metadata"}
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


def load_golden_set(path: str | Path, shown_as: str | None = None) -> GoldenSet:
    """Read and validate a JSONL golden set; a bad line is `file:line: what is wrong`."""
    path = Path(path)
    name = shown_as or str(path)
    if not path.is_file():
        raise GoldenSetError(f"{name}: golden set not found; fix: create it (one JSON case per line) or correct the path")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a byte order mark is accepted, as in every file Tierwise reads
    except UnicodeDecodeError as exc:
        raise GoldenSetError(f"{name}: not UTF-8 (byte {exc.start}); fix: save the file as UTF-8") from None
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenSetError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}); fix: one JSON object per line") from None
        if not isinstance(obj, dict):
            raise GoldenSetError(f"{where}: a case must be a JSON object, got {type(obj).__name__}")
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
