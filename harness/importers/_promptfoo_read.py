"""Reading a promptfoo config: YAML, `$ref`, `file://` references, prompts, providers and tests.

Everything here turns promptfoo's many spellings into plain records; nothing is mapped to
Tierwise yet. What cannot be read is recorded as a `Dropped` with its file and place.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from dataclasses import dataclass, field, replace
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
    if "redteam" in data and not data.get("tests"):
        raise ConfigError(f"{shown}: redteam: a promptfoo red-team configuration; red teaming is out of Tierwise's "
                          "scope (it picks the cheapest good-enough model for tasks with golden sets), nothing "
                          "imported; fix: import an eval suite (prompts, tests with assertions)")
    for key in data:
        if key == "redteam":
            dropped.append(Dropped(shown, key, "redteam", "red teaming is out of Tierwise's scope; its plugins and "
                                   "strategies are not imported, the suite's own tests are"))
        elif key not in _HARMLESS_KEYS:
            dropped.append(Dropped(shown, key, f"top-level key {key!r}", "Tierwise has no counterpart; not imported"))
    prompts = _read_prompts(data.get("prompts"), root, shown, dropped)
    providers = _provider_files(_read_providers(data.get("providers", data.get("targets")), shown, dropped),
                                root, dropped)
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
            return [json.loads(line) for line in text.split("\n") if line.strip()]
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
    if suffix == ".json" and "{%" in path.read_text(encoding="utf-8"):
        # a chat prompt built by a Nunjucks loop or condition ({% for message in history %}): JSON only once rendered
        dropped.append(Dropped(name, "(whole file)", "chat prompt", "its messages are built by Nunjucks tags ({% ... %}), "
                               "so it is a multi-turn or templated chat; Tierwise prompts are one system and one user "
                               "message: rewrite it as those two"))
        return []
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
    if not all(isinstance(m.get("content"), str) for m in system + users):
        dropped.append(Dropped(name, "(whole file)", "chat prompt", "an image or other non-text prompt (a message's "
                               "content is a list of parts); Tierwise prompts are text"))
        return []
    if len(users) != 1 or others:
        dropped.append(Dropped(name, "(whole file)", "chat prompt",
                               "Tierwise prompts are one system and one user message; this one has "
                               f"{len(users)} user and {len(others)} other messages (a multi-turn chat)"))
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


def _provider_files(providers: list[Provider], root: Path, dropped: list[Dropped]) -> list[Provider]:
    """`file://provider.yaml` entries replaced by the provider(s) the file defines, and a
    `response_format: file://schema.json` replaced by the file's content (both inside the config's folder)."""
    out = []
    for p in providers:
        name = p.id.removeprefix("file://")
        if p.id.startswith("file://") and Path(name).suffix.lower() in (".yaml", ".yml", ".json"):
            data = _load_structured(_inside(root, name, p.file, p.place), name)
            out.extend(replace(q, place=f"{p.place} ({name}{q.place.removeprefix('providers')})")
                       for q in _read_providers(data, name, dropped))
        else:
            out.append(p)
    for p in out:
        value = p.config.get("response_format")
        if isinstance(value, str) and value.startswith("file://"):
            name = value.removeprefix("file://")
            p.config["response_format"] = _load_structured(_inside(root, name, p.file, f"{p.place}.config"), name)
    return out


def _inside(root: Path, name: str, file: str, place: str) -> Path:
    path = root / name
    if not path.resolve().is_relative_to(root.resolve()):
        raise ConfigError(f"{file}: {place}: {name!r} is outside the config's folder; fix: keep the file beside the config")
    return path


# ---- tests --------------------------------------------------------------------------------


def _read_tests(raw: Any, default: dict[str, Any], default_file: str, root: Path, shown: str,
                dropped: list[Dropped]) -> list[Test]:
    entries: list[tuple[dict[str, Any], str, str]] = []  # (test, file, place)
    items = [raw] if isinstance(raw, (str, dict)) else (raw or [])
    if not isinstance(items, list):
        raise ConfigError(f"{shown}: tests: must be a list of tests or a file://, got {type(raw).__name__}")
    for i, item in enumerate(items):
        place = "tests" if not isinstance(raw, list) else f"tests[{i}]"
        if isinstance(item, dict) and isinstance(item.get("path"), str) and not {"vars", "assert"} & set(item):
            item = item["path"]  # {path: file://..., config: {...}}: a test file or generator with options
        if isinstance(item, str):
            _refuse_remote(item, shown, place)
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
MAX_TEST_FILES = 1000  # files one tests glob may name


def _refuse_remote(item: str, shown: str, place: str) -> None:
    """Remote test sources: the import reads no network, so it says what to bring, and how."""
    for start, what, fix in _REMOTE_TESTS:
        if item.startswith(start):
            raise ConfigError(f"{shown}: {place}: the tests come from {what}; the import works offline; fix: {fix}")


def _tests_from_file(name: str, root: Path, shown: str, place: str, dropped: list[Dropped]
                     ) -> list[tuple[dict[str, Any], str, str]]:
    if any(ch in name for ch in "*?["):
        return _tests_from_glob(name, root, shown, place, dropped)
    if Path(name.split(":")[0]).suffix.lower() in (".js", ".ts", ".mjs", ".cjs", ".py", ".xlsx"):
        dropped.append(Dropped(shown, place, f"tests file {name!r}",
                               "spreadsheets and test generators (functions) are not imported; write the tests "
                               "they give to a CSV, JSON or YAML file and point tests: at it"))
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


def _tests_from_glob(pattern: str, root: Path, shown: str, place: str, dropped: list[Dropped]
                     ) -> list[tuple[dict[str, Any], str, str]]:
    """`file://tests/*`: every file the glob names inside the config's folder, in name order."""
    inside = root.resolve()
    names = []
    for path in sorted(root.glob(pattern)):
        if path.is_file() and path.resolve().is_relative_to(inside):
            names.append(path.relative_to(root).as_posix())
        if len(names) > MAX_TEST_FILES:
            raise ConfigError(f"{shown}: {place}: {pattern!r} names over {MAX_TEST_FILES} files; fix: narrow the glob")
    if not names:
        raise ConfigError(f"{shown}: {place}: {pattern!r} names no file; fix: check the glob (relative to the config)")
    return [entry for name in names for entry in _tests_from_file(name, root, shown, place, dropped)]


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
    variables = {**_vars_mapping(default.get("vars"), root, default_file, "defaultTest.vars"),
                 **_vars_mapping(test.get("vars"), root, file, f"{place}.vars")}
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


