"""Overlap and similarity graders: token_f1 (SQuAD v1.1's F1), rouge_l and similarity (edit
distance, promptfoo's levenshtein max_distance)."""

from __future__ import annotations

import pytest

from harness.errors import GraderError
from harness.graders._text import levenshtein
from tests.graders.gradefix import W, build, grade


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
