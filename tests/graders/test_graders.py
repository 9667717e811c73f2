"""Graders: the registry, option checking, every built-in grader, and combining by weight."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.errors import GraderError
from harness.graders import (
    Grade,
    GraderInstance,
    _registry,
    build_grader,
    build_graders,
    combine,
    grader,
    known_graders,
)
from harness.graders._text import levenshtein
from harness.project import Case

WHERE = "evals/t.yaml: graders[0]"
W = r"evals/t\.yaml: graders\[0\]"  # WHERE as a regex
HUGE = "lorem ipsum <b>dolor</b> sit amet " * 30_000  # about 1 MB of chatter with markup


def build(config: dict, output_spec: dict | None = None) -> GraderInstance:
    return build_grader(config, WHERE, output_spec)


def grade(config: dict, output: str, expected=None, output_spec: dict | None = None) -> Grade:
    return build(config, output_spec).grade(output, Case("c1", {}, expected))


@pytest.fixture
def custom_module(monkeypatch):
    """Make tests/custom_grader_fixture.py importable the way a project's own module is."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return "custom_grader_fixture"


@pytest.fixture
def scratch_registry(monkeypatch):
    """Register test graders without leaving them in the real registry."""
    monkeypatch.setattr(_registry, "_FACTORIES", dict(_registry._FACTORIES))
    monkeypatch.setattr(_registry, "_CANONICAL", dict(_registry._CANONICAL))
    monkeypatch.setattr(_registry, "_RECORDED_IF_SET", dict(_registry._RECORDED_IF_SET))


# ---- registry and option checking ------------------------------------------------------------


def test_known_graders_lists_builtins_and_aliases_sorted():
    names = known_graders()
    assert names == sorted(names)
    for name in ["exact", "contains", "contains_any", "contains-any", "contains_all", "contains-all", "regex",
                 "choice", "json", "numeric", "token_f1", "rouge_l", "similarity", "python"]:
        assert name in names


def test_unknown_grader_lists_the_known_ones():
    with pytest.raises(GraderError, match=rf"^{W}\.type: unknown grader 'containz'; known: choice, contains, contains-all"):
        build({"type": "containz"})


def test_missing_type_is_an_error():
    with pytest.raises(GraderError, match=rf"^{W}: missing 'type'; fix: add e\.g\. type: exact"):
        build({"normalize": ["lower"]})


def test_non_mapping_entry_is_an_error():
    with pytest.raises(GraderError, match=rf"^{W}: a grader must be a mapping"):
        build("exact")  # type: ignore[arg-type]


def test_unknown_option_lists_the_known_options():
    with pytest.raises(GraderError, match=rf"^{W}: unknown option 'foo' for grader 'exact'; known: answer, normalize "
                       r"\(and for every grader: weight, not, expected_key\)$"):
        build({"type": "exact", "foo": 1})


def test_output_spec_is_not_a_user_option():
    with pytest.raises(GraderError, match="unknown option 'output_spec' for grader 'choice'; known: answer, choices "):
        build({"type": "choice", "output_spec": {"choices": ["a"]}})


def test_missing_required_option_says_how_to_fix():
    with pytest.raises(GraderError, match=rf"^{W}: grader 'regex' needs option 'pattern'; fix: add pattern:"):
        build({"type": "regex"})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "exact", "normalize": ["upper"]},
         r"\.normalize: unknown normaliser 'upper'; known: collapse_whitespace, lower, squad, strip, strip_punctuation, strip_quotes"),
        ({"type": "exact", "normalize": [1]}, r"\.normalize: must be a list of non-empty strings"),
        ({"type": "regex", "pattern": "(unclosed"}, r"\.pattern: invalid regex '\(unclosed': missing \)"),
        ({"type": "regex", "pattern": "x", "flags": ["global"]}, r"\.flags: unknown flag 'global'; known: ignorecase \(i\), multiline \(m\), dotall \(s\), verbose \(x\)"),
        ({"type": "contains", "value": " ", "normalize": ["strip"]}, r"\.value: ' ' is empty after normalize"),
        ({"type": "contains_any", "values": ["ok", "  "], "normalize": ["strip"]},
         r"\.values: '  ' is empty after normalize, and an empty value is found in every output"),
        ({"type": "contains_all", "values": ["..."], "normalize": ["strip_punctuation"]}, r"\.values: '\.\.\.' is empty"),
        ({"type": "regex", "pattern": "x", "full": "yes"}, r"\.full: must be true or false"),
        ({"type": "contains", "value": ""}, r"\.value: must be a non-empty string"),
        ({"type": "contains_all", "values": []}, r"\.values: must be a list of non-empty strings"),
        ({"type": "numeric", "tolerance": -1}, r"\.tolerance: must be a number >= 0, got -1"),
        ({"type": "numeric", "relative": "5%"}, r"\.relative: must be a number >= 0, got '5%'"),
        ({"type": "token_f1", "pass_at": 1.5}, r"\.pass_at: must be a number in \[0, 1\]"),
        ({"type": "json", "fields": "some"}, r"\.fields: must be a list of field names or 'all'"),
        ({"type": "json", "schema": {"type": "nope"}}, r"\.schema: not a valid JSON Schema"),
        ({"type": "json", "schema": True}, r"\.schema: true means the task's output json_schema, but the task has none; fix:"),
        ({"type": "choice"}, r"\.choices: none given and the task has no output choices; fix:"),
        ({"type": "python", "function": "no_colon"}, r"\.function: must be 'package\.module:callable'"),
    ],
)
def test_bad_option_value_names_the_option(config, message):
    with pytest.raises(GraderError, match=rf"^{W}{message}"):
        build(config)


