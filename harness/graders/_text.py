"""Text helpers for the built-in graders: normalisers, label and number extraction, JSON
extraction, and the overlap and edit-distance measures. Pure functions, no registry."""

from __future__ import annotations

import json
import math
import re
import string
import unicodedata
from collections import Counter
from typing import Any, Callable

# Edit distance (characters) and LCS (tokens) see at most this much of each side, so a
# runaway output costs milliseconds, not minutes.
MAX_LEN = 5_000
QUOTES = "\"'`“”‘’«»"


def show(text: Any, limit: int = 80) -> str:
    """Quote text (or write a JSON value) for a reason, cut to about `limit` characters."""
    if not isinstance(text, str):  # 2 and "2" must read differently in a field mismatch
        dumped = json.dumps(text, ensure_ascii=False, default=str)
        return dumped if len(dumped) <= limit else dumped[: limit - 1] + "…"
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


# A "." that is not a decimal point: not between two digits.
_LONE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")


def _strip_punctuation(text: str) -> str:
    """Drop punctuation, but keep a decimal point: '3.14.' -> '3.14', 'a.b' -> 'ab'."""
    # Classify each distinct character once: a 1 MB output then costs milliseconds.
    text = text.translate({ord(ch): None for ch in set(text) if ch != "." and is_punct(ch)})
    return _LONE_DOT.sub("", text)


