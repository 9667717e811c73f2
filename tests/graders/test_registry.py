"""The graders' registry and options: names, option checking, the stored record, Grade and
combine, custom Python graders, the options every grader takes (not, expected_key), and
every grader on hostile output."""

from __future__ import annotations

import json
import time

import pytest

from harness.errors import GraderError
from harness.graders import Grade, GraderInstance, build_graders, combine, grader, known_graders
from harness.project import Case
from tests.graders.gradefix import CHOICES, HUGE, W, build, grade


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
