"""Reading a promptfoo config: YAML, `$ref`, `file://` references, prompts, providers and tests.

Everything here turns promptfoo's many spellings into plain records; nothing is mapped to
Tierwise yet. What cannot be read is recorded as a `Dropped` with its file and place.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._promptfoo_files import MAX_DEPTH, Dropped, Files

__all__ = ["Dropped", "Prompt", "Provider", "Suite", "Test", "read_suite"]

MAX_REF_VALUES = 100_000      # what `$ref`s may expand to, in values (as YAML aliases)
MAX_COMBINATIONS = 10_000     # cases one test's list-valued vars may expand into
MAX_TESTS = 1_000_000         # cases in a suite, after expansion


@dataclass
class Prompt:
    label: str
    user: str
    system: str | None
    file: str
    place: str


@dataclass
class Provider:
    id: str
    label: str | None
    config: dict[str, Any]
    file: str
    place: str


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


@dataclass
class Suite:
    config_file: str
    description: str | None
    prompts: list[Prompt]
    providers: list[Provider]
    tests: list[Test]
    default_options: dict[str, Any]
    dropped: list[Dropped] = field(default_factory=list)


# Top-level keys that carry no evaluation meaning (output files, sharing, editor hints).
_HARMLESS_KEYS = {"description", "prompts", "providers", "targets", "tests", "defaultTest", "outputPath",
                  "sharing", "assertionTemplates", "writeLatestResults", "tags", "evaluateOptions"}


def read_suite(config: Path, allow_outside: bool = False) -> Suite:
    """Read a promptfoo config and everything it references (inside its folder, unless
    allow_outside), within the bounds of _promptfoo_files and this module's MAX_* limits."""
    files = Files(config.parent, allow_outside)
    shown = config.name
    data = files.structured(config, shown)
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: a promptfoo config must be a mapping (prompts, providers, tests, ...)")
    dropped = files.dropped
    data = _Refs(data, shown, dropped).resolve(data, "", 0, False)
    for key in data:
        if key not in _HARMLESS_KEYS:
            dropped.append(Dropped(shown, key, f"top-level key {key!r}", "Tierwise has no counterpart; not imported"))
    description = data.get("description")
    if description is not None and not isinstance(description, (str, int, float)):
        raise ConfigError(f"{shown}: description: must be text, got {_kind(description)}")
    prompts = _read_prompts(data.get("prompts"), files, shown)
    providers = _read_providers(data.get("providers", data.get("targets")), shown, dropped)
    default = data.get("defaultTest") or {}
    default_file = shown
    if isinstance(default, str) and default.startswith("file://"):
        default_file = default[len("file://"):]
        default = files.structured(files.path(default_file, shown, "defaultTest", "file"), default_file)
    _mapping(default, default_file, "defaultTest", "(vars, assert, options)")
    for key in ("vars", "options", "metadata"):
        _mapping(default.get(key) or {}, default_file, f"defaultTest.{key}")
    _list(default.get("assert") or [], default_file, "defaultTest.assert")
    _check_assert_files(default.get("assert") or [], files, default_file, "defaultTest.assert")
    tests = _read_tests(data.get("tests"), default, default_file, files, shown)
    return Suite(shown, None if description is None else str(description), prompts, providers, tests,
                 dict(default.get("options") or {}), dropped)


# ---- shapes -------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(type(value), type(value).__name__)


def _mapping(value: Any, shown: str, place: str, what: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{shown}: {place}: must be a mapping{' ' + what if what else ''}, got {_kind(value)}; "
                          "fix: write it as key: value lines")
    return value