@pytest.mark.parametrize("weight", [0, -1, "2", True, float("inf")])
def test_weight_must_be_a_positive_number(weight):
    with pytest.raises(GraderError, match=rf"^{W}\.weight: must be a number > 0"):
        build({"type": "exact", "weight": weight})


def test_instance_records_name_weight_and_resolved_options():
    instance = build({"type": "exact", "normalize": ["lower"], "weight": 2})
    assert (instance.name, instance.weight, instance.options) == ("exact", 2.0, {"normalize": ["lower"]})


def test_options_include_defaults_and_are_json_serialisable():
    instance = build({"type": "similarity"})
    assert instance.options == {"normalize": ["strip", "lower"], "pass_at": 0.8}
    assert instance.weight == 1.0
    assert json.loads(json.dumps(instance.options)) == instance.options


def test_alias_builds_the_canonical_grader():
    assert build({"type": "contains-any", "values": ["a"]}).name == "contains_any"


def test_build_graders_locates_each_entry():
    with pytest.raises(GraderError, match=r"^evals/x\.yaml: graders\[1\]\.type: unknown grader 'nope'"):
        build_graders([{"type": "exact"}, {"type": "nope"}], "evals/x.yaml: graders")


def test_build_graders_refuses_an_empty_list():
    message = r"^evals/x\.yaml: graders: a task needs at least one grader; fix: add e\.g\. - \{type: exact\}$"
    with pytest.raises(GraderError, match=message):
        build_graders([], "evals/x.yaml: graders")


def test_build_graders_passes_output_spec_to_each():
    instances = build_graders([{"type": "choice"}, {"type": "exact"}], "evals/x.yaml: graders", {"choices": ["a", "b"]})
    assert [i.name for i in instances] == ["choice", "exact"]


def test_custom_factory_receives_the_output_spec(scratch_registry):
    seen = {}

    @grader("spy")
    def spy(*, level: int = 1, output_spec=None):
        seen["spec"] = output_spec
        return lambda output, case: Grade(1.0, True, "ok")

    instance = build({"type": "spy"}, {"choices": ["x"]})
    assert seen["spec"] == {"choices": ["x"]}
    assert instance.options == {"level": 1}


def test_registering_a_taken_name_is_refused(scratch_registry):
    with pytest.raises(ValueError, match="grader 'exact' is already registered"):
        grader("exact")(lambda: None)


def test_factory_value_error_becomes_a_located_grader_error(scratch_registry):
    @grader("picky")
    def picky(*, size: int = 1):
        raise ValueError("size must be even; fix: use 2")

    with pytest.raises(GraderError, match=rf"^{W}: grader 'picky': size must be even; fix: use 2$"):
        build({"type": "picky", "size": 3})


# ---- Grade, crashes, combine -----------------------------------------------------------------


@pytest.mark.parametrize("score", [-0.1, 1.1, float("nan"), "1"])
def test_grade_rejects_a_score_outside_zero_to_one(score):
    with pytest.raises(ValueError, match="score must be a number in"):
        Grade(score, True, "")


