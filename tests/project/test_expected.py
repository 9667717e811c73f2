"""A case that no grader can score is a validation error naming its line, before any call."""

from __future__ import annotations

import json

import pytest

from harness import load_project
from harness.errors import SpecError
from tests.projfix import spec, write_project

SCHEMA = {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}


def _load(tmp_path, expected, graders, output=None):
    case = {"id": "a", "vars": {"text": "x"}}
    if expected is not ...:
        case["expected"] = expected
    write_project(tmp_path, specs={"t": spec(graders=graders, **({"output": output} if output else {}))},
                  golden={"t": [case]})
    return load_project(tmp_path)


@pytest.mark.parametrize("expected, graders, output, says", [
    ("maybe", [{"type": "choice"}], {"choices": ["yes", "no"]}, "expected 'maybe' is not one of the choices 'yes', 'no'"),
    (..., [{"type": "exact"}], None, "has no 'expected', which the exact grader needs"),
    ({"a": 1}, [{"type": "exact"}], None, "'expected' must be a string or a list of strings for the exact grader"),
    (float("nan"), [{"type": "numeric"}], None, "'expected' must be a finite number for the numeric grader"),
    ({"email": 3}, [{"type": "json"}], {"json_schema": SCHEMA},
     "'expected' does not satisfy the task's output.json_schema at email: 3 is not of type 'string'"),
])
def test_a_case_no_grader_can_score_is_refused(tmp_path, expected, graders, output, says):
    with pytest.raises(SpecError, match=r"^golden_sets/t\.jsonl:1: case 'a' " + _re(says) + r".*graders\[0\] in evals/t\.yaml"):
        _load(tmp_path, expected, graders, output)


def test_an_invalid_output_schema_is_refused_even_without_a_json_grader(tmp_path):
    with pytest.raises(SpecError, match=r"evals/t\.yaml: output\.json_schema.*not a valid JSON Schema"):
        _load(tmp_path, "x", [{"type": "contains", "value": "x"}], {"json_schema": {"type": "objekt"}})


def test_graders_that_read_no_expected_need_none(tmp_path):
    project = _load(tmp_path, ..., [{"type": "contains", "value": "x"}, {"type": "regex", "pattern": "x"}])
    assert len(project.tasks["t"].golden) == 1


@pytest.mark.parametrize("output", [None, {"json_schema": SCHEMA}])
def test_a_json_grader_without_fields_needs_no_expected(tmp_path, output):
    # it checks that the output is JSON (matching the schema): promptfoo's is-json, as imported
    project = _load(tmp_path, ..., [{"type": "json", "mode": "whole"}], output)
    assert project.tasks["t"].golden.cases[0].expected is None


def test_a_json_grader_comparing_fields_needs_expected(tmp_path):
    with pytest.raises(SpecError, match=r"case 'a' has no 'expected', which the json grader needs"):
        _load(tmp_path, ..., [{"type": "json", "fields": ["email"]}])


def test_expected_key_skips_cases_without_that_key(tmp_path):
    project = _load(tmp_path, {"other": 1}, [{"type": "exact", "expected_key": "label"}])
    assert project.tasks["t"].golden.cases[0].expected == {"other": 1}


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_nan_in_json_lines_is_read_as_a_number_and_refused(tmp_path):
    write_project(tmp_path, specs={"t": spec(graders=[{"type": "numeric"}])}, golden={"t": []})
    (tmp_path / "golden_sets" / "t.jsonl").write_text(json.dumps({"id": "a", "vars": {"text": "x"}}).replace(
        "}}", '}, "expected": NaN}') + "\n")
    with pytest.raises(SpecError, match="finite number"):
        load_project(tmp_path)
