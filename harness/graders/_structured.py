"""The built-in graders of structured answers: `json` (parse, schema, fields) and `numeric`
(a number within a tolerance). Each factory checks its options and returns `(output, case) -> Grade`."""

from __future__ import annotations

from typing import Any

from ._builtin import _bool, _choice, _number, _str_list
from ._registry import BadOption, Case, Grade, GradeFn, grader
from ._text import all_numbers, first_number, json_equal, parse_json, show, whole_number


# ---- json ----------------------------------------------------------------------------------


def _schema_checker(schema: Any, output_spec: dict[str, Any] | None, formats: bool = True) -> Any:
    """A jsonschema validator, or None when no schema applies."""
    if schema is None or schema is True:
        task_schema = (output_spec or {}).get("json_schema")
        if schema is True and task_schema is None:
            raise BadOption("schema", "true means the task's output json_schema, but the task has none; "
                                      "fix: give the schema here or add output: {json_schema: ...} to the task")
        schema = task_schema
    if schema is None or schema is False:
        return None
    if not isinstance(schema, dict):
        raise BadOption("schema", f"must be a JSON Schema mapping or true, got {schema!r}")
    import jsonschema  # only tasks with a schema pay for the import

    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise BadOption("schema", f"not a valid JSON Schema: {exc.message}") from None
    # Without a format checker JSON Schema treats `format` as a note: "date" would pass "soon".
    return cls(schema, format_checker=cls.FORMAT_CHECKER if formats else None)


def _compare_fields(fields: Any, want: Any, got: Any) -> Grade:
    if fields == "all":
        if not isinstance(want, dict):
            raise ValueError(f"fields: 'all' needs expected to be a JSON object, got {show(want)}")
        fields = list(want)
    if not isinstance(want, dict) or any(f not in want for f in fields):
        raise ValueError(f"fields: expected must be a JSON object with fields {fields}, got {show(want)}")
    if not fields:
        return Grade(1.0, True, "valid JSON (no fields to compare)")
    if not isinstance(got, dict):
        return Grade(0.0, False, f"expected a JSON object, got {type(got).__name__}")
    wrong = [f for f in fields if f not in got or not json_equal(want[f], got[f])]
    if not wrong:
        return Grade(1.0, True, f"valid JSON; all {len(fields)} fields match")
    details = ", ".join(
        f"{f}: expected {show(want[f])}, got {show(got[f]) if f in got else '(missing)'}" for f in wrong
    )
    return Grade(1 - len(wrong) / len(fields), False, f"{len(fields) - len(wrong)}/{len(fields)} fields match; {details}")


_JSON_MODES = ("find", "whole")


@grader("json", recorded_if_set=("mode", "formats"))
def json_(*, schema: Any = None, fields: Any = None, mode: str = "find", formats: bool = True,
          output_spec: dict[str, Any] | None = None) -> GradeFn:
    """Valid JSON, optionally matching a JSON Schema and fields of expected.

    mode: find (default) takes the JSON in the text: the whole output, a ```json fence, else the
    first {...}; whole requires the whole output (trimmed) to be JSON, as promptfoo's is-json.
    formats: true (default) checks the schema's `format`s (date, email, ipv4, ...) with
    jsonschema's format checker; false treats them as notes, as JSON Schema does by default.
    """
    mode, formats = _choice("mode", mode, _JSON_MODES), _bool("formats", formats)
    checker = _schema_checker(schema, output_spec, formats)
    if fields is not None and fields != "all":
        if not isinstance(fields, list):
            raise BadOption("fields", f"must be a list of field names or 'all', got {fields!r}")
        fields = _str_list("fields", fields)

    def grade(output: str, case: Case) -> Grade:
        try:
            value = parse_json(output) if mode == "find" else _whole_json(output)
        except ValueError as exc:
            return Grade(0.0, False, f"invalid JSON ({exc}) in {show(output)}")
        if checker is not None:
            error = _best_error(checker, value)
            if error is not None:
                return Grade(0.0, False, f"schema violation at {error.json_path}: {_cut(error.message)}")
        wanted = fields if fields is not None else ("all" if isinstance(case.expected, dict) else None)
        if wanted is None:
            return Grade(1.0, True, "valid JSON" + (", matches schema" if checker is not None else ""))
        return _compare_fields(wanted, case.expected, value)

    return grade


def _whole_json(output: str) -> Any:
    import json

    try:
        return json.loads(output)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the whole output must be JSON (mode: whole): {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}") from None


def _best_error(checker: Any, value: Any) -> Any:
    from jsonschema.exceptions import best_match

    return best_match(checker.iter_errors(value))


def _cut(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- numeric -------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e15 else repr(x)


_NUMERIC_READS = ("first", "last", "anywhere", "whole")


@grader("numeric", recorded_if_set=("read",))
def numeric(*, tolerance: float = 0, relative: float = 0, read: str = "first") -> GradeFn:
    """A number in the output within tolerance (absolute) or relative (fraction) of expected.

    read: which number counts. first (default); last ("28 + 32 = 60" reads 60, for worked
    answers); anywhere (passes when any number in the output is close enough); whole (the
    whole output, trimmed, must be one number).
    """
    tolerance, relative = _number("tolerance", tolerance), _number("relative", relative)
    read = _choice("read", read, _NUMERIC_READS)

    def close(got: float, want: float, allowed: float) -> bool:
        # The small slack absorbs binary rounding (0.1 + 0.2 style) when the tolerance is 0.
        return abs(got - want) <= allowed + 1e-12 * max(1.0, abs(want))

    def grade(output: str, case: Case) -> Grade:
        want = case.expected
        if isinstance(want, str):
            want = first_number(want)
        if isinstance(want, bool) or not isinstance(want, (int, float)):
            raise ValueError(f"case {case.id!r} needs a numeric 'expected', got {case.expected!r}")
        allowed = max(tolerance, relative * abs(want))
        if read == "whole":
            found = [] if (w := whole_number(output)) is None else [w]
        else:
            found = all_numbers(output)
        if not found:
            where = "the whole output is not a number" if read == "whole" else "no number found"
            return Grade(0.0, False, f"expected {_fmt(want)}, {where} in {show(output)}")
        if read == "anywhere":
            hit = next((g for g in found if close(g, want, allowed)), None)
            if hit is not None:
                return Grade(1.0, True, f"got {_fmt(hit)} (among {len(found)} numbers), expected {_fmt(want)}")
            return Grade(0.0, False, f"expected {_fmt(want)}, none of {', '.join(map(_fmt, found[:8]))} "
                                     f"is within {_fmt(allowed)}")
        got = found[-1] if read == "last" else found[0]
        off = abs(got - want)
        if close(got, want, allowed):
            return Grade(1.0, True, f"got {_fmt(got)}, expected {_fmt(want)}")
        return Grade(0.0, False, f"expected {_fmt(want)}, got {_fmt(got)} (off by {_fmt(off)}; allowed {_fmt(allowed)})")

    return grade
