"""The built-in text graders (exact, contains, regex, choice, overlap, python; json and numeric are in
_structured.py). Each factory checks its options and returns `(output, case) -> Grade`."""

from __future__ import annotations

import importlib
import math
import re
from typing import Any, Callable

from ._registry import BadOption, Case, Grade, GradeFn, grader
from ._text import (
    MAX_LEN,
    NORMALIZERS,
    answer_text,
    extract_label,
    label_form,
    rouge_l_f,
    show,
    levenshtein,
    similarity_ratio,
    token_f1_score,
)

# ---- shared helpers -------------------------------------------------------------------------


def _normalizer(value: Any) -> Callable[[str], str]:
    # A single name is accepted too: `normalize: lower` reads naturally in YAML.
    names = _str_list("normalize", [value] if isinstance(value, str) else value, allow_empty=True)
    for name in names:
        if name not in NORMALIZERS:
            raise BadOption("normalize", f"unknown normaliser {name!r}; known: {', '.join(sorted(NORMALIZERS))}")

    def apply(text: str) -> str:
        for name in names:
            text = NORMALIZERS[name](text)
        return text

    return apply


def _str_list(option: str, value: Any, *, allow_empty: bool = False) -> list[str]:
    value = list(value) if isinstance(value, tuple) else value  # defaults are tuples
    ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value) and (value or allow_empty)
    if not ok:
        raise BadOption(option, f"must be a list of non-empty strings, got {value!r}; fix: e.g. {option}: [a, b]")
    return list(value)


def _number(option: str, value: Any, *, low: float = 0.0, high: float = math.inf) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
    if not ok:
        span = f"in [{low:g}, {high:g}]" if high < math.inf else f">= {low:g}"
        raise BadOption(option, f"must be a number {span}, got {value!r}")
    return float(value)


