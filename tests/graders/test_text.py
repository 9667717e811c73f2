"""Text graders: exact (with normalisers), contains / contains_any / contains_all, regex, choice,
and the answer option that reads a final ANSWER: line."""

from __future__ import annotations

import pytest

from harness.errors import GraderError
from harness.graders import Grade
from tests.graders.gradefix import CHOICES, HUGE, W, build, grade


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