def test_crashing_grader_scores_zero_with_the_error_as_reason():
    def crash(output, case):
        raise RuntimeError("kaput")

    result = GraderInstance("boom", {}, 1.0, crash).grade("x", Case("c1", {}))
    assert result == Grade(0.0, False, "grader error: RuntimeError: kaput")


def test_grader_returning_a_non_grade_is_a_grader_error():
    result = GraderInstance("odd", {}, 1.0, lambda output, case: 1).grade("x", Case("c1", {}))
    assert (result.score, result.passed, result.reason) == (0.0, False, "grader error: TypeError: returned int, not a Grade")


def test_case_without_expected_is_a_grader_error_not_a_crash():
    result = grade({"type": "exact"}, "billing", expected=None)
    assert not result.passed and result.reason.startswith("grader error: ValueError: case 'c1' needs 'expected'")


def test_none_output_is_graded_as_empty_text():
    assert grade({"type": "exact"}, None, "x").reason == "expected 'x', got ''"  # type: ignore[arg-type]


def test_combine_takes_the_weighted_mean_and_needs_every_pass():
    a = GraderInstance("exact", {}, 3.0, lambda o, c: Grade(1.0, True, ""))
    b = GraderInstance("json", {}, 1.0, lambda o, c: Grade(0.0, False, ""))
    result = combine([a, b], [Grade(1.0, True, "matches"), Grade(0.0, False, "invalid JSON")])
    assert result == Grade(0.75, False, "exact: matches; json: invalid JSON")


def test_combine_passes_when_every_grader_passes():
    a = GraderInstance("a", {}, 1.0, lambda o, c: Grade(1.0, True, ""))
    b = GraderInstance("b", {}, 2.0, lambda o, c: Grade(0.6, True, ""))
    result = combine([a, b], [Grade(1.0, True, "x"), Grade(0.6, True, "y")])
    assert result.passed and result.score == pytest.approx(2.2 / 3)


def test_combine_single_grader_keeps_its_reason_unprefixed():
    a = GraderInstance("exact", {}, 1.0, lambda o, c: Grade(1.0, True, ""))
    assert combine([a], [Grade(1.0, True, "matches 'x'")]).reason == "matches 'x'"


def test_combine_needs_one_grade_per_grader():
    a = GraderInstance("exact", {}, 1.0, lambda o, c: Grade(1.0, True, ""))
    with pytest.raises(ValueError, match="one grade per grader"):
        combine([a], [])


# ---- exact -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("normalize", "output", "expected", "passed"),
    [
        (None, " billing\n", "billing", True),
        (None, "Billing", "billing", False),
        (["strip", "lower", "strip_punctuation"], "Billing.", "billing", True),
        (["collapse_whitespace"], "new \t york", "new york", True),
        (["strip_quotes"], ' "billing" ', "billing", True),
        ("lower", "BILLING", "billing", True),
        (None, "b", ["a", "b"], True),
        (None, "c", ["a", "b"], False),
        (None, "", "billing", False),
        (None, "<b>billing</b>", "billing", False),
    ],
)
def test_exact(normalize, output, expected, passed):
    config = {"type": "exact"} if normalize is None else {"type": "exact", "normalize": normalize}
    result = grade(config, output, expected)
    assert (result.passed, result.score) == (passed, float(passed))


def test_exact_reason_shows_expected_and_got():
    assert grade({"type": "exact"}, "Billing.", "billing").reason == "expected 'billing', got 'Billing.'"


def test_exact_reason_lists_every_accepted_answer():
    assert grade({"type": "exact"}, "c", ["a", "b"]).reason == "expected one of 'a', 'b', got 'c'"


def test_reason_cuts_a_huge_output_to_about_80_chars():
    reason = grade({"type": "exact"}, "x" * 100_000, "billing").reason
    assert reason == "expected 'billing', got '" + "x" * 79 + "…'"


# ---- contains, contains_any, contains_all ----------------------------------------------------


@pytest.mark.parametrize(
    ("config", "output", "expected", "passed"),
    [
        ({"type": "contains"}, "Your REFUND is on its way", "refund", True),
        ({"type": "contains", "value": "sorry"}, "We are sorry.", "refund", True),
        ({"type": "contains"}, "No luck", "refund", False),
        ({"type": "contains"}, "", "refund", False),
        ({"type": "contains"}, "<p>Refund <i>issued</i></p>", "refund", True),
        ({"type": "contains", "normalize": []}, "Refund", "refund", False),
        ({"type": "contains_any"}, "Try the billing desk", ["shipping", "billing"], True),
        ({"type": "contains-any", "values": ["a1", "b2"]}, "code B2", None, True),
        ({"type": "contains_any"}, "nothing here", ["shipping", "billing"], False),
        ({"type": "contains_all"}, "billing and shipping", ["shipping", "billing"], True),
        ({"type": "contains-all", "values": ["x", "y"]}, "x and y", None, True),
    ],
)
def test_contains_family(config, output, expected, passed):
    result = grade(config, output, expected)
    assert result.passed is passed and result.score == float(passed)


