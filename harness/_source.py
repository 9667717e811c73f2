"""Fingerprints of user code (python: candidates, custom graders), so that editing a rule
makes its stored results and evidence stale instead of silently reusing them."""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path


def source_digest(import_path: str) -> str:
    """sha256 (short) of the file that defines `package.module:function`; "" when not found.

    Only that module's own file counts: a change in a module it imports is not seen.
    """
    module = import_path.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return ""
    origin = getattr(spec, "origin", None)
    if not origin or not Path(origin).is_file():
        return ""
    return _file_digest(origin, Path(origin).stat().st_mtime_ns)


@lru_cache(maxsize=256)
def _file_digest(path: str, _mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
