"""Structured graders: json (valid, schema, fields, format, mode) and numeric (tolerance, which
number is read)."""

from __future__ import annotations


import pytest

from harness.errors import GraderError
from tests.graders.gradefix import W, build, grade


# ---- json ------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"priority": {"enum": ["low", "high"]}, "team": {"type": "string"}},
    "required": ["priority"],
}


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        ('{"priority": "high", "team": "billing"}', {"priority": "high", "team": "billing"}, 1.0),
        ('  {"priority": "HIGH ", "team": "Billing"}\n', {"priority": "high", "team": "billing"}, 1.0),
        ('```json\n{"priority": "high"}\n```', {"priority": "high"}, 1.0),
        ('Sure! Here it is: {"priority": "high"} Hope that helps {}', {"priority": "high"}, 1.0),
        ('{"n": 1.0}', {"n": 1}, 1.0),
        ('{"n": "1"}', {"n": 1}, 0.0),
        ('{"tags": ["A", "b"]}', {"tags": ["a", "b"]}, 1.0),
        ('{"priority": "low", "team": "billing"}', {"priority": "high", "team": "billing"}, 0.5),
        ('{"ok": true}', None, 1.0),
        ("[1, 2]", {"priority": "high"}, 0.0),
        ("not json at all", {"priority": "high"}, 0.0),
        ("", None, 0.0),
    ],
)
def test_json(output, expected, score):
    result = grade({"type": "json"}, output, expected)
    assert result.score == score and result.passed is (score == 1.0)


def test_json_reason_lists_mismatching_fields():
    result = grade({"type": "json"}, '{"priority": "low"}', {"priority": "high", "team": "billing"})
    assert result.reason == "0/2 fields match; priority: expected 'high', got 'low', team: expected 'billing', got (missing)"


def test_json_reason_tells_a_number_from_a_string():
    assert grade({"type": "json"}, '{"n": "1"}', {"n": 1}).reason == "0/1 fields match; n: expected 1, got '1'"


def test_json_invalid_reason_says_why():
    assert grade({"type": "json"}, "nope", None).reason.startswith("invalid JSON (Expecting value at line 1 column 1)")


def test_json_fields_option_compares_only_those():
    result = grade({"type": "json", "fields": ["priority"]}, '{"priority": "high", "team": "x"}', {"priority": "high", "team": "y"})
    assert result.passed


def test_json_uses_the_task_schema_by_default():
    result = grade({"type": "json"}, '{"priority": "urgent"}', None, output_spec={"json_schema": SCHEMA})
    assert result.score == 0.0 and result.reason.startswith("schema violation at $.priority: 'urgent' is not one of")


def test_json_schema_missing_required_field_fails():
    result = grade({"type": "json", "schema": SCHEMA}, '{"team": "x"}', None)
    assert result.reason == "schema violation at $: 'priority' is a required property"


def test_json_schema_false_ignores_the_task_schema():
    result = grade({"type": "json", "schema": False}, '{"priority": "urgent"}', None, output_spec={"json_schema": SCHEMA})
    assert result.passed and result.reason == "valid JSON"


def test_json_schema_true_uses_the_task_schema():
    result = grade({"type": "json", "schema": True}, '{"priority": "low"}', None, output_spec={"json_schema": SCHEMA})
    assert result.passed and result.reason == "valid JSON, matches schema"


def test_json_fields_all_without_an_object_expected_is_a_grader_error():
    assert grade({"type": "json", "fields": "all"}, "{}", "high").reason.startswith("grader error:")


