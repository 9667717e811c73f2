"""Reading YAML files and turning pydantic errors into one-line, located messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TierwiseError


MAX_YAML_BYTES = 5 * 1024 * 1024   # no file Tierwise reads as YAML is anywhere near this
MAX_EXPANDED_NODES = 100_000       # what a document's aliases may expand to, in nodes
MAX_FLOW_DEPTH = 200               # [ and { nesting: the pure-Python scanner is quadratic in it


def read_yaml(path: Path, shown_as: str, error: type[TierwiseError]) -> Any:
    """Parse a YAML file; a syntax error names the file, line and column.

    YAML 1.2 (ruamel): `yes` and `no` stay strings, as a label set like [yes, no] needs.
    A UTF-8 byte order mark is accepted; the limits of check_yaml_text apply.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    if not path.is_file():
        raise error(f"{shown_as}: file not found")
    text = read_text(path, shown_as, error)
    try:
        check_yaml_text(text, shown_as, error)
        return YAML(typ="safe", pure=True).load(text)
    except RecursionError:  # nesting deeper than the parser's stack, with no alias to compose first
        raise error(f"{shown_as}: nested too deeply; fix: flatten the document") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{shown_as}:{mark.line + 1}:{mark.column + 1}" if mark else shown_as
        raise error(f"{where}: invalid YAML ({exc.problem}); fix the syntax at that place") from None


def read_text(path: Path, shown_as: str, error: type[TierwiseError], limit: int | None = MAX_YAML_BYTES) -> str:
    """A text file Tierwise reads: UTF-8 (a byte order mark is dropped), at most `limit` bytes;
    anything else is `error` naming the file and the fix."""
    try:
        size = path.stat().st_size
        if limit is not None and size > limit:
            raise error(f"{shown_as}: {size:,} bytes is over the {limit:,}-byte limit for this file; "
                        f"fix: split it or trim it")
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{shown_as}: not UTF-8 (byte {exc.start}); fix: save the file as UTF-8") from None
    except OSError as exc:
        raise error(f"{shown_as}: cannot read ({exc.strerror or exc}); fix: check the file") from None


def check_yaml_text(text: str, shown_as: str, error: type[TierwiseError]) -> None:
    """Refuse a document whose aliases expand past MAX_EXPANDED_NODES nodes (a "billion
    laughs" bomb: nine levels of nine aliases are 1 KB of text and 387 million nodes) or
    that is over MAX_YAML_BYTES. Anchors and aliases within the limit stay allowed."""
    from ruamel.yaml import YAML

    if len(text) > MAX_YAML_BYTES:
        raise error(f"{shown_as}: over the {MAX_YAML_BYTES:,}-character limit for a YAML file; fix: trim it")
    if _flow_depth_over(text, MAX_FLOW_DEPTH):
        raise error(f"{shown_as}: nested more than {MAX_FLOW_DEPTH} levels deep in [ ] or {{ }}; fix: flatten the document")
    if "*" not in text:  # no alias can occur: nothing to expand
        return
    try:
        root = YAML(typ="safe", pure=True).compose(text)
    except RecursionError:
        raise error(f"{shown_as}: nested too deeply; fix: flatten the document") from None
    if root is not None and _expanded_size(root, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
        raise error(f"{shown_as}: its aliases (*name) expand to over {MAX_EXPANDED_NODES:,} values; "
                    f"fix: write the values out, or use fewer aliases")


def _flow_depth_over(text: str, limit: int) -> bool:
    """Whether [ and { nest deeper than limit (brackets inside quoted text count too, so a
    text with over `limit` unclosed brackets in its strings is refused: none is that odd).
    The parser would take seconds to reach its recursion limit on such a document."""
    if text.count("[") + text.count("{") <= limit:
        return False
    import re

    depth = 0
    for match in re.finditer(r"[\[\]{}]", text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > limit:
            return True
    return False


def _expanded_size(root: Any, limit: int) -> int:
    """The number of nodes the document has once every alias is expanded (stops past limit);
    iterative, so deep nesting cannot exhaust the stack."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done:
            if id(node) in entered:  # met again below itself: a recursive alias
                return limit + 1
            entered.add(id(node))
        children = _children(node)
        if children_done:
            total = 1
            for child in children:
                total += sizes[id(child)]
                if total > limit:
                    return total
            sizes[id(node)] = total
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: Any) -> list[Any]:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, tuple):
            out.extend(item)
        else:
            out.append(item)
    return out


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
    # pydantic puts validator names (function-…) and union tags (<…>, _cascade_spec.py) in a
    # place; neither is a key the user wrote
    loc = tuple(p for p in first["loc"]
                if not (isinstance(p, str) and (p.startswith("function-") or (p.startswith("<") and p.endswith(">")))))
    where = f"{shown_as}: {loc_to_str(loc)}" if loc else shown_as
    kind = first["type"]
    if kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        import difflib

        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.75)
        hint = (f"; did you mean {close[0]!r}?" if close else "") + (f"; known: {', '.join(known)}" if known else "")
        return error(f"{where}: unknown key {loc[-1]!r}{hint}")
    if kind == "missing":
        return error(f"{where}: required key is missing; fix: add it")
    msg = first["msg"].removeprefix("Value error, ")  # a validator's own message says what to fix
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
        fields = getattr(current, "model_fields", {})
        field = next((f for name, f in fields.items() if (f.alias or name) == part), None)
        if field is None:
            return []
        current = _model_in(field.annotation, typing)
    fields = getattr(current, "model_fields", None)
    return sorted(f.alias or name for name, f in fields.items()) if fields else []


def _model_in(annotation: Any, typing: Any) -> Any:
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg, typing)
        if found is not None:
            return found
    return None
