"""`plugins:` in tierwise.yaml: modules imported before the catalog is read, so the `@provider`
model kinds and `@grader` graders they register are known to every command, the CLI included
(docs/architecture.md, "Where to add").

A plugin is a Python module name, never a path: a file in the project folder (`my_kinds` is
`my_kinds.py` beside tierwise.yaml) or an installed package (`acme.tierwise_kinds`). Importing
runs its code, as a `python:` candidate or a custom grader does; each problem is one ConfigError
naming the entry and the fix, with any secret in the message redacted.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError

MAX_PLUGINS = 50
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def load_plugins(root: Path, raw: Any, where: str) -> list[str]:
    """Import each module `plugins:` names, the project folder first on the path; the names."""
    from ..util import redact

    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise ConfigError(f"{where}: plugins: must be a list of module names, e.g. [my_kinds]; "
                          f"got {type(raw).__name__}")
    if len(raw) > MAX_PLUGINS:
        raise ConfigError(f"{where}: plugins: {len(raw)} modules; at most {MAX_PLUGINS}")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for i, name in enumerate(raw):
        place = f"{where}: plugins[{i}]"
        if len(name) > 200 or not _MODULE.fullmatch(name):
            raise ConfigError(f"{place}: {name[:80]!r} is not a module name; fix: a dotted Python module name "
                              f"such as my_kinds (my_kinds.py in {root}) or acme.tierwise_kinds (an installed package)")
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name) and name[len(exc.name):][:1] in ("", "."):
                raise ConfigError(f"{place}: no module {name!r} in {root} or the installed packages; fix: put "
                                  f"{name.split('.')[0]}.py in the project folder, or pip install the package "
                                  f"that provides it") from None
            raise ConfigError(redact(f"{place}: importing {name} failed: {exc}; fix: install what it imports")) from None
        except Exception as exc:  # noqa: BLE001 - a plugin's own error, reported as one located line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ConfigError(redact(f"{place}: importing {name} failed: {type(exc).__name__}"
                                     f"{': ' + first[:300] if first else ''}; fix: the error is in {name}'s code")) from None
    return list(raw)
