"""Reading a promptfoo suite's tests: inline, files and globs of them, CSV, vars files, defaultTest.

Every file named here is read through `Files` (inside the config's folder unless --allow-outside,
size and nesting bounds, globs capped); list-valued vars expand into at most MAX_COMBINATIONS
tests each and the suite into at most MAX_TESTS. Remote sources are refused with how to bring
the file, generators and spreadsheets are listed.
"""

from __future__ import annotations

import itertools
import math
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._promptfoo_files import Dropped, Files, as_list, is_glob, kind, mapping

MAX_COMBINATIONS = 10_000     # cases one test's list-valued vars may expand into
MAX_TESTS = 1_000_000         # cases in a suite, after expansion
MAX_VARS_FILES = 100          # paths or globs one test's `vars:` may name


@dataclass
class Test:
    """One promptfoo test after defaultTest is merged in and list-valued vars are expanded."""

    vars: dict[str, Any]
    asserts: list[tuple[dict[str, Any], str, str]]  # (assertion, file, place)
    description: str | None
    metadata: dict[str, Any]
    options: dict[str, Any]
    threshold: Any
    file: str
    place: str


def read_tests(raw: Any, default: dict[str, Any], default_file: str, files: Files, shown: str) -> list[Test]:
    """The suite's tests, each merged with defaultTest (whose vars are already a mapping)."""
    entries: list[tuple[dict[str, Any], str, str]] = []  # (test, file, place)
    items = [raw] if isinstance(raw, (str, dict)) else (raw or [])
    if not isinstance(items, list):
        raise ConfigError(f"{shown}: tests: must be a list of tests or a file://, got {kind(raw)}")
    for i, item in enumerate(items):
        place = "tests" if not isinstance(raw, list) else f"tests[{i}]"
        if isinstance(item, dict) and isinstance(item.get("path"), str) and not {"vars", "assert"} & set(item):
            # {path: file://..., config: {...}}: a test file, or a generator with its options
            if item.get("config"):
                files.dropped.append(Dropped(shown, f"{place}.config", "tests config", "options for a test "
                                             "generator; not imported (a file of tests is read as it is)"))
            item = item["path"]
        if isinstance(item, str):
            _refuse_remote(item, shown, place)
            if not item.startswith("file://"):
                raise ConfigError(f"{shown}: {place}: {item[:60]!r} is neither a test nor a file:// reference")
            entries.extend(_tests_from_file(item[len("file://"):], files, shown, place))
            if len(entries) > MAX_TESTS:  # each entry is at least one test: stop before merging them
                raise ConfigError(f"{shown}: {place}: the suite names over {MAX_TESTS:,} tests; fix: split the suite")
        elif isinstance(item, dict):
            entries.append((item, shown, place))
        else:
            raise ConfigError(f"{shown}: {place}: a test must be a mapping (vars, assert), got {kind(item)}")
    if not entries:  # promptfoo runs each prompt once when there are no tests
        entries.append(({}, shown, "(no tests: one run with defaultTest's vars)"))
    out: list[Test] = []
    for test, file, place in entries:
        out.extend(_merge(test, default, default_file, file, place, files))
        if len(out) > MAX_TESTS:
            raise ConfigError(f"{file}: {place}: the suite expands to over {MAX_TESTS:,} tests; fix: split the suite")
    return out


_REMOTE_TESTS = (  # (how the source starts, what it is, how to bring it offline)
    ("huggingface://", "a Hugging Face dataset (huggingface://), which promptfoo downloads at run time",
     "download its rows as JSONL or CSV (columns named after the prompt's variables) beside the config and point "
     "tests: at file://that-file"),
    ("https://docs.google.com/spreadsheets", "a Google Sheet, which promptfoo reads at run time",
     "download it as CSV (File > Download > Comma-separated values) beside the config and point tests: at "
     "file://that.csv"),
    ("http", "a URL, which promptfoo fetches at run time", "download the file beside the config and point tests: "
     "at file://that-file"),
)


def _refuse_remote(item: str, shown: str, place: str) -> None:
    """Remote test sources: the import reads no network, so it says what to bring, and how."""
    for start, what, fix in _REMOTE_TESTS:
        if item.startswith(start):
            raise ConfigError(f"{shown}: {place}: the tests come from {what}; the import works offline; fix: {fix}")