def _list(value: Any, shown: str, place: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{shown}: {place}: must be a list, got {_kind(value)}; fix: write it as a list (- item)")
    return value


# ---- references ---------------------------------------------------------------------------


class _Refs:
    """Replace `{$ref: '#/a/b'}` by what it points at (JSON Pointer into the same config),
    at most MAX_REF_VALUES values in all and MAX_DEPTH levels deep, so neither a `$ref` bomb
    (refs to refs to refs, each doubling) nor a cycle can exhaust memory or the stack."""

    def __init__(self, document: Any, shown: str, dropped: list[Dropped]):
        self.document, self.shown, self.dropped, self.expanded = document, shown, dropped, 0

    def resolve(self, node: Any, place: str, depth: int, in_ref: bool) -> Any:
        if depth > MAX_DEPTH:
            cycle = " (a $ref cycle?)" if in_ref else ""
            raise ConfigError(f"{self.shown}: {place}: nested more than {MAX_DEPTH} levels deep{cycle}; fix it")
        if in_ref:
            self.expanded += 1
            if self.expanded > MAX_REF_VALUES:
                raise ConfigError(f"{self.shown}: {place}: its $refs expand to over {MAX_REF_VALUES:,} values; "
                                  "fix: write the values out, or use fewer $refs")
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                return self.resolve(self._target(node["$ref"], place), place, depth + 1, True)
            return {k: self.resolve(v, f"{place}.{k}" if place else str(k), depth + 1, in_ref) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, f"{place}[{i}]", depth + 1, in_ref) for i, v in enumerate(node)]
        return node

    def _target(self, ref: str, place: str) -> Any:
        if not ref.startswith("#/"):
            self.dropped.append(Dropped(self.shown, place, f"$ref {ref!r}",
                                        "only references into the same config (#/...) are followed"))
            return None
        target: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise ConfigError(f"{self.shown}: {place}: $ref {ref!r} points at nothing; fix the reference")
        return target


# ---- prompts ------------------------------------------------------------------------------


def _read_prompts(raw: Any, files: Files, shown: str) -> list[Prompt]:
    if raw is None:
        raise ConfigError(f"{shown}: prompts: missing; fix: a promptfoo suite needs at least one prompt")
    if isinstance(raw, (str, dict)) and not (isinstance(raw, dict) and ("raw" in raw or "id" in raw)):
        # `prompts: file://x.txt`, or the legacy mapping {file://x.txt: label}
        raw = [raw] if isinstance(raw, str) else [{"id": k, "label": v} for k, v in raw.items()]
    elif isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{shown}: prompts: must be a list of prompts or files, got {_kind(raw)}")
    out: list[Prompt] = []
    for i, item in enumerate(raw):
        place = f"prompts[{i}]"
        label = None
        if isinstance(item, dict):
            label = item.get("label")
            if label is not None and not isinstance(label, (str, int, float)):
                raise ConfigError(f"{shown}: {place}.label: must be text, got {_kind(label)}")
            label = None if label is None else str(label)
            extra = sorted(set(item) - {"raw", "id", "label"})
            for key in extra:
                files.dropped.append(Dropped(shown, f"{place}.{key}", f"prompt option {key!r}",
                                             "per-prompt options are not imported (Tierwise sets call options per task or model)"))
            item = item.get("raw", item.get("id"))
        if not isinstance(item, str):
            raise ConfigError(f"{shown}: {place}: a prompt must be text, file://, or {{raw: ..., label: ...}}")
        if item.startswith("file://"):
            out.extend(_prompts_from_file(item[len("file://"):], files, place, label, shown))
        else:
            out.append(Prompt(label or f"prompt {i + 1}", item, None, shown, place))
    return out


def _prompts_from_file(name: str, files: Files, place: str, label: str | None, shown: str) -> list[Prompt]:
    suffix = Path(name).suffix.lower()
    if any(ch in name for ch in "*?[") or ":" in Path(name).name or suffix in (".js", ".mjs", ".cjs", ".ts", ".py"):
        files.dropped.append(Dropped(shown, place, f"prompt file {name!r}",
                                     "prompt functions and globs are not imported; write the prompt as text"))
        return []
    path = files.path(name, shown, place, "prompt file")
    if not path.is_file():
        raise ConfigError(f"{shown}: {place}: prompt file {name} not found; fix the path")
    if suffix in (".json", ".yaml", ".yml", ".jsonl"):
        data = files.structured(path, name)
        if isinstance(data, str):
            return [Prompt(label or name, data, None, name, "(whole file)")]
        return _chat_prompt(data, name, label, files.dropped)
    text = files.text(path, name)
    parts = [p.strip("\n") for p in re.split(r"^---\s*$", text, flags=re.MULTILINE)]
    parts = [p for p in parts if p.strip()]
    many = len(parts) > 1
    return [Prompt(f"{label or Path(name).stem}{f' {k + 1}' if many else ''}", p, None, name,
                   f"prompt {k + 1} of {len(parts)}" if many else "(whole file)") for k, p in enumerate(parts)]