def test_contains_finds_a_value_at_the_end_of_a_huge_output():
    assert grade({"type": "contains"}, HUGE + " Refund", "refund").passed


def test_contains_reason_names_the_missing_value():
    assert grade({"type": "contains"}, "No luck", "refund").reason == "'refund' not found in 'No luck'"


def test_contains_with_list_expected_points_to_contains_any():
    reason = grade({"type": "contains"}, "a", ["a", "b"]).reason
    assert reason.startswith("grader error:") and "use contains_any or contains_all" in reason


def test_contains_empty_expected_is_an_error_not_a_free_pass():
    reason = grade({"type": "contains"}, "anything", "").reason
    assert reason.startswith("grader error:") and "empty value matches every output" in reason


def test_contains_all_gives_partial_credit_but_fails():
    result = grade({"type": "contains_all"}, "only billing", ["billing", "shipping"])
    assert result == Grade(0.5, False, "missing 'shipping' (1 of 2 found)")


def test_contains_any_reason_lists_what_was_looked_for():
    result = grade({"type": "contains_any"}, "nope", ["a1", "b2"])
    assert result.reason == "none of 'a1', 'b2' found in 'nope'"


# ---- regex -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "output", "passed"),
    [
        ({"pattern": r"\d{3}-\d{4}"}, "call 555-1234 now", True),
        ({"pattern": r"\d{3}-\d{4}"}, "call me", False),
        ({"pattern": "yes|no", "full": True}, "yes", True),
        ({"pattern": "yes|no", "full": True}, "yes!", False),
        ({"pattern": "yes"}, "YES", False),
        ({"pattern": "yes", "flags": ["ignorecase"]}, "YES", True),
        ({"pattern": "^b", "flags": ["multiline"]}, "a\nb", True),
        ({"pattern": "a.b", "flags": ["dotall"]}, "a\nb", True),
        ({"pattern": "a.b"}, "a\nb", False),
        ({"pattern": "yes", "flags": ["i"]}, "YES", True),
        ({"pattern": "^b", "flags": ["m"]}, "a\nb", True),
        ({"pattern": "a.b", "flags": ["s"]}, "a\nb", True),
        ({"pattern": "a b  # the words", "flags": ["x"]}, "ab", True),
        ({"pattern": "a b  # the words", "flags": ["verbose"]}, "ab", True),
        ({"pattern": "a b", "flags": []}, "ab", False),
        ({"pattern": "^B.C", "flags": ["i", "m", "s"]}, "a\nb\nc", True),
        ({"pattern": "x"}, "", False),
        ({"pattern": "<b>ok</b>"}, "<p><b>ok</b></p>", True),
    ],
)
def test_regex(options, output, passed):
    assert grade({"type": "regex", **options}, output).passed is passed


def test_regex_reasons_show_the_match_or_the_pattern():
    assert grade({"type": "regex", "pattern": r"\d+"}, "id 42", None).reason == r"/\d+/ matched '42'"
    assert grade({"type": "regex", "pattern": "^ok$", "full": True}, "no", None).reason == "'no' does not fully match /^ok$/"


# ---- choice ----------------------------------------------------------------------------------

CHOICES = {"type": "choice", "choices": ["billing", "shipping", "billing dispute"]}


@pytest.mark.parametrize(
    ("output", "expected", "passed"),
    [
        ("billing", "billing", True),
        ("  Billing.\n", "billing", True),
        ("**Billing**", "billing", True),
        ('"shipping"', "shipping", True),
        ("The category is shipping.", "shipping", True),
        ("<label>shipping</label>", "shipping", True),
        ("Billing dispute", "billing dispute", True),
        ("shipping", "billing", False),
        ("billing", "BILLING", True),
    ],
)
def test_choice(output, expected, passed):
    result = grade(CHOICES, output, expected)
    assert (result.passed, result.score) == (passed, float(passed))


def test_choice_reason_for_the_wrong_label():
    assert grade(CHOICES, "Shipping!", "billing").reason == "expected 'billing', got 'shipping'"