def _tests_from_file(name: str, files: Files, shown: str, place: str) -> list[tuple[dict[str, Any], str, str]]:
    if is_glob(name):
        found = files.glob(name, shown, place, "tests")
        if not found:
            raise ConfigError(f"{shown}: {place}: tests glob {name!r} names no file; fix: check the glob "
                              "(relative to the config's folder)")
        return [entry for each, _ in found for entry in _tests_from_file(each, files, shown, place)]
    if Path(name.split(":")[0]).suffix.lower() in (".js", ".ts", ".mjs", ".cjs", ".py", ".xlsx"):
        files.dropped.append(Dropped(shown, place, f"tests file {name!r}",
                                     "spreadsheets and test generators (functions) are not imported; write the tests "
                                     "they give to a CSV, JSON or YAML file and point tests: at it"))
        return []
    path = files.path(name, shown, place, "tests file")
    if Path(name).suffix.lower() == ".csv":
        return [(row, name, f"row {line}") for line, row in _csv_tests(path, name, files)]
    data = files.structured(path, name)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise ConfigError(f"{name}: must be a list of tests (mappings with vars and assert)")
    return [(t, name, f"[{k}]") for k, t in enumerate(data)]


def _csv_tests(path: Path, name: str, files: Files) -> list[tuple[int, dict[str, Any]]]:
    """promptfoo's CSV tests: plain columns are vars; __expected*, __description, __metadata:*,
    __threshold and friends are the test's other fields."""
    from ._promptfoo_asserts import assertion_from_string

    rows = []
    for line, row in files.csv_rows(path, name):
        test: dict[str, Any] = {"vars": {}, "assert": [], "metadata": {}}
        for key, value in row.items():
            value = value if value is not None else ""
            if key is None:
                files.dropped.append(Dropped(name, f"row {line}", "extra cells", "more cells than header columns"))
            elif key.startswith("__expected"):
                if value.strip():
                    test["assert"].append(assertion_from_string(value))
            elif key == "__description":
                test["description"] = value or None
            elif key.startswith("__metadata:"):
                if value:
                    test["metadata"][key[len("__metadata:"):]] = value
            elif key == "__threshold":
                if value.strip():
                    test["threshold"] = _number(value, name, f"row {line}, {key}")
            elif key == "__metric":
                if value:
                    test["metric"] = value
            elif key.startswith("__"):
                if value:
                    files.dropped.append(Dropped(name, f"row {line}, column {key}", f"{key} = {value[:60]!r}",
                                                 "this promptfoo column has no Tierwise counterpart"))
            else:
                test["vars"][key] = value
        rows.append((line, test))
    return rows


