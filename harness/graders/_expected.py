"""What each built-in grader needs from a golden case's `expected`, checked at load so a case
no grader can score is a validation error naming its line, not a 0 for every model.

Custom (`python`) graders and judges decide for themselves and are not checked here.

Three checks beyond the shape of `expected`:
- when the task declares `output.choices`, every text an expected value gives must be one of
  them, whichever grader reads it: an answer the model is not allowed to give (the choices are a
  grammar for local models and the output contract for API ones) can never be matched;
- `contains*` needles that are empty after the grader's normalisers are refused: an empty
  needle is found in every output (the grader refuses it at run time, scoring every output 0);
- `json` reads `expected` only to compare fields, so a `json` grader that checks validity or a
  schema needs none.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

# grader -> what it reads from expected: text (a string, a number, or a list of them meaning
# "any of"), label (one of the task's choices), number, json (a value the schema accepts).
# An option named after the colon, when set, replaces expected (e.g. contains: value).
_NEEDS = {
    "exact": "text", "contains": "text:value", "contains_any": "text:values", "contains_all": "text:values",
    "choice": "label", "numeric": "number", "token_f1": "text", "rouge_l": "text", "similarity": "text",
    "json": "json", "regex": "text:needs-group",
}
_NEEDLES = ("contains", "contains_any", "contains_all")  # a needle empty after normalising matches everything


def expected_problem(grader: Any, expected: Any, output_spec: dict[str, Any] | None) -> str | None:
    """Why this grader cannot score a case with this expected value (None when it can)."""
    need = _NEEDS.get(grader.name)
    if need is None:
        return None
    kind, _, option = need.partition(":")
    if option == "needs-group":
        if grader.options.get("group") is None:
            return None  # a plain regex reads no expected
    elif option and grader.options.get(option) is not None:
        return None
    key = grader.options.get("expected_key")
    if key is not None:
        if not isinstance(expected, dict) or key not in expected:
            return None  # not graded by this grader (Grade.applies is False)
        expected = expected[key]
    if kind == "json":
        return _json_problem(grader, expected, output_spec)
    if expected is None:
        return f"has no 'expected', which the {grader.name} grader needs"
    if kind == "text":
        return (_text_problem(grader.name, expected) or _needle_problem(grader, expected)
                or _choices_problem(expected, (output_spec or {}).get("choices")))
    if kind == "label":
        return _label_problem(grader, expected, output_spec)
    return _number_problem(expected)


def _text_problem(name: str, expected: Any) -> str | None:
    values = expected if isinstance(expected, list) else [expected]
    if not values or any(isinstance(v, (dict, list, bool)) or v is None or (isinstance(v, float) and not
                                                                         math.isfinite(v)) for v in values):
        return f"'expected' must be a string or a list of strings for the {name} grader, got {expected!r}"
    return None


def _label_problem(grader: Any, expected: Any, output_spec: dict[str, Any] | None) -> str | None:

    if isinstance(expected, (dict, list, bool)) or expected is None:
        return f"'expected' must be one label for the choice grader, got {expected!r}"
    return _choices_problem(expected, grader.options.get("choices") or (output_spec or {}).get("choices"))


def _choices_problem(expected: Any, choices: list[str] | None) -> str | None:
    """The first expected text that is not one of the choices (compared as labels: case, quotes
    and surrounding punctuation aside), when there are choices."""
    from ._text import label_form

    if not choices:
        return None
    forms = _label_forms(tuple(choices))
    for value in expected if isinstance(expected, list) else [expected]:
        if label_form(str(value)) not in forms:
            return f"expected {value!r} is not one of the choices {', '.join(map(repr, choices))}"
    return None


def _needle_problem(grader: Any, expected: Any) -> str | None:
    """An expected needle that the contains graders' normalisers turn into nothing."""
    from ._text import NORMALIZERS

    if grader.name not in _NEEDLES:
        return None
    names = grader.options.get("normalize") or []
    names = [names] if isinstance(names, str) else names
    for value in expected if isinstance(expected, list) else [expected]:
        text = str(value)
        for name in names:
            text = NORMALIZERS[name](text)
        if not text:
            after = f" after normalize {names}" if names and str(value) else ""
            return (f"has an empty needle {value!r}{after} in 'expected', which the {grader.name} grader "
                    f"would find in every output")
    return None


@lru_cache(maxsize=64)
def _label_forms(choices: tuple[str, ...]) -> frozenset[str]:
    """The label forms of a task's choices, worked out once, not once per case."""
    from ._text import label_form

    return frozenset(label_form(c) for c in choices)


def _number_problem(expected: Any) -> str | None:
    from ._text import first_number

    value = first_number(expected) if isinstance(expected, str) else expected
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"'expected' must be a finite number for the numeric grader, got {expected!r}"
    return None


def _json_problem(grader: Any, expected: Any, output_spec: dict[str, Any] | None) -> str | None:
    """`json` compares fields of `expected` only when `fields` is set (or `expected` is a mapping);
    validity and a schema need no `expected`."""
    fields = grader.options.get("fields")
    if fields is not None and not isinstance(expected, dict):
        what = "no 'expected'" if expected is None else f"'expected' {expected!r}, not a JSON object"
        return f"has {what}; the json grader's fields: {fields} compares fields of an expected JSON object"
    if isinstance(fields, list) and (missing := [f for f in fields if f not in expected]):
        return f"has no field {missing[0]!r} in 'expected', which the json grader's fields: {fields} compares"
    schema = (output_spec or {}).get("json_schema")
    if schema is None or not isinstance(expected, dict):
        return None
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.validators.validator_for(schema)(schema).iter_errors(expected))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"'expected' does not satisfy the task's output.json_schema at {where}: {error.message}"
