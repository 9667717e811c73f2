"""The files a promptfoo suite references, read with the project's bounds.

A suite is input from someone you may not fully trust (a pull request, a shared example), so:

- a `file://` path must stay inside the config's folder once resolved (`..`, absolute paths
  and symlinks that point out are refused), unless the user passes `--allow-outside`; a file
  read from outside is then listed in the report;
- YAML goes through the project's bounded reader (harness.project.read_yaml: 5 MB, aliases
  that expand to at most 100,000 values, no recursive alias); JSON, JSONL and CSV test files
  may be larger (MAX_DATA_BYTES), as a suite of many tests is;
- all the files of one import add up to at most MAX_TOTAL_BYTES (each is read once, however
  many tests name it);
- a glob (`file://tests/*.yaml`, `vars: ../vars/*.yaml`) walks only the folders its pattern can
  match, never through a symlinked folder, looks at MAX_GLOB_ENTRIES entries at most and may
  name MAX_GLOB_FILES files; each file it names passes the same containment check;
- whatever is read is plain data: at most MAX_DEPTH levels deep, keys are strings and dates
  are ISO text (as promptfoo, a JavaScript program, sees them).
"""

from __future__ import annotations

import csv
import datetime
import fnmatch
import io
import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

MAX_DATA_BYTES = 100 * 1024 * 1024  # a JSON, JSONL or CSV tests file (300k tests in CSV are about 20 MB)
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # every file of one import together
MAX_DEPTH = 100                     # nesting of any value, $ref expansions included
MAX_GLOB_FILES = 1_000              # files one glob may name
MAX_GLOB_ENTRIES = 100_000          # files and folders one glob may look at
_WILD = ("*", "?", "[")


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
    _data: dict[Path, Any] = field(default_factory=dict)
    _globs: dict[str, list[tuple[str, Path]]] = field(default_factory=dict)
    _spent: int = 0

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
            self._spend(path, shown)
            self._texts[path] = read_text(path, shown, ConfigError, limit)
        return self._texts[path]

    def _spend(self, path: Path, shown: str) -> None:
        try:
            self._spent += path.stat().st_size
        except OSError as exc:
            raise ConfigError(f"{shown}: cannot read ({exc.strerror or exc}); fix: check the file") from None
        if self._spent > MAX_TOTAL_BYTES:
            raise ConfigError(f"{shown}: the suite's files add up to over {MAX_TOTAL_BYTES:,} bytes; "
                              "fix: split the suite, or name fewer files")

    def structured(self, path: Path, shown: str) -> Any:
        """YAML (1.2, bounded), JSON or JSONL, as plain data (parsed once however many tests name
        the file: callers do not change what they get)."""
        if path not in self._data:
            self._data[path] = self._parse(path, shown)
        return self._data[path]

    def _parse(self, path: Path, shown: str) -> Any:
        from ..project import read_yaml

        suffix = path.suffix.lower()
        if suffix not in (".json", ".jsonl"):
            if not path.is_file():
                raise ConfigError(f"{shown}: file not found; fix: check the path (relative to the config's folder)")
            self._spend(path, shown)
            return plain(read_yaml(path, shown, ConfigError), shown)
        text = self.text(path, shown)
        try:
            if suffix == ".json":
                return plain(json.loads(text), shown)
            out = []
            # lines end at "\n" only: U+0085, U+2028 and U+2029 may stand unescaped inside a JSON string
            for number, line in enumerate(text.split("\n"), 1):
                if line.strip():
                    out.append(plain(json.loads(line), f"{shown}:{number}"))
            return out
        except json.JSONDecodeError as exc:
            where = f"{shown}:{number}" if suffix == ".jsonl" else f"{shown}:{exc.lineno}:{exc.colno}"
            raise ConfigError(f"{where}: invalid JSON ({exc.msg}); fix the syntax at that place") from None
        except RecursionError:
            raise ConfigError(f"{shown}: nested too deeply; fix: flatten the document") from None

    def glob(self, pattern: str, shown: str, place: str, what: str) -> list[tuple[str, Path]]:
        """The `what` files ("tests", "vars") a glob names, relative to the config's folder (`*`, `?` and `[...]` within a
        name, `**` across folders; names starting with a dot only when the pattern's part does),
        in name order, each through path(). The walk starts at the pattern's fixed folder (itself
        checked), enters only folders the pattern can still match, never a symlinked folder, and is
        bounded by MAX_GLOB_ENTRIES entries looked at and MAX_GLOB_FILES files named. Walked once
        however many tests name it."""
        if pattern not in self._globs:
            self._globs[pattern] = self._glob(pattern, shown, place, what)
        return self._globs[pattern]

    def _glob(self, pattern: str, shown: str, place: str, what: str) -> list[tuple[str, Path]]:
        parts = pattern.split("/")
        cut = next((i for i, part in enumerate(parts) if is_glob(part)), len(parts))
        fixed = "/".join(parts[:cut]) or "."
        segments = [p for p in parts[cut:] if p]
        folder = self.path(fixed, shown, place, f"{what} glob {pattern!r} in folder")
        names: list[str] = []
        stack = [(folder, "", _closure({0}, segments))]
        seen = 0
        try:
            while stack:
                here, rel, states = stack.pop()
                with os.scandir(here) as entries:
                    for entry in entries:
                        seen += 1
                        if seen > MAX_GLOB_ENTRIES:
                            raise ConfigError(f"{shown}: {place}: {what} glob {pattern!r} looks at over "
                                              f"{MAX_GLOB_ENTRIES:,} files and folders; fix: narrow the glob")
                        after = _step(states, entry.name, segments)
                        if not after:
                            continue
                        if entry.is_dir(follow_symlinks=False):
                            stack.append((Path(entry.path), f"{rel}{entry.name}/", after))
                        elif len(segments) in after and entry.is_file():
                            names.append(f"{rel}{entry.name}")
                            if len(names) > MAX_GLOB_FILES:
                                raise ConfigError(f"{shown}: {place}: {what} glob {pattern!r} names over {MAX_GLOB_FILES:,} "
                                                  "files; fix: narrow the glob")
        except (FileNotFoundError, NotADirectoryError):  # the fixed folder is not there: no file named
            return []
        except OSError as exc:
            raise ConfigError(f"{shown}: {place}: {what} glob {pattern!r} cannot be listed ({exc.strerror or exc}); "
                              "fix: check the folder") from None
        out = []
        for rel in sorted(names):
            name = posixpath.normpath(posixpath.join(fixed, rel))
            out.append((name, self.path(name, shown, place, f"{what} file")))
        return out

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