def _chat_prompt(data: Any, name: str, label: str | None, dropped: list[Dropped]) -> list[Prompt]:
    """A chat prompt [{role, content}, ...]: system messages and one user message."""
    if not isinstance(data, list) or not all(isinstance(m, dict) and "role" in m for m in data):
        dropped.append(Dropped(name, "(whole file)", "prompt", "not a list of {role, content} messages"))
        return []
    system = [m for m in data if m["role"] == "system"]
    users = [m for m in data if m["role"] == "user"]
    others = [m for m in data if m["role"] not in ("system", "user")]
    if len(users) != 1 or others or not all(isinstance(m.get("content"), str) for m in system + users):
        dropped.append(Dropped(name, "(whole file)", "chat prompt",
                               "Tierwise prompts are one system and one user message; this one has "
                               f"{len(users)} user and {len(others)} other messages (or non-text content)"))
        return []
    text = "\n\n".join(m["content"] for m in system) or None
    return [Prompt(label or Path(name).stem, users[0]["content"], text, name, "(whole file)")]


# ---- providers ----------------------------------------------------------------------------


def _read_providers(raw: Any, shown: str, dropped: list[Dropped]) -> list[Provider]:
    if raw is None:
        return []
    if isinstance(raw, dict) and "id" not in raw:  # {openai:gpt-4o: {config: ...}, ...}
        raw = [{k: v} for k, v in raw.items()]
    if isinstance(raw, (str, dict)):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{shown}: providers: must be a list, got {_kind(raw)}")
    out = []
    for i, item in enumerate(raw):
        place = f"providers[{i}]"
        if isinstance(item, str):
            out.append(Provider(item, None, {}, shown, place))
            continue
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            pid, body = item["id"], item
        elif isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item.values())) or {}, dict):
            (pid, body), = item.items()
            body, place = body or {}, f"{place}.{pid}"
        else:
            dropped.append(Dropped(shown, place, f"provider {str(item)[:60]!r}", "not a provider id or {id: ..., config: ...}"))
            continue
        label = body.get("label")
        if label is not None and not isinstance(label, str):
            raise ConfigError(f"{shown}: {place}.label: must be text, got {_kind(label)}")
        config = _mapping(body.get("config") or {}, shown, f"{place}.config", "(the provider's options)")
        out.append(Provider(pid, label, dict(config), shown, f"providers[{i}]"))
    return out


# ---- tests --------------------------------------------------------------------------------


def _read_tests(raw: Any, default: dict[str, Any], default_file: str, files: Files, shown: str) -> list[Test]:
    entries: list[tuple[dict[str, Any], str, str]] = []  # (test, file, place)
    items = [raw] if isinstance(raw, (str, dict)) else (raw or [])
    if not isinstance(items, list):
        raise ConfigError(f"{shown}: tests: must be a list of tests or a file://, got {_kind(raw)}")
    for i, item in enumerate(items):
        place = "tests" if not isinstance(raw, list) else f"tests[{i}]"
        if isinstance(item, str):
            if not item.startswith("file://"):
                raise ConfigError(f"{shown}: {place}: {item[:60]!r} is neither a test nor a file:// reference")
            entries.extend(_tests_from_file(item[len("file://"):], files, shown, place))
        elif isinstance(item, dict):
            entries.append((item, shown, place))
        else:
            raise ConfigError(f"{shown}: {place}: a test must be a mapping (vars, assert), got {_kind(item)}")
    if not entries:  # promptfoo runs each prompt once when there are no tests
        entries.append(({}, shown, "(no tests: one run with defaultTest's vars)"))
    out: list[Test] = []
    for test, file, place in entries:
        out.extend(_merge(test, default, default_file, file, place, files))
        if len(out) > MAX_TESTS:
            raise ConfigError(f"{file}: {place}: the suite expands to over {MAX_TESTS:,} tests; fix: split the suite")
    return out


def _tests_from_file(name: str, files: Files, shown: str, place: str) -> list[tuple[dict[str, Any], str, str]]:
    if any(ch in name for ch in "*?[") or Path(name).suffix.lower() in (".js", ".ts", ".py", ".xlsx"):
        files.dropped.append(Dropped(shown, place, f"tests file {name!r}",
                                     "globs, spreadsheets and test generators are not imported; list the files"))
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
    for key in ("vars", "options", "metadata"):
        _mapping(test.get(key) or {}, file, f"{place}.{key}")
    own_asserts = _list(test.get("assert") or [], file, f"{place}.assert")
    _check_assert_files(own_asserts, files, file, f"{place}.assert")
    variables = {**(default.get("vars") or {}), **(test.get("vars") or {})}
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


def _check_assert_files(asserts: list[Any], files: Files, file: str, place: str) -> None:
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