def _bool(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadOption(option, f"must be true or false, got {value!r}")
    return value


def _expected_texts(case: Case) -> list[str]:
    """The case's expected value as candidate strings (a list means any of them)."""
    expected = case.expected
    values = expected if isinstance(expected, list) else [expected]
    if expected is None or expected == [] or any(isinstance(v, (dict, list)) or v is None for v in values):
        raise ValueError(f"case {case.id!r} needs 'expected' as a string or list of strings, got {expected!r}")
    return [str(v) for v in values]


def _choice(option: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if value not in allowed:
        raise BadOption(option, f"must be one of {', '.join(map(str, allowed))}, got {value!r}")
    return value


_ANSWER_READS = (None, "first", "last")


def _answer_reader(answer: Any) -> Callable[[str], str | None]:
    """`answer: last` reads what follows the last 'ANSWER:' (inspect_ai's answer convention, the
    last one so a model that corrects itself is graded on its final answer); `first` the first;
    unset (the default) reads the whole output."""
    which = _choice("answer", answer, _ANSWER_READS)
    if which is None:
        return lambda output: output
    return lambda output: answer_text(output, which)


def _no_answer(answer: str, output: str) -> Grade:
    return Grade(0.0, False, f"no 'ANSWER:' line (answer: {answer}) in {show(output)}")


def _one_of(values: list[str]) -> str:
    return show(values[0]) if len(values) == 1 else "one of " + ", ".join(show(v) for v in values)


# ---- exact, contains, regex ------------------------------------------------------------------


@grader("exact", recorded_if_set=("answer",))
def exact(*, normalize: list[str] = ("strip",), answer: str | None = None) -> GradeFn:
    """Equal to expected after the normalisers (default: strip). `answer: first|last` compares
    only the text after an 'ANSWER:' instead of the whole output."""
    norm, read = _normalizer(normalize), _answer_reader(answer)

    def grade(output: str, case: Case) -> Grade:
        expected = _expected_texts(case)
        text = read(output)
        if text is None:
            return _no_answer(str(answer), output)
        got = norm(text)
        if any(norm(e) == got for e in expected):
            return Grade(1.0, True, f"matches {show(text)}")
        return Grade(0.0, False, f"expected {_one_of(expected)}, got {show(text)}")

    return grade


def _needles(option: str, given: Any, case: Case, norm: Callable[[str], str]) -> list[tuple[str, str]]:
    """(shown, normalised) pairs from the option, else from the case's expected value."""
    values = given if given is not None else _expected_texts(case)
    pairs = [(v, norm(v)) for v in values]
    if any(not n for _, n in pairs):
        # An empty needle is "found" in every output and would pass everything silently.
        raise ValueError(f"{option}: an empty value matches every output; fix the case or the option")
    return pairs


def _nonempty_needles(option: str, values: list[str] | None, norm: Callable[[str], str]) -> None:
    """Refuse at load a needle the normalisers empty (`values: [" "]` with strip): an empty
    needle is found in every output."""
    for v in values or ():
        if not norm(v):
            raise BadOption(option, f"{v!r} is empty after normalize, and an empty value is found in every "
                                    f"output; fix: give a value with text in it, or change normalize")


@grader("contains")
def contains(*, value: str | None = None, normalize: list[str] = ("lower",)) -> GradeFn:
    if value is not None and (not isinstance(value, str) or not value):
        raise BadOption("value", f"must be a non-empty string, got {value!r}")
    norm = _normalizer(normalize)
    _nonempty_needles("value", None if value is None else [value], norm)

    def grade(output: str, case: Case) -> Grade:
        if value is None and isinstance(case.expected, list):
            raise ValueError("expected is a list; use contains_any or contains_all")
        ((shown, needle),) = _needles("value", [value] if value else None, case, norm)
        if needle in norm(output):
            return Grade(1.0, True, f"found {show(shown)}")
        return Grade(0.0, False, f"{show(shown)} not found in {show(output)}")

    return grade


@grader("contains_any", aliases=("contains-any",))
def contains_any(*, values: list[str] | None = None, normalize: list[str] = ("lower",)) -> GradeFn:
    values = None if values is None else _str_list("values", values)
    norm = _normalizer(normalize)
    _nonempty_needles("values", values, norm)

    def grade(output: str, case: Case) -> Grade:
        pairs, text = _needles("values", values, case, norm), norm(output)
        found = [shown for shown, needle in pairs if needle in text]
        if found:
            return Grade(1.0, True, f"found {show(found[0])}")
        return Grade(0.0, False, f"none of {', '.join(show(s) for s, _ in pairs)} found in {show(output)}")

    return grade


@grader("contains_all", aliases=("contains-all",))
def contains_all(*, values: list[str] | None = None, normalize: list[str] = ("lower",)) -> GradeFn:
    values = None if values is None else _str_list("values", values)
    norm = _normalizer(normalize)
    _nonempty_needles("values", values, norm)

    def grade(output: str, case: Case) -> Grade:
        pairs, text = _needles("values", values, case, norm), norm(output)
        missing = [shown for shown, needle in pairs if needle not in text]
        score = 1 - len(missing) / len(pairs)  # partial credit; passing still needs every value
        if not missing:
            return Grade(1.0, True, f"found all {len(pairs)} values")
        found = len(pairs) - len(missing)
        return Grade(score, False, f"missing {', '.join(map(show, missing))} ({found} of {len(pairs)} found)")

    return grade


# Both spellings: Python's names and the one-letter flags of /…/imsx (docs/graders.md lists both).
_REGEX_FLAGS = {"ignorecase": "IGNORECASE", "multiline": "MULTILINE", "dotall": "DOTALL", "verbose": "VERBOSE",
                "i": "IGNORECASE", "m": "MULTILINE", "s": "DOTALL", "x": "VERBOSE"}
REGEX_TIMEOUT_S = 2.0  # a catastrophically backtracking pattern is a grader error, not a hang


@grader("regex", recorded_if_set=("group",))
def regex(*, pattern: str, flags: list[str] = (), full: bool = False, group: int | str | None = None) -> GradeFn:
    """The output matches the pattern (searched, or `full: true` for the whole output). With
    `group: N` (or a group name) the captured text must also equal expected, ignoring case and
    surrounding space, as inspect_ai's `pattern` scorer compares its group with the target."""
    if not isinstance(pattern, str) or not pattern:
        raise BadOption("pattern", f"must be a non-empty string, got {pattern!r}")
    bits = 0
    for flag in _str_list("flags", flags, allow_empty=True):
        if flag not in _REGEX_FLAGS:
            raise BadOption("flags", f"unknown flag {flag!r}; known: ignorecase (i), multiline (m), dotall (s), "
                                     f"verbose (x)")
        bits |= getattr(_engine(), _REGEX_FLAGS[flag])
    try:
        compiled = _engine().compile(pattern, bits)
    except (_engine().error, re.error) as exc:
        raise BadOption("pattern", f"invalid regex {pattern!r}: {exc}; fix the pattern (YAML: quote it)") from None
    full = _bool("full", full)
    if group is not None:
        known = set(compiled.groupindex) | set(range(1, compiled.groups + 1))
        if isinstance(group, bool) or group not in known:
            have = f"groups 1..{compiled.groups}" if compiled.groups else "no groups"
            raise BadOption("group", f"{group!r} is not a group of /{pattern}/ (it has {have}"
                                     f"{', names ' + ', '.join(compiled.groupindex) if compiled.groupindex else ''})")

    def grade(output: str, case: Case) -> Grade:
        try:
            match = (compiled.fullmatch(output, timeout=REGEX_TIMEOUT_S, concurrent=True) if full
                     else compiled.search(output, timeout=REGEX_TIMEOUT_S, concurrent=True))
        except TimeoutError:
            raise TimeoutError(f"/{pattern}/ took over {REGEX_TIMEOUT_S:g} s on this output (catastrophic "
                               f"backtracking?); fix the pattern, e.g. ^(a+)+$ -> ^a+$") from None
        if not match:
            how = "does not fully match" if full else "has no match for"
            return Grade(0.0, False, f"{show(output)} {how} /{pattern}/")
        if group is None:
            return Grade(1.0, True, f"/{pattern}/ matched {show(match.group(0))}")
        expected, got = _expected_texts(case), match.group(group)
        if got is not None and any(e.strip().casefold() == got.strip().casefold() for e in expected):
            return Grade(1.0, True, f"group {group} of /{pattern}/ is {show(got)}")
        return Grade(0.0, False, f"group {group} of /{pattern}/ is {show(got)}, expected {_one_of(expected)}")

    return grade


def _engine():
    """The `regex` package: re's syntax (its VERSION0 mode), with a timeout per match and the
    GIL released while matching."""
    import regex as engine

    return engine


# ---- choice --------------------------------------------------------------------------------


@grader("choice", recorded_if_set=("answer",))
def choice(*, choices: list[str] | None = None, answer: str | None = None,
           output_spec: dict[str, Any] | None = None) -> GradeFn:
    """The one label the output names equals expected. `answer: last` reads the label from the
    last 'ANSWER: X' (a model that corrects itself is graded on its final answer); `first` the first."""
    if choices is None:
        choices = (output_spec or {}).get("choices")
        if not choices:
            raise BadOption(
                "choices", "none given and the task has no output choices; fix: add choices: [a, b] "
                "to this grader or output: {choices: [a, b]} to the task")
    labels = _str_list("choices", choices)
    read = _answer_reader(answer)

    def grade(output: str, case: Case) -> Grade:
        if isinstance(case.expected, list):
            raise ValueError(f"case {case.id!r}: choice needs one expected label, got a list")
        (expected,) = _expected_texts(case)
        text = read(output)
        if text is None:
            return _no_answer(str(answer), output)
        label, why = extract_label(text, labels)
        if label is None:
            return Grade(0.0, False, why)
        if label_form(label) == label_form(expected):
            return Grade(1.0, True, f"label {show(label)}")
        return Grade(0.0, False, f"expected {show(expected)}, got {show(label)}")

    return grade


# ---- overlap: token F1, ROUGE-L, edit similarity -------------------------------------------


def _overlap(label: str, measure: Callable[[Any, Any], float], tokens: bool, normalize: Any, pass_at: Any) -> GradeFn:
    """A continuous score against expected (for a list, the best of them), passed at pass_at."""
    norm, pass_at = _normalizer(normalize), _number("pass_at", pass_at, high=1.0)

    def prepare(text: str) -> Any:
        return norm(text).split() if tokens else norm(text)

    def grade(output: str, case: Case) -> Grade:
        got = prepare(output)
        score, best = max((measure(got, prepare(e)), e) for e in _expected_texts(case))
        score = round(score, 6)  # keep 0.9999999999 from failing a pass_at of 1
        verdict = ">=" if score >= pass_at else "<"
        return Grade(score, score >= pass_at, f"{label} {score:.2f} {verdict} {pass_at:g} vs {show(best)}")

    return grade


@grader("token_f1")
def token_f1(*, normalize: list[str] = ("squad",), pass_at: float = 0.5) -> GradeFn:
    """SQuAD's token F1; the default normalisation is SQuAD v1.1's (lower-case, no punctuation,
    no articles a/an/the), so "The answer is 3.14." vs "3.14" scores 0.50 as SQuAD's script does."""
    return _overlap("token F1", token_f1_score, True, normalize, pass_at)


@grader("rouge_l")
def rouge_l(*, normalize: list[str] = ("lower", "strip_punctuation"), pass_at: float = 0.5) -> GradeFn:
    return _overlap("ROUGE-L", rouge_l_f, True, normalize, pass_at)


@grader("similarity", recorded_if_set=("max_distance",))
def similarity(*, normalize: list[str] = ("strip", "lower"), pass_at: float = 0.8,
               max_distance: int | None = None) -> GradeFn:
    """Edit similarity (1 - distance / longer length), passed at pass_at. With `max_distance: N`
    it is promptfoo's `levenshtein` instead: passed (score 1) when the edit distance is at most N
    characters, else score 0; pass_at does not apply then. promptfoo's default N is 5."""
    if max_distance is None:
        return _overlap("similarity", similarity_ratio, False, normalize, pass_at)
    if isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 0:
        raise BadOption("max_distance", f"must be a whole number of characters >= 0, got {max_distance!r}")
    norm = _normalizer(normalize)

    def grade(output: str, case: Case) -> Grade:
        got = norm(output)[:MAX_LEN]
        distance, best = min((levenshtein(norm(e)[:MAX_LEN], got), e) for e in _expected_texts(case))
        verdict = "<=" if distance <= max_distance else ">"
        return Grade(float(distance <= max_distance), distance <= max_distance,
                     f"edit distance {distance} {verdict} {max_distance} vs {show(best)}")

    return grade


# ---- python --------------------------------------------------------------------------------


def _import_callable(path: Any) -> Callable[..., Any]:
    if not isinstance(path, str) or path.count(":") != 1 or not all(path.split(":")):
        raise BadOption("function", f"must be 'package.module:callable', got {path!r}")
    module_name, attr = path.split(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as exc:  # noqa: BLE001 - any failure while importing user code is a config error
        raise BadOption("function", f"cannot import {path!r}: {type(exc).__name__}: {exc}; "
                                    "fix: check the path and that the module imports from the project root") from None
    if not callable(target):
        raise BadOption("function", f"{path!r} is a {type(target).__name__}, not a callable")
    return target


def _to_grade(result: Any, pass_at: float) -> Grade:
    """Accept what a custom grader naturally returns: a Grade, bool, score, or dict."""
    if isinstance(result, Grade):
        return result
    if isinstance(result, bool):
        return Grade(float(result), result, "passed" if result else "failed")
    if isinstance(result, (int, float)):
        return Grade(result, result >= pass_at, f"score {result:.2f}")
    if isinstance(result, dict) and "score" in result and set(result) <= {"score", "passed", "reason"}:
        score = result["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise TypeError(f"'score' must be a number in [0, 1], got {score!r}")
        return Grade(score, bool(result.get("passed", score >= pass_at)), str(result.get("reason", "")))
    raise TypeError(f"custom grader returned {show(result)}; return a Grade, a bool, "
                    "a float in [0, 1], or a dict with score (and passed, reason)")


@grader("python")
def python(*, function: str, options: dict[str, Any] | None = None, pass_at: float = 1.0) -> GradeFn:
    target = _import_callable(function)
    if options is not None and not (isinstance(options, dict) and all(isinstance(k, str) for k in options)):
        raise BadOption("options", f"must be a mapping of keyword arguments, got {options!r}")
    kwargs, pass_at = dict(options or {}), _number("pass_at", pass_at, high=1.0)

    def grade(output: str, case: Case) -> Grade:
        return _to_grade(target(output, case, **kwargs), pass_at)

    return grade
