"""Reading a promptfoo config: YAML, `$ref`, `file://` references, prompts, providers and tests.

Everything here turns promptfoo's many spellings into plain records; nothing is mapped to
Tierwise yet. What cannot be read is recorded as a `Dropped` with its file and place. Every
file goes through `Files` (_promptfoo_files.py); the tests are read in _promptfoo_tests.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._promptfoo_files import MAX_DEPTH, Dropped, Files, as_list, kind, mapping
from ._promptfoo_tests import Test, check_assert_files, read_tests, vars_mapping

__all__ = ["Dropped", "Prompt", "Provider", "Suite", "Test", "read_suite"]

MAX_REF_VALUES = 100_000      # what `$ref`s may expand to, in values (as YAML aliases)
MAX_PROVIDERS = 1_000         # providers of a suite, provider files expanded


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
    description = data.get("description")
    if description is not None and not isinstance(description, (str, int, float)):
        raise ConfigError(f"{shown}: description: must be text, got {kind(description)}")
    prompts = _read_prompts(data.get("prompts"), files, shown)
    providers = _provider_files(_read_providers(data.get("providers", data.get("targets")), shown, dropped), files)
    default = data.get("defaultTest") or {}
    default_file = shown
    if isinstance(default, str) and default.startswith("file://"):
        default_file = default[len("file://"):]
        default = files.structured(files.path(default_file, shown, "defaultTest", "file"), default_file)
    mapping(default, default_file, "defaultTest", "(vars, assert, options)")
    for key in ("options", "metadata"):
        mapping(default.get(key) or {}, default_file, f"defaultTest.{key}")
    default = {**default, "vars": vars_mapping(default.get("vars"), files, default_file, "defaultTest.vars")}
    as_list(default.get("assert") or [], default_file, "defaultTest.assert")
    check_assert_files(default.get("assert") or [], files, default_file, "defaultTest.assert")
    tests = read_tests(data.get("tests"), default, default_file, files, shown)
    return Suite(shown, None if description is None else str(description), prompts, providers, tests,
                 dict(default.get("options") or {}), dropped)


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
        raise ConfigError(f"{shown}: prompts: must be a list of prompts or files, got {kind(raw)}")
    out: list[Prompt] = []
    for i, item in enumerate(raw):
        place = f"prompts[{i}]"
        label = None
        if isinstance(item, dict):
            label = item.get("label")
            if label is not None and not isinstance(label, (str, int, float)):
                raise ConfigError(f"{shown}: {place}.label: must be text, got {kind(label)}")
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
    if suffix == ".json" and "{%" in files.text(path, name):
        # a chat prompt built by a Nunjucks loop or condition ({% for message in history %}): JSON only once rendered
        files.dropped.append(Dropped(name, "(whole file)", "chat prompt", "its messages are built by Nunjucks tags "
                                     "({% ... %}), so it is a multi-turn or templated chat; Tierwise prompts are one "
                                     "system and one user message: rewrite it as those two"))
        return []
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
    if isinstance(raw, dict) and "id" not in raw:  # {openai:gpt-4o: {config: ...}, ...}
        raw = [{k: v} for k, v in raw.items()]
    if isinstance(raw, (str, dict)):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{shown}: providers: must be a list, got {kind(raw)}")
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
            raise ConfigError(f"{shown}: {place}.label: must be text, got {kind(label)}")
        config = mapping(body.get("config") or {}, shown, f"{place}.config", "(the provider's options)")
        out.append(Provider(pid, label, dict(config), shown, f"providers[{i}]"))
    return out


def _provider_files(providers: list[Provider], files: Files) -> list[Provider]:
    """`file://provider.yaml` entries replaced by the provider(s) the file defines, and a
    `response_format: file://schema.json` replaced by the file's content (both read through
    `files`: inside the config's folder, bounded). A provider file's own file:// providers are
    not followed further (listed)."""
    out = []
    for p in providers:
        name = p.id.removeprefix("file://")
        if p.id.startswith("file://") and Path(name).suffix.lower() in (".yaml", ".yml", ".json"):
            data = files.structured(files.path(name, p.file, p.place, "provider file"), name)
            for q in _read_providers(data, name, files.dropped):
                if q.id.startswith("file://"):
                    files.dropped.append(Dropped(name, q.place, f"provider {q.id!r}",
                                                 "a provider file inside a provider file is not followed"))
                    continue
                out.append(replace(q, place=f"{p.place} ({name}{q.place.removeprefix('providers')})"))
        else:
            out.append(p)
        if len(out) > MAX_PROVIDERS:
            raise ConfigError(f"{p.file}: {p.place}: the suite names over {MAX_PROVIDERS:,} providers (provider "
                              "files expanded); fix: name fewer")
    for p in out:
        value = p.config.get("response_format")
        if isinstance(value, str) and value.startswith("file://"):
            name = value.removeprefix("file://")
            where = f"{p.place}.config.response_format"
            p.config["response_format"] = files.structured(files.path(name, p.file, where, "response_format file"), name)
    return out
