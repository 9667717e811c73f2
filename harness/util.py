"""Small helpers every part of Tierwise shares: secrets kept out of text, atomic writes, the
strict base of every file format, paths as the user wrote them, and the installed version."""

from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.I)
_KEY_SHAPE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{10,})")


class Strict(BaseModel):
    """The base of every file format: an unknown key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


# Secrets known by where they came from rather than by their variable's name: every variable
# the catalog names (api_key_env), every api_key a call is given. value -> label shown instead.
_REGISTERED: dict[str, str] = {}
_MIN_SECRET = 6


def register_secret(value: str | None, label: str) -> None:
    """Keep this value out of every text Tierwise stores or shows (shown as <label>)."""
    if isinstance(value, str) and len(value) >= _MIN_SECRET and _REGISTERED.get(value) != label:
        _REGISTERED[value] = label


def register_catalog_secrets(models: dict[str, Any]) -> None:
    """Register the value of every environment variable a catalog entry names (api_key_env)."""
    for entry in models.values():
        options = getattr(entry, "call_options", None) or {}
        name = options.get("api_key_env")
        if isinstance(name, str) and name:
            register_secret(os.environ.get(name), name)


def redactor() -> Callable[[str], str]:
    """A function that redacts text against the secrets known now: registered ones, the values
    of secret-looking environment variables (…KEY, …TOKEN, …SECRET, …PASSWORD) and key-shaped
    strings. Build it once for many texts (a write batch, a report)."""
    pairs = dict(_REGISTERED)
    for value, name in _env_secrets():
        pairs.setdefault(value, name)
    return _compiled(tuple(sorted(pairs.items(), key=lambda kv: (-len(kv[0]), kv[0]))))


def _env_secrets() -> tuple[tuple[str, str], ...]:
    """(value, name) of the secret-looking environment variables, scanned again only when the
    environment has changed: the store builds a redactor for every write statement, and reading
    os.environ (a decode per variable) was a sixth of the writer's CPU."""
    raw = getattr(os.environ, "_data", None)  # CPython's environment as bytes: a cheap "unchanged?" key
    return _scan_env(tuple(raw.items())) if isinstance(raw, dict) else _scan_env.__wrapped__(None)


@lru_cache(maxsize=4)
def _scan_env(_state: Any) -> tuple[tuple[str, str], ...]:
    return tuple((value, name) for name, value in os.environ.items()
                 if value and len(value) >= 8 and _SECRET_NAME.search(name))


@lru_cache(maxsize=8)
def _compiled(pairs: tuple[tuple[str, str], ...]) -> Callable[[str], str]:
    labels = dict(pairs)
    secrets = re.compile("|".join(re.escape(value) for value, _ in pairs)) if pairs else None

    def apply(text: str) -> str:
        if not isinstance(text, str) or not text:
            return text
        if secrets is not None:
            text = secrets.sub(lambda m: f"<{labels[m.group(0)]}>", text)
        return _KEY_SHAPE.sub("<redacted-key>", text)

    return apply


def redact(text: str) -> str:
    """Replace every known secret (see redactor) in one text."""
    return redactor()(text)


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


def below(value: float, digits: int = 3) -> str:
    """`value` for a line that says it is below a bar ("0.749 < 0.75"): rounded down, so the
    comparison shown is as true as the one made (0.74996 rounds to "0.750", which reads as
    not below 0.75). A value that is not below anything shown is still floored, never raised."""
    import math

    if not math.isfinite(value):
        return str(value)
    scale = 10 ** digits  # the 1e-9 keeps a float a hair under a shown digit (0.8999999999999999) on it
    return f"{math.floor(value * scale + 1e-9) / scale:.{digits}f}"


def threshold_text(value: float) -> str:
    """A threshold: two decimals unless it needs more."""
    import math

    if isinstance(value, float) and math.isfinite(value) and round(value, 2) != value:
        return f"{value:g}"
    return f"{value:.2f}"


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