def is_glob(name: str) -> bool:
    return any(ch in name for ch in _WILD)


def kind(value: Any) -> str:
    """A value's shape in a user's words."""
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)


def mapping(value: Any, shown: str, place: str, what: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{shown}: {place}: must be a mapping{' ' + what if what else ''}, got {kind(value)}; "
                          "fix: write it as key: value lines")
    return value


def as_list(value: Any, shown: str, place: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{shown}: {place}: must be a list, got {kind(value)}; fix: write it as a list (- item)")
    return value


def _closure(states: set[int], segments: list[str]) -> frozenset[int]:
    """The glob's states (parts matched so far) with each `**` also matching no folder at all."""
    out: set[int] = set()
    todo = list(states)
    while todo:
        state = todo.pop()
        if state not in out:
            out.add(state)
            if state < len(segments) and segments[state] == "**":
                todo.append(state + 1)
    return frozenset(out)


def _step(states: frozenset[int], name: str, segments: list[str]) -> frozenset[int]:
    """The states after one more path part `name` (a set of states, so `**` never backtracks)."""
    after = set()
    for state in states:
        if state == len(segments):
            continue
        segment = segments[state]
        if name.startswith(".") and not segment.startswith("."):
            continue
        if segment == "**":
            after.add(state)
        elif fnmatch.fnmatchcase(name, segment):
            after.add(state + 1)
    return _closure(after, segments)


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
