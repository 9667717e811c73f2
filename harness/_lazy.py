"""Package attributes that import their module on first use (PEP 562), so that importing a
package for one light name does not import its heavy neighbours (`tierwise validate` must not
pay for the store, the statistics or LiteLLM)."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import Any, Callable


def lazy_attributes(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that finds each name in its home module (relative
    to the package, without the dot) the first time it is asked for; a submodule's name gives
    the submodule, as it did when the package imported them all."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is not None:
            return getattr(import_module(f".{home}", package), name)
        if not name.startswith("__") and find_spec(f"{package}.{name}") is not None:
            return import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