def _number(text: str, shown: str, place: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{shown}: {place}: {text[:40]!r} is not a number; fix: write a number such as 0.8")
    return value


def _merge(test: dict[str, Any], default: dict[str, Any], default_file: str, file: str, place: str,
           files: Files) -> list[Test]:
    """defaultTest under the test (vars merged, asserts first), then list-valued vars expanded
    into one test per combination, as promptfoo does (at most MAX_COMBINATIONS)."""
    for key in ("options", "metadata"):
        mapping(test.get(key) or {}, file, f"{place}.{key}")
    own_vars = vars_mapping(test.get("vars"), files, file, f"{place}.vars")
    own_asserts = as_list(test.get("assert") or [], file, f"{place}.assert")
    check_assert_files(own_asserts, files, file, f"{place}.assert")
    variables = {**(default.get("vars") or {}), **own_vars}
    variables = {k: _var_value(v, files, file, f"{place}.vars.{k}") for k, v in variables.items()}
    asserts = [(a, default_file, f"defaultTest.assert[{k}]") for k, a in enumerate(default.get("assert") or [])]
    asserts += [(a, file, f"{place}.assert[{k}]") for k, a in enumerate(own_asserts)]
    options = {**(default.get("options") or {}), **(test.get("options") or {})}
    threshold = test.get("threshold", default.get("threshold"))
    metadata = {**(default.get("metadata") or {}), **(test.get("metadata") or {})}
    if test.get("metric"):
        metadata.setdefault("metric", test["metric"])
    for key in sorted(set(test) - {"vars", "assert", "options", "threshold", "metadata", "description", "metric"}):
        files.dropped.append(Dropped(file, f"{place}.{key}", f"test key {key!r}", "not imported (no Tierwise counterpart)"))
    lists = {k: v for k, v in variables.items() if isinstance(v, list)}
    if not lists:
        return [Test(variables, asserts, test.get("description"), metadata, options, threshold, file, place)]
    count = math.prod(len(v) for v in lists.values())
    if count > MAX_COMBINATIONS:
        sizes = " x ".join(str(len(v)) for v in lists.values())
        raise ConfigError(f"{file}: {place}.vars: its list-valued vars ({', '.join(lists)}) make {sizes} = {count:,} "
                          f"combinations, over the {MAX_COMBINATIONS:,} limit; fix: split the test or shorten the lists")
    combos = [dict(zip(lists, values)) for values in itertools.product(*lists.values())]
    return [Test({**variables, **combo}, list(asserts), test.get("description"), metadata, options, threshold,
                 file, place + (f" (vars {combo})" if len(combos) > 1 else "")) for combo in combos]


def vars_mapping(raw: Any, files: Files, file: str, place: str) -> dict[str, Any]:
    """A test's vars: a mapping, or (as promptfoo allows) a path or glob of YAML/JSON vars files, or
    a list of them, relative to the file the test is in; their mappings are merged in order. Each
    file goes through `files` (containment, size), at most MAX_VARS_FILES paths and each glob capped."""
    if raw is None or isinstance(raw, dict):
        return raw or {}
    patterns = [raw] if isinstance(raw, str) else raw
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns) or not patterns:
        raise ConfigError(f"{file}: {place}: must be a mapping, got {kind(raw)}; fix: write it as key: value lines, "
                          "or give the paths of YAML/JSON vars files")
    if len(patterns) > MAX_VARS_FILES:
        raise ConfigError(f"{file}: {place}: names {len(patterns):,} vars files, over the {MAX_VARS_FILES} limit; "
                          "fix: merge them, or use a glob")
    folder = posixpath.dirname(file)
    merged: dict[str, Any] = {}
    for pattern in patterns:
        name = posixpath.normpath(posixpath.join(folder, pattern.removeprefix("file://")))
        if is_glob(name):
            found = files.glob(name, file, place, "vars")
        else:
            path = files.path(name, file, place, "vars file")
            found = [(name, path)] if path.is_file() else []
        if not found:
            raise ConfigError(f"{file}: {place}: must be a mapping, got {kind(raw)} naming no vars file ({pattern!r}: "
                              f"no such file relative to {folder or 'the config'}'s folder); fix: write the vars as "
                              "key: value lines, or correct the path")
        for shown, path in found:
            data = files.structured(path, shown)
            if not isinstance(data, dict):
                raise ConfigError(f"{shown}: a vars file must be a mapping (name: value), got {kind(data)}")
            merged.update(data)
    return merged


def check_assert_files(asserts: list[Any], files: Files, file: str, place: str) -> None:
    """A python assertion's file (`file://grader.py[:func]`) is code the imported project will
    run: it must be inside the config's folder like any other file."""
    for k, a in enumerate(asserts):
        if isinstance(a, dict) and a.get("type") in ("python", "not-python") and isinstance(a.get("value"), str) \
                and a["value"].startswith("file://"):
            files.path(a["value"][len("file://"):].partition(":")[0], file, f"{place}[{k}]", "python assertion file")


def _var_value(value: Any, files: Files, file: str, place: str) -> Any:
    if isinstance(value, str) and value.startswith("file://"):
        name = value[len("file://"):]
        path = files.path(name, file, place, "var file")
        if path.suffix.lower() in (".txt", ".md", ".json", ".yaml", ".yml", ".csv", "") and path.is_file():
            return files.text(path, name)
        files.dropped.append(Dropped(file, place, f"var {value[:80]!r}",
                                     "only text files are read into vars (images and scripts are not); the reference is kept as text"))
    return value
