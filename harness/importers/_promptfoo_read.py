"""Reading a promptfoo config: YAML, `$ref`, `file://` references, prompts, providers and tests.

Everything here turns promptfoo's many spellings into plain records; nothing is mapped to
Tierwise yet. What cannot be read is recorded as a `Dropped` with its file and place.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class Dropped:
    """One thing in the promptfoo suite that was not carried over, and why."""

    file: str
    place: str
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}: {self.place}: {self.what}: {self.why}"


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


def read_suite(config: Path) -> Suite:
    """Read a promptfoo config and everything it references."""
    root = config.parent
    shown = config.name
    data = _load_structured(config, shown)
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: a promptfoo config must be a mapping (prompts, providers, tests, ...)")
    dropped: list[Dropped] = []
    data = _resolve_refs(data, data, shown, "", dropped)
    for key in data:
        if key not in _HARMLESS_KEYS:
            dropped.append(Dropped(shown, key, f"top-level key {key!r}", "Tierwise has no counterpart; not imported"))
    prompts = _read_prompts(data.get("prompts"), root, shown, dropped)
    providers = _read_providers(data.get("providers", data.get("targets")), shown, dropped)
    default = data.get("defaultTest") or {}
    default_file = shown
    if isinstance(default, str) and default.startswith("file://"):
        default_file = default[len("file://"):]
        default = _load_structured(root / default_file, default_file)
    if not isinstance(default, dict):
        raise ConfigError(f"{shown}: defaultTest: must be a mapping (vars, assert, options), got {type(default).__name__}")
    tests = _read_tests(data.get("tests"), default, default_file, root, shown, dropped)
    return Suite(shown, data.get("description"), prompts, providers, tests, dict(default.get("options") or {}), dropped)


# ---- files and references -----------------------------------------------------------------


def _load_structured(path: Path, shown: str) -> Any:
    """YAML (1.2: `Yes` stays a string, as in promptfoo's js-yaml) or JSON from a file."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    if not path.is_file():
        raise ConfigError(f"{shown}: file not found; fix: check the path (relative to the config's folder)")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{shown}:{exc.lineno}: invalid JSON line ({exc.msg})") from None
    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        raise ConfigError(f"{where}: invalid YAML ({exc.problem}); fix the syntax at that place") from None


def _resolve_refs(node: Any, document: Any, shown: str, place: str, dropped: list[Dropped], depth: int = 0) -> Any:
    """Replace `{$ref: '#/a/b'}` by what it points at (JSON Pointer into the same config)."""
    if depth > 50:
        raise ConfigError(f"{shown}: {place}: $ref nests more than 50 deep (a cycle?)")
    if isinstance(node, dict):
        if "$ref" in node and isinstance(node["$ref"], str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                dropped.append(Dropped(shown, place, f"$ref {ref!r}", "only references into the same config (#/...) are followed"))
                return None
            target: Any = document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and part in target:
                    target = target[part]
                elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                else:
                    raise ConfigError(f"{shown}: {place}: $ref {ref!r} points at nothing; fix the reference")
            return _resolve_refs(target, document, shown, place, dropped, depth + 1)
        return {k: _resolve_refs(v, document, shown, f"{place}.{k}" if place else str(k), dropped, depth)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_refs(v, document, shown, f"{place}[{i}]", dropped, depth) for i, v in enumerate(node)]
    return node


# ---- prompts ------------------------------------------------------------------------------


def _read_prompts(raw: Any, root: Path, shown: str, dropped: list[Dropped]) -> list[Prompt]:
    if raw is None:
        raise ConfigError(f"{shown}: prompts: missing; fix: a promptfoo suite needs at least one prompt")
    if isinstance(raw, (str, dict)) and not (isinstance(raw, dict) and ("raw" in raw or "id" in raw)):
        # `prompts: file://x.txt`, or the legacy mapping {file://x.txt: label}
        raw = [raw] if isinstance(raw, str) else [{"id": k, "label": v} for k, v in raw.items()]
    elif isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{shown}: prompts: must be a list of prompts or files, got {type(raw).__name__}")
    out: list[Prompt] = []
    for i, item in enumerate(raw):
        place = f"prompts[{i}]"
        label = None
        if isinstance(item, dict):
            label = item.get("label")
            extra = sorted(set(item) - {"raw", "id", "label"})
            for key in extra:
                dropped.append(Dropped(shown, f"{place}.{key}", f"prompt option {key!r}",
                                       "per-prompt options are not imported (Tierwise sets call options per task or model)"))
            item = item.get("raw", item.get("id"))
        if not isinstance(item, str):
            raise ConfigError(f"{shown}: {place}: a prompt must be text, file://, or {{raw: ..., label: ...}}")
        if item.startswith("file://"):
            out.extend(_prompts_from_file(item[len("file://"):], root, place, label, dropped, shown))
        else:
            out.append(Prompt(label or f"prompt {i + 1}", item, None, shown, place))
    return out


def _prompts_from_file(name: str, root: Path, place: str, label: str | None, dropped: list[Dropped],
                       shown: str) -> list[Prompt]:
    path = root / name
    suffix = path.suffix.lower()
    if any(ch in name for ch in "*?[") or ":" in Path(name).name or suffix in (".js", ".mjs", ".cjs", ".ts", ".py"):
        dropped.append(Dropped(shown, place, f"prompt file {name!r}",
                               "prompt functions and globs are not imported; write the prompt as text"))
        return []
    if not path.is_file():
        raise ConfigError(f"{shown}: {place}: prompt file {name} not found; fix the path")
    if suffix in (".json", ".yaml", ".yml", ".jsonl"):
        data = _load_structured(path, name)
        if isinstance(data, str):
            return [Prompt(label or name, data, None, name, "(whole file)")]
        return _chat_prompt(data, name, label, dropped)
    text = path.read_text(encoding="utf-8")
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
    if isinstance(raw, (str, dict)):
        raw = [raw] if isinstance(raw, str) or "id" in raw else [{"id": k, **(v or {})} for k, v in raw.items()]
    if not isinstance(raw, list):
        raise ConfigError(f"{shown}: providers: must be a list, got {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        place = f"providers[{i}]"
        if isinstance(item, str):
            out.append(Provider(item, None, {}, shown, place))
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            out.append(Provider(item["id"], item.get("label"), dict(item.get("config") or {}), shown, place))
        elif isinstance(item, dict) and len(item) == 1:  # {openai:gpt-4o: {config: ...}}
            (pid, body), = item.items()
            body = body or {}
            out.append(Provider(pid, body.get("label"), dict(body.get("config") or {}), shown, place))
        else:
            dropped.append(Dropped(shown, place, f"provider {item!r}", "not a provider id or {id: ..., config: ...}"))
    return out


# ---- tests --------------------------------------------------------------------------------


def _read_tests(raw: Any, default: dict[str, Any], default_file: str, root: Path, shown: str,
                dropped: list[Dropped]) -> list[Test]:
    entries: list[tuple[dict[str, Any], str, str]] = []  # (test, file, place)
    items = [raw] if isinstance(raw, (str, dict)) else (raw or [])
    if not isinstance(items, list):
        raise ConfigError(f"{shown}: tests: must be a list of tests or a file://, got {type(raw).__name__}")
    for i, item in enumerate(items):
        place = "tests" if not isinstance(raw, list) else f"tests[{i}]"
        if isinstance(item, str):
            if not item.startswith("file://"):
                raise ConfigError(f"{shown}: {place}: {item!r} is neither a test nor a file:// reference")
            entries.extend(_tests_from_file(item[len("file://"):], root, shown, place, dropped))
        elif isinstance(item, dict):
            entries.append((item, shown, place))
        else:
            raise ConfigError(f"{shown}: {place}: a test must be a mapping (vars, assert), got {type(item).__name__}")
    if not entries:  # promptfoo runs each prompt once when there are no tests
        entries.append(({}, shown, "(no tests: one run with defaultTest's vars)"))
    out: list[Test] = []
    for test, file, place in entries:
        out.extend(_merge(test, default, default_file, file, place, root, dropped))
    return out


def _tests_from_file(name: str, root: Path, shown: str, place: str, dropped: list[Dropped]
                     ) -> list[tuple[dict[str, Any], str, str]]:
    if any(ch in name for ch in "*?[") or Path(name).suffix.lower() in (".js", ".ts", ".py", ".xlsx"):
        dropped.append(Dropped(shown, place, f"tests file {name!r}",
                               "globs, spreadsheets and test generators are not imported; list the files"))
        return []
    path = root / name
    if Path(name).suffix.lower() == ".csv":
        return [(row, name, f"row {line}") for line, row in _csv_tests(path, name, dropped)]
    data = _load_structured(path, name)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise ConfigError(f"{name}: must be a list of tests (mappings with vars and assert)")
    return [(t, name, f"[{k}]") for k, t in enumerate(data)]


def _csv_tests(path: Path, name: str, dropped: list[Dropped]) -> list[tuple[int, dict[str, Any]]]:
    """promptfoo's CSV tests: plain columns are vars; __expected*, __description, __metadata:*,
    __threshold and friends are the test's other fields."""
    from ._promptfoo_asserts import assertion_from_string

    if not path.is_file():
        raise ConfigError(f"{name}: file not found; fix: check the path (relative to the config's folder)")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = []
        for row in reader:
            line = reader.line_num
            test: dict[str, Any] = {"vars": {}, "assert": [], "metadata": {}}
            for key, value in row.items():
                value = value if value is not None else ""
                if key is None:
                    dropped.append(Dropped(name, f"row {line}", "extra cells", "more cells than header columns"))
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
                        test["threshold"] = float(value)
                elif key == "__metric":
                    if value:
                        test["metric"] = value
                elif key.startswith("__"):
                    if value:
                        dropped.append(Dropped(name, f"row {line}, column {key}", f"{key} = {value!r}",
                                               "this promptfoo column has no Tierwise counterpart"))
                else:
                    test["vars"][key] = value
            rows.append((line, test))
    return rows


def _merge(test: dict[str, Any], default: dict[str, Any], default_file: str, file: str, place: str, root: Path,
           dropped: list[Dropped]) -> list[Test]:
    """defaultTest under the test (vars merged, asserts first), then list-valued vars expanded
    into one test per combination, as promptfoo does."""
    variables = {**(default.get("vars") or {}), **(test.get("vars") or {})}
    variables = {k: _var_value(v, root, file, f"{place}.vars.{k}", dropped) for k, v in variables.items()}
    asserts = [(a, default_file, f"defaultTest.assert[{k}]") for k, a in enumerate(default.get("assert") or [])]
    asserts += [(a, file, f"{place}.assert[{k}]") for k, a in enumerate(test.get("assert") or [])]
    options = {**(default.get("options") or {}), **(test.get("options") or {})}
    threshold = test.get("threshold", default.get("threshold"))
    metadata = {**(default.get("metadata") or {}), **(test.get("metadata") or {})}
    if test.get("metric"):
        metadata.setdefault("metric", test["metric"])
    for key in sorted(set(test) - {"vars", "assert", "options", "threshold", "metadata", "description", "metric"}):
        dropped.append(Dropped(file, f"{place}.{key}", f"test key {key!r}", "not imported (no Tierwise counterpart)"))
    lists = {k: v for k, v in variables.items() if isinstance(v, list)}
    combos = [dict(zip(lists, values)) for values in itertools.product(*lists.values())] if lists else [{}]
    return [Test({**variables, **combo}, list(asserts), test.get("description"), metadata, options, threshold,
                 file, place + (f" (vars {combo})" if len(combos) > 1 else "")) for combo in combos]


def _var_value(value: Any, root: Path, file: str, place: str, dropped: list[Dropped]) -> Any:
    if isinstance(value, str) and value.startswith("file://"):
        name = value[len("file://"):]
        path = root / name
        if path.suffix.lower() in (".txt", ".md", ".json", ".yaml", ".yml", ".csv", "") and path.is_file():
            return path.read_text(encoding="utf-8")
        dropped.append(Dropped(file, place, f"var {value!r}",
                               "only text files are read into vars (images and scripts are not); the reference is kept as text"))
    return value