def test_choice_with_two_labels_in_the_output_is_ambiguous():
    result = grade(CHOICES, "either billing or shipping", "billing")
    assert result.score == 0.0 and result.reason.startswith("ambiguous: 'billing', 'shipping' appear in")


@pytest.mark.parametrize("output", ["I am not sure", "", "rebilling the shippingcart"])
def test_choice_without_a_whole_word_label_finds_none(output):
    result = grade(CHOICES, output, "billing")
    assert result.score == 0.0 and result.reason.startswith(f"no label found in {output!r}")


def test_choice_takes_its_choices_from_the_output_spec():
    result = grade({"type": "choice"}, "Positive", "positive", output_spec={"choices": ["positive", "negative"]})
    assert result.passed


def test_choice_in_a_huge_output_is_found_quickly():
    assert grade(CHOICES, HUGE + " shipping", "shipping").passed


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


# ---- token_f1, rouge_l, similarity -----------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "output", "expected", "score"),
    [
        ({"type": "token_f1"}, "Paris.", "paris", 1.0),
        # SQuAD's normalisation drops the articles: [cat, sat] vs [cat] is F1 2/3
        ({"type": "token_f1"}, "the cat sat", "the cat", pytest.approx(2 / 3, abs=1e-6)),
        ({"type": "token_f1", "normalize": ["lower", "strip_punctuation"]}, "the cat sat", "the cat", 0.8),
        ({"type": "token_f1"}, "dog", "the cat", 0.0),
        ({"type": "token_f1"}, "", "the cat", 0.0),
        ({"type": "token_f1"}, "cat", ["dog", "the cat"], 1.0),
        ({"type": "token_f1", "normalize": ["lower"]}, "cat", ["dog", "the cat"], pytest.approx(2 / 3, abs=1e-6)),
        ({"type": "token_f1"}, "b a", "a b", 1.0),
        ({"type": "rouge_l"}, "b a", "a b", 0.5),
        ({"type": "rouge_l"}, "the cat sat on the mat", "the cat on the mat", pytest.approx(10 / 11, abs=1e-6)),
        ({"type": "rouge_l"}, "", "the cat", 0.0),
        ({"type": "similarity"}, "Hello ", "hello", 1.0),
        ({"type": "similarity"}, "kitten", "sitting", pytest.approx(4 / 7, abs=1e-6)),
        ({"type": "similarity"}, "", "abc", 0.0),
    ],
)
def test_overlap_scores(config, output, expected, score):
    assert grade(config, output, expected).score == score


@pytest.mark.parametrize(
    ("config", "passed"),
    [
        ({"type": "token_f1"}, True),  # 0.67 >= 0.5
        ({"type": "token_f1", "pass_at": 0.7}, False),
        ({"type": "rouge_l", "pass_at": 0.8}, True),
        ({"type": "similarity"}, False),  # 7/11 < 0.8
        ({"type": "similarity", "pass_at": 0.6}, True),
    ],
)
def test_overlap_passes_at_pass_at(config, passed):
    assert grade(config, "the cat sat", "the cat").passed is passed


def test_overlap_reason_gives_score_threshold_and_reference():
    assert grade({"type": "token_f1"}, "the cat sat", "the cat").reason == "token F1 0.67 >= 0.5 vs 'the cat'"


@pytest.mark.parametrize(
    ("a", "b"),
    [("", ""), ("", "abc"), ("kitten", "sitting"), ("flaw", "lawn"), ("abc", "abc"), ("a" * 70, "b" + "a" * 70),
     ("intention", "execution"), ("ça va", "ca va")],
)
def test_levenshtein_matches_the_textbook_table(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    assert levenshtein(a, b) == prev[-1]


# ---- python ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "output", "expected_grade"),
    [
        ({"function": "says_yes"}, "Yes, it is", Grade(1.0, True, "passed")),
        ({"function": "says_yes"}, "No", Grade(0.0, False, "failed")),
        ({"function": "length_score"}, "abcde", Grade(0.5, False, "score 0.50")),
        ({"function": "length_score", "options": {"target": 5}}, "abcde", Grade(1.0, True, "score 1.00")),
        ({"function": "length_score", "pass_at": 0.5}, "abcde", Grade(0.5, True, "score 0.50")),
        ({"function": "as_dict"}, "x", Grade(0.5, False, "half right")),
        ({"function": "as_grade"}, "x", Grade(1.0, True, "looks like gold")),
    ],
)
def test_python_grader_accepts_natural_return_values(custom_module, config, output, expected_grade):
    config = {"type": "python", **config, "function": f"{custom_module}:{config['function']}"}
    assert grade(config, output, "gold") == expected_grade


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("explodes", "grader error: RuntimeError: kaput"),
        ("wrong_type", "grader error: TypeError: custom grader returned 'great answer'; return a Grade"),
        ("out_of_range", "grader error: ValueError: score must be a number in [0, 1], got 1.5"),
    ],
)
def test_python_grader_misbehaving_scores_zero(custom_module, function, reason):
    result = grade({"type": "python", "function": f"{custom_module}:{function}"}, "x", "gold")
    assert result.score == 0.0 and not result.passed and result.reason.startswith(reason)


