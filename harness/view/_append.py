"""One JSON line appended to a project file (a golden set, a labels file), so that no line is lost.

Every answer given in the view is appended at once: git-friendly (one line per answer, nothing
rewritten), and safe when two people (two browser tabs, two `tierwise view` processes) answer
into the same file at the same moment:

- the target is resolved (symlinks followed) and must lie inside the project folder; anything
  else is refused (`OutsideProject`), whatever a spec names;
- writers take an exclusive lock (fcntl.flock) on a lock file under the project's `.tierwise/locks/`,
  named by the target's resolved path, so every writer of one file waits for the others;
- under the lock the file is read, checked (`check` sees the lines already there: a golden-set
  case id given twice is refused) and replaced by its old bytes plus the new line through a
  temporary file that is fsynced and renamed over it (util.atomic_write), then the folder is
  fsynced: a reader, or a crash, sees the file before or after the line, never half of it;
- one line is at most MAX_LINE_BYTES, so an answer cannot grow a file without bound.

A writer that does not take the lock (an editor) can still race with the view; the lock makes
the view's own writers safe against each other, which is the case the view creates.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from ..errors import TierwiseError

MAX_LINE_BYTES = 64 * 1024


class OutsideProject(TierwiseError):
    """A write was asked for outside the project folder."""


class LineTooLong(TierwiseError):
    """An answer would append a line longer than MAX_LINE_BYTES."""


def inside(root: Path, path: Path) -> Path:
    """`path` resolved (relative paths against root); OutsideProject unless it lies inside root."""
    base = root.resolve()
    target = (path if path.is_absolute() else base / path).resolve()
    if target == base or not target.is_relative_to(base):
        raise OutsideProject(f"{path}: outside the project folder {base}; the view writes only inside it "
                             f"(fix: point the spec at a file under the project)")
    return target


def append_line(root: Path, path: Path, record: dict[str, Any],
                check: Callable[[list[str]], None] | None = None) -> Path:
    """Append `record` as one JSON line to `path` (inside `root`) under the project's file lock.

    `check(lines)` runs under the lock with the file's current lines and may raise to refuse the
    write (nothing is written then). Returns the resolved path written."""
    import fcntl

    from ..util import atomic_write

    target = inside(root, path)
    line = json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
    if len(line.encode("utf-8")) > MAX_LINE_BYTES:
        raise LineTooLong(f"{target.name}: the answer makes a line of {len(line.encode('utf-8')):,} bytes; "
                          f"the limit is {MAX_LINE_BYTES:,} (fix: shorten the expected value)")
    locks = inside(root, Path(".tierwise") / "locks")
    locks.mkdir(parents=True, exist_ok=True)
    lock_path = locks / (hashlib.sha256(str(target).encode()).hexdigest()[:32] + ".lock")
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            old = target.read_bytes().decode("utf-8-sig") if target.exists() else ""
            if check is not None:
                check(old.splitlines())
            sep = "" if old == "" or old.endswith("\n") else "\n"
            atomic_write(target, old + sep + line + "\n")
            _fsync_dir(target.parent)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return target


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX: the folder's entry is data too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