# ---- numeric ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "output", "expected", "passed"),
    [
        ({}, "42", 42, True),
        ({}, "The answer is 42.", 42, True),
        ({}, "Total: $1,234.50", 1234.5, True),
        ({}, "-3.5 degrees", -3.5, True),
        ({}, "−3", -3, True),
        ({}, "-$20", -20, True),
        ({}, "0.30", 0.3, True),
        ({}, "COVID-19 cases: 5", 19, True),
        ({}, "41", 42, False),
        ({"tolerance": 1}, "41", 42, True),
        ({"tolerance": 1}, "40", 42, False),
        ({"relative": 0.05}, "104.9", 100, True),
        ({"relative": 0.05}, "94", 100, False),
        ({}, "about 1,000", "1,000", True),
        ({}, "no number here", 42, False),
        ({}, "", 42, False),
        ({}, "<b>42</b>", 42, True),
    ],
)
def test_numeric(options, output, expected, passed):
    assert grade({"type": "numeric", **options}, output, expected).passed is passed


def test_numeric_reason_says_how_far_off():
    assert grade({"type": "numeric"}, "41", 42).reason == "expected 42, got 41 (off by 1; allowed 0)"


def test_numeric_reason_when_no_number():
    assert grade({"type": "numeric"}, "dunno", 42).reason == "expected 42, no number found in 'dunno'"


def test_numeric_non_numeric_expected_is_a_grader_error():
    assert grade({"type": "numeric"}, "42", {"x": 1}).reason.startswith("grader error:")


def test_json_mode_whole_needs_the_whole_output_to_be_json():
    chatty = 'Sure! Here it is: {"a": 1}'
    assert grade({"type": "json"}, chatty).passed  # default: find the JSON in the text
    got = grade({"type": "json", "mode": "whole"}, chatty)
    assert not got.passed and "the whole output must be JSON (mode: whole)" in got.reason
    assert grade({"type": "json", "mode": "whole"}, ' {"a": 1}\n').passed


def test_json_mode_must_be_known():
    with pytest.raises(GraderError, match=rf"^{W}\.mode: must be one of find, whole, got 'strict'"):
        build({"type": "json", "mode": "strict"})


DATE_SCHEMA = {"type": "object", "properties": {"due": {"type": "string", "format": "date"}}}


@pytest.mark.parametrize(
    ("output", "formats", "passed"),
    [
        ('{"due": "2024-03-04"}', True, True),
        ('{"due": "next Tuesday"}', True, False),
        ('{"due": "2024-02-30"}', True, False),  # no such day
        ('{"due": "next Tuesday"}', False, True),  # formats: false treats format as a note
    ],
)
def test_json_schema_format_is_checked(output, formats, passed):
    got = grade({"type": "json", "schema": DATE_SCHEMA, "formats": formats}, output)
    assert got.passed is passed
    if not passed:
        assert "is not a 'date'" in got.reason


@pytest.mark.parametrize(
    ("read", "output", "passed"),
    [
        ("first", "28 + 32 = 60", False),
        ("last", "28 + 32 = 60", True),
        ("anywhere", "28 + 32 = 60", True),
        ("anywhere", "28 + 32 = 61", False),
        ("whole", "60", True),
        ("whole", " 60.\n", True),
        ("whole", "60 apples", False),
        ("last", "It is 60. Final answer: 61", False),
    ],
)
def test_numeric_read_chooses_which_number_counts(read, output, passed):
    assert grade({"type": "numeric", "read": read}, output, 60).passed is passed


def test_numeric_read_last_reason_names_the_number_read():
    assert grade({"type": "numeric", "read": "last"}, "28 + 32 = 60", 60).reason == "got 60, expected 60"
    assert grade({"type": "numeric"}, "28 + 32 = 60", 60).reason == "expected 60, got 28 (off by 32; allowed 0)"


def test_numeric_read_must_be_known_and_is_recorded_only_when_set():
    with pytest.raises(GraderError, match=rf"^{W}\.read: must be one of first, last, anywhere, whole"):
        build({"type": "numeric", "read": "final"})
    assert build({"type": "numeric"}).options == {"tolerance": 0, "relative": 0}
    assert build({"type": "numeric", "read": "last"}).options == {"tolerance": 0, "relative": 0, "read": "last"}
