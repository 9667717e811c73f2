"""Reading YAML files and turning pydantic errors into one-line, located messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TierwiseError


def read_yaml(path: Path, shown_as: str, error: type[TierwiseError]) -> Any:
    """Parse a YAML file; a syntax error names the file, line and column.

    YAML 1.2 (ruamel): `yes` and `no` stay strings, as a label set like [yes, no] needs.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    if not path.is_file():
        raise error(f"{shown_as}: file not found")
    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{shown_as}:{mark.line + 1}:{mark.column + 1}" if mark else shown_as
        raise error(f"{where}: invalid YAML ({exc.problem}); fix the syntax at that place") from None
    except UnicodeDecodeError:
        raise error(f"{shown_as}: not UTF-8; fix: save the file as UTF-8") from None


def loc_to_str(loc: tuple[Any, ...]) -> str:
    """('graders', 1, 'type') -> 'graders[1].type'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def pydantic_error(exc: Any, shown_as: str, model: Any, error: type[TierwiseError]) -> TierwiseError:
    """Turn the first pydantic validation error into a located, fixable message."""
    first = exc.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    where = f"{shown_as}: {loc_to_str(loc)}" if loc else shown_as
    kind = first["type"]
    if kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        hint = f"; known: {', '.join(known)}" if known else ""
        return error(f"{where}: unknown key {loc[-1]!r}{hint}")
    if kind == "missing":
        return error(f"{where}: required key is missing; fix: add it")
    msg = first["msg"]
    got = first.get("input")
    got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    return error(f"{where}: {msg[0].lower() + msg[1:]}{got_text}")


def _known_fields(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """Walk the pydantic model along loc to list the keys allowed at that place."""
    import typing

    current = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation, typing)
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _model_in(annotation: Any, typing: Any) -> Any:
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg, typing)
        if found is not None:
            return found
    return None
