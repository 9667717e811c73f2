"""Small helpers every part of Tierwise shares: secrets kept out of text, atomic writes, the
strict base of every file format, paths as the user wrote them, and the installed version."""

from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.I)
_KEY_SHAPE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{10,})")


class Strict(BaseModel):
    """The base of every file format: an unknown key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


def redact(text: str) -> str:
    """Replace the values of secret-looking environment variables and key-shaped strings."""
    for name, value in os.environ.items():
        if value and len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, f"<{name}>")
    return _KEY_SHAPE.sub("<redacted-key>", text)


def atomic_write(path: Path, text: str) -> None:
    """Write a file so that a reader sees the old or the new content, never a half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; keep an existing file's mode, else the umask's default.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def shown_path(path: Path, root: Path) -> str:
    """A path as the user knows it: relative to the project root where it lies inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


@lru_cache(maxsize=1)
def tierwise_version() -> str:
    """The installed tierwise version, or "dev" when running from a source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tierwise")
    except PackageNotFoundError:
        return "dev"