def _vars_mapping(raw: Any, root: Path, file: str, place: str) -> dict[str, Any]:
    """A test's vars: a mapping, or (as promptfoo allows) a file path or glob, or a list of them,
    naming YAML/JSON files whose mappings are merged in order; relative to the file the test is in."""
    if raw is None or isinstance(raw, dict):
        return raw or {}
    patterns = [raw] if isinstance(raw, str) else raw
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(f"{file}: {place}: must be a mapping of vars or vars file paths, got {type(raw).__name__}")
    base, inside = (root / file).parent, root.resolve()
    merged: dict[str, Any] = {}
    for pattern in patterns:
        pattern = pattern.removeprefix("file://")
        paths = sorted(base.glob(pattern)) if any(ch in pattern for ch in "*?[") else [base / pattern]
        paths = [p for p in paths[:MAX_TEST_FILES + 1] if p.is_file() and p.resolve().is_relative_to(inside)]
        if not paths or len(paths) > MAX_TEST_FILES:
            raise ConfigError(f"{file}: {place}: {pattern!r} names {'no' if not paths else 'too many'} vars files "
                              f"inside the config's folder; fix: check the path (relative to {file})")
        for path in paths:
            shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
            data = _load_structured(path, shown)
            if not isinstance(data, dict):
                raise ConfigError(f"{shown}: a vars file must be a mapping (name: value), got {type(data).__name__}")
            merged.update(data)
    return merged


def _var_value(value: Any, root: Path, file: str, place: str, dropped: list[Dropped]) -> Any:
    if isinstance(value, str) and value.startswith("file://"):
        name = value[len("file://"):]
        path = root / name
        if path.suffix.lower() in (".txt", ".md", ".json", ".yaml", ".yml", ".csv", "") and path.is_file():
            return path.read_text(encoding="utf-8")
        dropped.append(Dropped(file, place, f"var {value!r}",
                               "only text files are read into vars (images and scripts are not); the reference is kept as text"))
    return value