def test_python_grader_records_its_options(custom_module):
    instance = build({"type": "python", "function": f"{custom_module}:length_score", "options": {"target": 5}})
    assert instance.options == {"function": "custom_grader_fixture:length_score", "options": {"target": 5}, "pass_at": 1.0}


def test_python_grader_missing_module_names_where_path_and_error():
    message = rf"^{W}\.function: cannot import 'no_such_module_xyz:grade': ModuleNotFoundError: No module named 'no_such_module_xyz'"
    with pytest.raises(GraderError, match=message):
        build({"type": "python", "function": "no_such_module_xyz:grade"})


def test_python_grader_module_failing_on_import_is_reported(tmp_path, monkeypatch):
    (tmp_path / "tierwise_broken_grader.py").write_text("raise RuntimeError('bad setup')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(GraderError, match=r"cannot import 'tierwise_broken_grader:f': RuntimeError: bad setup"):
        build({"type": "python", "function": "tierwise_broken_grader:f"})


def test_python_grader_missing_attribute_is_reported(custom_module):
    with pytest.raises(GraderError, match=r"cannot import 'custom_grader_fixture:nope': AttributeError"):
        build({"type": "python", "function": f"{custom_module}:nope"})


def test_python_grader_target_must_be_callable(custom_module):
    with pytest.raises(GraderError, match=rf"^{W}\.function: 'custom_grader_fixture:NOT_CALLABLE' is a int, not a callable"):
        build({"type": "python", "function": f"{custom_module}:NOT_CALLABLE"})


def test_python_grader_options_must_be_a_mapping(custom_module):
    with pytest.raises(GraderError, match=rf"^{W}\.options: must be a mapping of keyword arguments"):
        build({"type": "python", "function": f"{custom_module}:says_yes", "options": [1]})


# ---- every grader on hostile output ----------------------------------------------------------

EVERY_GRADER = [
    ({"type": "exact"}, "billing"),
    ({"type": "contains"}, "billing"),
    ({"type": "contains_any"}, ["billing", "shipping"]),
    ({"type": "contains_all"}, ["billing", "shipping"]),
    ({"type": "regex", "pattern": r"^\d+$"}, None),
    (CHOICES, "billing"),
    ({"type": "json"}, {"priority": "high"}),
    ({"type": "numeric"}, 42),
    ({"type": "token_f1"}, "the cat"),
    ({"type": "rouge_l"}, "the cat"),
    ({"type": "similarity"}, "the cat"),
]


@pytest.mark.parametrize(("config", "expected"), EVERY_GRADER, ids=lambda v: v.get("type") if isinstance(v, dict) else "")
def test_empty_output_fails_with_a_reason(config, expected):
    result = grade(config, "", expected)
    assert (result.score, result.passed) == (0.0, False) and result.reason and "grader error" not in result.reason


@pytest.mark.parametrize(("config", "expected"), EVERY_GRADER, ids=lambda v: v.get("type") if isinstance(v, dict) else "")
def test_huge_output_is_graded_fast_with_a_short_reason(config, expected):
    start = time.perf_counter()
    result = grade(config, HUGE, expected)
    assert time.perf_counter() - start < 0.5
    assert "grader error" not in result.reason and len(result.reason) < 300


# ---- parity with promptfoo's assertions and inspect_ai's scorers (issue 16, part 0) ----------


@pytest.mark.parametrize(
    ("config", "output", "expected", "passed"),
    [
        ({"type": "contains", "value": "sorry", "not": True}, "Here you go.", None, True),
        ({"type": "contains", "value": "sorry", "not": True}, "Sorry, I can't.", None, False),
        ({"type": "regex", "pattern": r"\d", "not": True}, "no digits", None, True),
        ({"type": "exact", "not": True}, "billing", "billing", False),
    ],
)
def test_not_negates_pass_and_score(config, output, expected, passed):
    got = grade(config, output, expected)
    assert (got.passed, got.score) == (passed, float(passed))
    assert got.reason.startswith("negated (not: true): ")


def test_not_is_recorded_with_the_grader_and_absent_when_unset():
    assert build({"type": "contains", "value": "x", "not": True}).options == {"value": "x", "normalize": ["lower"], "not": True}
    assert build({"type": "contains", "value": "x"}).options == {"value": "x", "normalize": ["lower"]}


def test_not_does_not_turn_a_grader_error_into_a_pass():
    got = grade({"type": "exact", "not": True}, "anything", None)  # no expected: the grader errors
    assert (got.passed, got.score) == (False, 0.0)
    assert got.reason.startswith("grader error:")


def test_not_applies_to_custom_graders(scratch_registry):
    @grader("always_passes")
    def always_passes():
        return lambda output, case: Grade(1.0, True, "fine")

    got = grade({"type": "always_passes", "not": True}, "x")
    assert (got.passed, got.reason) == (False, "negated (not: true): fine")


def test_not_must_be_a_boolean():
    with pytest.raises(GraderError, match=rf"^{W}\.not: must be true or false, got 'yes'"):
        build({"type": "contains", "value": "x", "not": "yes"})


def test_reserved_option_names_cannot_be_factory_parameters(scratch_registry):
    with pytest.raises(ValueError, match="option 'expected_key' is reserved"):
        @grader("keyed")
        def keyed(*, expected_key: str = "a"):
            return lambda output, case: Grade(1.0, True)


def test_expected_key_grades_against_that_key_of_expected():
    config = {"type": "contains", "expected_key": "mention"}
    assert grade(config, "Ahoy matey", {"mention": "ahoy", "rubric": "pirate"}).passed
    assert not grade(config, "Hello", {"mention": "ahoy"}).passed


def test_expected_key_missing_from_a_case_is_not_applicable_and_left_out_of_combine():
    graders = build_graders([{"type": "contains", "expected_key": "a"}, {"type": "contains", "expected_key": "b"}], "g")
    case = Case("c1", {}, {"a": "ahoy"})
    grades = [g.grade("Ahoy there", case) for g in graders]
    assert [g.applies for g in grades] == [True, False]
    assert grades[1].reason == "not applicable: case has no expected 'b'"
    assert combine(graders, grades) == Grade(1.0, True, "found 'ahoy'")


def test_a_case_no_grader_applies_to_passes_and_says_so():
    graders = build_graders([{"type": "contains", "expected_key": "a", "not": True}], "g")
    grades = [graders[0].grade("x", Case("c1", {}, None))]
    assert not grades[0].applies  # negation keeps "not applicable" as it is
    assert combine(graders, grades) == Grade(1.0, True, "no grader applies to this case")


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


# SQuAD v1.1's official F1: normalise (lower, drop string.punctuation, drop a/an/the, collapse
# whitespace), then the harmonic mean of token precision and recall over the common bag.
@pytest.mark.parametrize(
    ("output", "expected", "f1"),
    [
        ("The answer is 3.14.", "3.14", 0.5),  # [answer, is, 314] vs [314]: P 1/3, R 1
        ("the Denver Broncos!", "Denver Broncos", 1.0),
        ("an apple a day", "Apple", pytest.approx(2 / 3, abs=1e-6)),  # [apple, day] vs [apple]
        ("Carolina Panthers", "Denver Broncos", 0.0),
        ("Santa Clara, California", "Levi's Stadium in the San Francisco Bay Area at Santa Clara, California",
         pytest.approx(2 * 1 * (3 / 11) / (1 + 3 / 11), abs=1e-6)),  # P 3/3, R 3/11
    ],
)
def test_token_f1_matches_squad_v1_1(output, expected, f1):
    assert grade({"type": "token_f1"}, output, expected).score == f1


@pytest.mark.parametrize(
    ("text", "normalised"),
    [("The answer is 3.14.", "answer is 314"), ("A  cat,\tan hat", "cat hat"), ("theory", "theory"),
     ("Levi's", "levis")],
)
def test_squad_normaliser(text, normalised):
    from harness.graders._text import NORMALIZERS

    assert NORMALIZERS["squad"](text) == normalised


@pytest.mark.parametrize(
    ("text", "stripped"),
    [("3.14", "3.14"), ("Pi is 3.14.", "Pi is 3.14"), ("e.g. 1,000!", "eg 1000"), ("v.2", "v2"), ("...", "")],
)
def test_strip_punctuation_keeps_decimal_points(text, stripped):
    from harness.graders._text import NORMALIZERS

    assert NORMALIZERS["strip_punctuation"](text) == stripped


def test_exact_with_strip_punctuation_does_not_equate_3_14_and_314():
    assert not grade({"type": "exact", "normalize": ["strip_punctuation"]}, "314", "3.14").passed
    assert grade({"type": "exact", "normalize": ["strip_punctuation"]}, "3.14.", "3.14").passed


@pytest.mark.parametrize(
    ("max_distance", "output", "passed"),
    [(5, "sitting", True), (3, "sitting", True), (2, "sitting", False), (0, "kitten", True)],
)
def test_similarity_max_distance_is_promptfoos_levenshtein(max_distance, output, passed):
    got = grade({"type": "similarity", "max_distance": max_distance, "normalize": []}, output, "kitten")
    assert (got.passed, got.score) == (passed, float(passed))
    distance = 0 if output == "kitten" else 3
    assert got.reason == f"edit distance {distance} {'<=' if passed else '>'} {max_distance} vs 'kitten'"


def test_similarity_max_distance_must_be_a_whole_number():
    with pytest.raises(GraderError, match=rf"^{W}\.max_distance: must be a whole number of characters >= 0"):
        build({"type": "similarity", "max_distance": 2.5})
    assert build({"type": "similarity"}).options == {"normalize": ["strip", "lower"], "pass_at": 0.8}


@pytest.mark.parametrize(
    ("config", "output", "passed"),
    [
        ({"type": "regex", "pattern": r"answer is (\w+)", "group": 1}, "The answer is paris.", True),
        ({"type": "regex", "pattern": r"answer is (\w+)", "group": 1}, "The answer is Lyon.", False),
        ({"type": "regex", "pattern": r"answer is (?P<city>\w+)", "group": "city"}, "the answer is PARIS", True),
        ({"type": "regex", "pattern": r"answer is (\w+)"}, "The answer is Lyon.", True),  # no group: match only
    ],
)
def test_regex_group_is_compared_with_expected(config, output, passed):
    assert grade(config, output, "Paris").passed is passed


def test_regex_group_reason_and_unknown_group():
    got = grade({"type": "regex", "pattern": r"answer is (\w+)", "group": 1}, "The answer is Lyon.", "Paris")
    assert got.reason == r"group 1 of /answer is (\w+)/ is 'Lyon', expected 'Paris'"
    with pytest.raises(GraderError, match=rf"^{W}\.group: 2 is not a group of /a\(b\)/ \(it has groups 1\.\.1\)"):
        build({"type": "regex", "pattern": "a(b)", "group": 2})


CORRECTED = "Let me think. ANSWER: billing\nWait, the charge was for a login issue.\nANSWER: account"


@pytest.mark.parametrize(
    ("config", "passed"),
    [
        ({"type": "choice", "choices": ["billing", "account"], "answer": "last"}, True),
        ({"type": "choice", "choices": ["billing", "account"], "answer": "first"}, False),
        ({"type": "choice", "choices": ["billing", "account"]}, False),  # whole output: ambiguous
        ({"type": "exact", "normalize": ["strip", "lower"], "answer": "last"}, True),
    ],
)
def test_answer_last_reads_the_final_answer_line(config, passed):
    assert grade(config, CORRECTED, "account").passed is passed


def test_answer_without_an_answer_line_fails_and_says_so():
    got = grade({"type": "choice", "choices": ["a", "b"], "answer": "last"}, "I think b", "b")
    assert (got.passed, got.reason) == (False, "no 'ANSWER:' line (answer: last) in 'I think b'")


def test_answer_option_is_recorded_only_when_set():
    assert build({"type": "exact"}).options == {"normalize": ["strip"]}
    assert build({"type": "choice", "choices": ["a"]}).options == {"choices": ["a"]}
    assert build({"type": "choice", "choices": ["a"], "answer": "last"}).options == {"choices": ["a"], "answer": "last"}
    with pytest.raises(GraderError, match=rf"^{W}\.answer: must be one of None, first, last"):
        build({"type": "exact", "answer": "final"})