_ASCII_PUNCT = {ord(ch): None for ch in string.punctuation}
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def squad_normalize(text: str) -> str:
    """SQuAD v1.1's answer normalisation, as its official evaluation script does it: lower-case,
    drop ASCII punctuation (decimal points too: '3.14' -> '314', on both sides alike), drop the
    articles a/an/the, collapse whitespace. Kept exact so scores compare with published ones."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_ASCII_PUNCT)).split())


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "strip": str.strip,
    "lower": str.casefold,  # casefold, not lower: "Straße" should equal "STRASSE"
    "collapse_whitespace": lambda s: " ".join(s.split()),
    "strip_punctuation": _strip_punctuation,
    "strip_quotes": lambda s: s.strip().strip(QUOTES).strip(),
    "squad": squad_normalize,
}


def label_form(text: str) -> str:
    """Lower-case and drop surrounding whitespace, quotes and punctuation: '**Billing.**' -> 'billing'."""
    text = text.casefold()
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or is_punct(text[start]) or text[start] in QUOTES):
        start += 1
    while end > start and (text[end - 1].isspace() or is_punct(text[end - 1]) or text[end - 1] in QUOTES):
        end -= 1
    return text[start:end]


def extract_label(output: str, choices: list[str]) -> tuple[str | None, str]:
    """The one choice the output names, or (None, why not)."""
    forms = {label_form(c): c for c in choices}
    whole = label_form(output)
    if whole in forms:
        return forms[whole], ""
    lowered = output.casefold()
    hits = [c for f, c in forms.items() if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", lowered)]
    if len(hits) == 1:
        return hits[0], ""
    if hits:
        return None, f"ambiguous: {', '.join(map(show, hits))} appear in {show(output)}"
    return None, f"no label found in {show(output)} (choices: {', '.join(choices)})"


_FENCE = re.compile(r"```(?:json)?[ \t]*\n?(.*?)```", re.DOTALL | re.IGNORECASE)


def parse_json(output: str) -> Any:
    """The JSON in the output: the whole text, a ```json fence, else the first {...} object."""
    text = output.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        first_error = exc
    fence = _FENCE.search(text)
    if fence:
        try:
            return json.loads(fence.group(1).strip())
        except json.JSONDecodeError:
            pass
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(50):  # bounded: a huge output full of stray braces must not go quadratic
        if start < 0:
            break
        try:
            value, _end = decoder.raw_decode(text, start)
            return value
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
    raise ValueError(f"{first_error.msg} at line {first_error.lineno} column {first_error.colno}")


def json_equal(want: Any, got: Any) -> bool:
    """Field equality: strings ignore case and surrounding space, numbers compare as numbers."""
    if isinstance(want, str) and isinstance(got, str):
        return want.strip().casefold() == got.strip().casefold()
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(want, list) and isinstance(got, list):
        return len(want) == len(got) and all(map(json_equal, want, got))
    if isinstance(want, dict) and isinstance(got, dict):
        return want.keys() == got.keys() and all(json_equal(want[k], got[k]) for k in want)
    return want == got


# A sign, an optional currency sign, then 1,234.50 / 1234.5 / .5, with an optional exponent.
# The ASCII-only lookbehind skips digits glued to a word ("COVID-19" is 19, "v2" is skipped).
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(?P<sign>[-−+]?)(?:[$€£¥]\s?)?(?P<sign2>[-−]?)"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?P<exp>[eE][-+]?\d+)?"
)


def _value(match: re.Match[str]) -> float:
    value = float(match["digits"].replace(",", "") + (match["exp"] or ""))
    return -value if match["sign"] in ("-", "−") or match["sign2"] else value


def first_number(text: str) -> float | None:
    """The first number in the text: '-$1,234.50' -> -1234.5; None when there is none."""
    match = _NUMBER.search(text)
    return None if match is None else _value(match)


def all_numbers(text: str) -> list[float]:
    """Every number in the text, in order: '28 + 32 = 60' -> [28, 32, 60]."""
    return [_value(m) for m in _NUMBER.finditer(text)]


def whole_number(text: str) -> float | None:
    """The number when the whole text (trimmed, a trailing '.' allowed) is one number, else None."""
    text = text.strip()
    text = text[:-1] if text.endswith(".") and not text.endswith("..") else text
    match = _NUMBER.fullmatch(text)
    return None if match is None else _value(match)


# inspect_ai's `answer` convention: the model ends with a line "ANSWER: <answer>".
_ANSWER_LINE = re.compile(r"ANSWER[ \t]*:[ \t]*([^\n]*)", re.IGNORECASE)


def answer_text(output: str, which: str) -> str | None:
    """The text after the first or last 'ANSWER:' in the output (to the end of its line), or None."""
    found = [m.group(1).strip() for m in _ANSWER_LINE.finditer(output)]
    found = [f for f in found if f]
    if not found:
        return None
    return found[0] if which == "first" else found[-1]


def token_f1_score(got: list[str], want: list[str]) -> float:
    """SQuAD-style F1 over the bag of tokens."""
    if not got or not want:
        return float(got == want)
    same = sum((Counter(got) & Counter(want)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(got), same / len(want)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence, bit-parallel: one big-int row per token of `b`, O(len(a)·len(b)/64)."""
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    row = full  # a 0 bit marks a position of `a` used in the LCS so far
    for token in b:
        match = masks.get(token, 0)
        row = ((row + (row & match)) | (row & ~match)) & full
    return len(a) - bin(row).count("1")


def rouge_l_f(got: list[str], want: list[str]) -> float:
    """ROUGE-L F-measure: precision and recall of the longest common token subsequence."""
    got, want = got[:MAX_LEN], want[:MAX_LEN]
    if not got or not want:
        return float(got == want)
    lcs = lcs_length(want, got)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(got), lcs / len(want)
    return 2 * precision * recall / (precision + recall)


def levenshtein(a: str, b: str) -> int:
    """Edit distance by Myers' bit-vector method: one big-int step per character of `b`."""
    if not a:
        return len(b)
    peq: dict[str, int] = {}
    for i, ch in enumerate(a):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    full, top = (1 << len(a)) - 1, 1 << (len(a) - 1)
    plus, minus, dist = full, 0, len(a)  # vertical +1/-1 deltas of the DP column
    for ch in b:
        eq = peq.get(ch, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        hplus = minus | (~(xh | plus) & full)
        hminus = plus & xh
        dist += 1 if hplus & top else -1 if hminus & top else 0
        hplus, hminus = ((hplus << 1) | 1) & full, (hminus << 1) & full
        plus = hminus | (~(xv | hplus) & full)
        minus = hplus & xv
    return dist


def similarity_ratio(got: str, want: str) -> float:
    """1 - edit distance / length of the longer text."""
    got, want = got[:MAX_LEN], want[:MAX_LEN]
    longest = max(len(got), len(want))
    return 1.0 if longest == 0 else 1 - levenshtein(want, got) / longest
