"""The files a promptfoo suite references, read with the project's bounds.

A suite is input from someone you may not fully trust (a pull request, a shared example), so:

- a `file://` path must stay inside the config's folder once resolved (`..`, absolute paths
  and symlinks that point out are refused), unless the user passes `--allow-outside`; a file
  read from outside is then listed in the report;
- YAML goes through the project's bounded reader (harness.project.read_yaml: 5 MB, aliases
  that expand to at most 100,000 values, no recursive alias); JSON, JSONL and CSV test files
  may be larger (MAX_DATA_BYTES), as a suite of many tests is;
- whatever is read is plain data: at most MAX_DEPTH levels deep, keys are strings and dates
  are ISO text (as promptfoo, a JavaScript program, sees them).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

MAX_DATA_BYTES = 100 * 1024 * 1024  # a JSON, JSONL or CSV tests file (300k tests in CSV are about 20 MB)
MAX_DEPTH = 100                     # nesting of any value, $ref expansions included


@dataclass(frozen=True)
class Dropped:
    """One thing in the promptfoo suite that was not carried over (or not as it was), and why."""

    file: str
    place: str
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}: {self.place}: {self.what}: {self.why}"


@dataclass
class Files:
    """The config's folder, and what may be read from it."""

    root: Path
    allow_outside: bool = False
    dropped: list[Dropped] = field(default_factory=list)
    _texts: dict[Path, str] = field(default_factory=dict)

    def path(self, name: str, shown: str, place: str, what: str) -> Path:
        """root / name, refused (or, with allow_outside, listed) when it resolves outside root."""
        path = self.root / name
        try:
            real, inside = path.resolve(), self.root.resolve()
            if real == inside or inside in real.parents:
                path.is_file()  # a name too long for the system fails here, not later
                return path
        except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a symlink loop, a name too long
            raise ConfigError(f"{shown}: {place}: {what} {name[:80]!r} cannot be read ({exc}); "
                              "fix: give a plain path inside the config's folder") from None
        if not self.allow_outside:
            raise ConfigError(f"{shown}: {place}: {what} {name!r} is outside the config's folder ({inside}); "
                              "fix: copy it into that folder, or pass --allow-outside to read it anyway")
        self.dropped.append(Dropped(shown, place, f"{what} {name!r}",
                                    f"read from outside the config's folder ({real}) because of --allow-outside"))
        return path

    def text(self, path: Path, shown: str, limit: int = MAX_DATA_BYTES) -> str:
        """A UTF-8 text file (read once however many tests reference it)."""
        from ..project import read_text

        if path not in self._texts:
            if not path.is_file():
                raise ConfigError(f"{shown}: file not found; fix: check the path (relative to the config's folder)")
            self._texts[path] = read_text(path, shown, ConfigError, limit)
        return self._texts[path]

    def structured(self, path: Path, shown: str) -> Any:
        """YAML (1.2, bounded), JSON or JSONL, as plain data."""
        from ..project import read_yaml

        suffix = path.suffix.lower()
        if suffix not in (".json", ".jsonl"):
            return plain(read_yaml(path, shown, ConfigError), shown)
        text = self.text(path, shown)
        try:
            if suffix == ".json":
                return plain(json.loads(text), shown)
            out = []
            for number, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    out.append(plain(json.loads(line), f"{shown}:{number}"))
            return out
        except json.JSONDecodeError as exc:
            where = f"{shown}:{number}" if suffix == ".jsonl" else f"{shown}:{exc.lineno}:{exc.colno}"
            raise ConfigError(f"{where}: invalid JSON ({exc.msg}); fix the syntax at that place") from None
        except RecursionError:
            raise ConfigError(f"{shown}: nested too deeply; fix: flatten the document") from None

    def csv_rows(self, path: Path, shown: str) -> list[tuple[int, dict[str | None, Any]]]:
        """A CSV file's rows by header, each with its line number."""
        reader = csv.DictReader(io.StringIO(self.text(path, shown), newline=""))
        rows = []
        try:
            for row in reader:
                rows.append((reader.line_num, row))
        except csv.Error as exc:
            raise ConfigError(f"{shown}: line {reader.line_num}: not valid CSV ({exc}); fix the file") from None
        return rows


def plain(data: Any, shown: str) -> Any:
    """Data as promptfoo sees it: string keys, dates as ISO text, sets as lists; refused past
    MAX_DEPTH levels or holding binary. Iterative, so no depth exhausts the stack."""
    if not isinstance(data, (dict, list, set, tuple, datetime.date, bytes)):
        return data
    root: list[Any] = [data]
    stack: list[tuple[Any, Any, int]] = [(root, 0, 0)]  # (container, key, depth of the value)
    while stack:
        container, key, depth = stack.pop()
        value = container[key]
        if isinstance(value, (datetime.date, datetime.datetime)):
            container[key] = value.isoformat()
        elif isinstance(value, bytes):
            raise ConfigError(f"{shown}: holds binary data (!!binary); fix: write the value as text")
        elif isinstance(value, (dict, list, set, tuple)):
            if depth >= MAX_DEPTH:
                raise ConfigError(f"{shown}: nested more than {MAX_DEPTH} levels deep; fix: flatten it")
            if isinstance(value, dict):
                value = container[key] = {_key(k): v for k, v in value.items()}
                stack.extend((value, k, depth + 1) for k in value)
            else:
                value = container[key] = list(value)
                stack.extend((value, i, depth + 1) for i in range(len(value)))
    return root[0]


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)
