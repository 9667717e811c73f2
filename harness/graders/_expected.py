"""What each built-in grader needs from a golden case's `expected`, checked at load so a case
no grader can score is a validation error naming its line, not a 0 for every model.

Custom (`python`) graders and judges decide for themselves and are not checked here.
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
    if expected is None:
        if kind == "json" and grader.options.get("fields") is None:
            return None  # a json grader without fields checks validity (and the schema) alone
        return f"has no 'expected', which the {grader.name} grader needs"
    if kind == "text":
        return _text_problem(grader.name, expected)
    if kind == "label":
        return _label_problem(grader, expected, output_spec)
    if kind == "number":
        return _number_problem(expected)
    return _json_problem(expected, output_spec)


def _text_problem(name: str, expected: Any) -> str | None:
    values = expected if isinstance(expected, list) else [expected]
    if not values or any(isinstance(v, (dict, list, bool)) or v is None or (isinstance(v, float) and not
                                                                         math.isfinite(v)) for v in values):
        return f"'expected' must be a string or a list of strings for the {name} grader, got {expected!r}"
    return None


def _label_problem(grader: Any, expected: Any, output_spec: dict[str, Any] | None) -> str | None:
    from ._text import label_form

    if isinstance(expected, (dict, list, bool)) or expected is None:
        return f"'expected' must be one label for the choice grader, got {expected!r}"
    choices = grader.options.get("choices") or (output_spec or {}).get("choices") or []
    if choices and label_form(str(expected)) not in _label_forms(tuple(choices)):
        return f"expected {expected!r} is not one of the choices {', '.join(map(repr, choices))}"
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


def _json_problem(expected: Any, output_spec: dict[str, Any] | None) -> str | None:
    schema = (output_spec or {}).get("json_schema")
    if schema is None or not isinstance(expected, dict):
        return None
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.validators.validator_for(schema)(schema).iter_errors(expected))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"'expected' does not satisfy the task's output.json_schema at {where}: {error.message}"
