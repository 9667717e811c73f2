"""registry.yaml: what the application runs, task by task.

The registry is rewritten atomically (temp file, fsync, rename), keeping the user's comments
and key order (ruamel.yaml round trip). `write_registry` writes a recommendation's entries
and, first, their evidence (registry/_evidence.py).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RegistryError
from ..project import Project
from ..util import atomic_write
from ._cascade import check_cascade_entry, yaml_cascade
from ._evidence import build_evidence, write_evidence

if TYPE_CHECKING:  # the gate reads the registry at start-up; a recommendation's module loads SciPy
    from ..decide import Recommendation

ENTRY_KEYS = ("model", "cascade", "fallbacks", "max_tokens", "temperature", "options", "pin")
# cascade: [{model:, defer: [...]}, …, {model:}]: instead of model:, a certified cascade (registry/_cascade.py).
# options: {target: {call option: value}} for the entry's models that need them (api_base, …),
#          exactly as evaluated, so an application reading the file calls what earned the evidence.
# pin: "<reason>": the team keeps this model although a cheaper one qualifies.


def _yaml():
    from ruamel.yaml import YAML

    y = YAML()  # round-trip: comments and key order survive
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096
    y.brace_single_entry_mapping_in_flow_sequence = True  # a cascade's [contract, {confidence: 0.95}]
    return y


def read_registry(path: Path) -> dict[str, dict[str, Any]]:
    """The registry's task entries as plain dicts ({} when the file does not exist yet)."""
    if not path.exists():
        return {}
    if not path.is_file():
        raise RegistryError(f"{path}: is not a file; fix: point registry: in tierwise.yaml at a YAML file")
    doc = _load(path)
    if doc in ({}, None):
        return {}
    if not isinstance(doc, dict):
        raise RegistryError(f"{path.name}: must be a mapping with a tasks: key, got a {'list' if isinstance(doc, list) else type(doc).__name__}")
    unknown_top = [k for k in doc if k != "tasks"]
    if unknown_top:
        raise RegistryError(f"{path.name}: {unknown_top[0]}: unknown key; known: tasks")
    tasks = doc.get("tasks")
    if tasks is None:
        return {}
    if not isinstance(tasks, dict):
        raise RegistryError(f"{path.name}: tasks: must be a mapping of task name to entry")
    out = {}
    for name, entry in tasks.items():
        if not isinstance(entry, dict) or ("model" not in entry and "cascade" not in entry):
            raise RegistryError(f"{path.name}: tasks.{name}: an entry needs at least model: (or cascade:)")
        unknown = [k for k in entry if k not in ENTRY_KEYS]
        if unknown:
            raise RegistryError(f"{path.name}: tasks.{name}.{unknown[0]}: unknown key; known: {', '.join(ENTRY_KEYS)}")
        entry = {k: _plain(v) for k, v in entry.items()}
        _check_entry_types(path, str(name), entry)
        out[str(name)] = entry
    return out


def _check_entry_types(path: Path, name: str, entry: dict[str, Any]) -> None:
    where = f"{path.name}: tasks.{name}"
    if "cascade" in entry:
        check_cascade_entry(path, name, entry)
    elif not isinstance(entry["model"], str) or not entry["model"]:
        raise RegistryError(f"{where}.model: must be a model string such as openai/gpt-4.1-mini")
    fallbacks = entry.get("fallbacks", [])
    if not isinstance(fallbacks, list) or not all(isinstance(f, str) for f in fallbacks):
        raise RegistryError(f"{where}.fallbacks: must be a list of model strings")
    max_tokens = entry.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise RegistryError(f"{where}.max_tokens: must be a positive whole number")
    temperature = entry.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))):
        raise RegistryError(f"{where}.temperature: must be a number")
    options = entry.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise RegistryError(f"{where}.options: must map a model string to its call options, e.g. "
                            f"{{openai/m: {{api_base: http://…}}}}")
    pin = entry.get("pin")
    if pin is not None and (not isinstance(pin, str) or not pin.strip()):
        raise RegistryError(f"{where}.pin: must be the reason the team keeps this model, e.g. pin: \"EU data residency\"")


def _load(path: Path) -> Any:
    """The registry document; a file that is not UTF-8 (a BOM is fine), too large, an alias
    bomb or bad YAML is a RegistryError naming the file."""
    from ruamel.yaml.error import YAMLError

    from ..project._yaml import check_yaml_text, read_text

    text = read_text(path, path.name, RegistryError)
    try:
        check_yaml_text(text, path.name, RegistryError)
        return _yaml().load(text) or {}
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        raise RegistryError(f"{where}: invalid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def update_registry(path: Path, entries: dict[str, dict[str, Any]]) -> bool:
    """Set these task entries, keeping everything else; atomic; returns whether the file changed."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    doc = _load(path) if path.exists() else CommentedMap()
    if not isinstance(doc, dict):
        raise RegistryError(f"{path.name}: must be a mapping with a tasks: key")
    if doc.get("tasks") is None:
        doc["tasks"] = CommentedMap()
    tasks = doc["tasks"]
    for name, new in entries.items():
        entry = tasks.get(name)
        if entry is None:
            entry = tasks[name] = CommentedMap()
        for key in ENTRY_KEYS:
            if key not in new or new[key] is None:
                if key in entry:
                    del entry[key]
                continue
            value = new[key]
            if key == "cascade":
                value = yaml_cascade(value)
            elif isinstance(value, list):
                seq = CommentedSeq(value)
                seq.fa.set_flow_style()
                value = seq
            if _plain(entry.get(key)) != _plain(value):
                if key == "cascade" and key not in entry:  # where model: stood, not after the options
                    entry.insert(sum(k in entry for k in ENTRY_KEYS[:ENTRY_KEYS.index(key)]), key, value)
                else:
                    entry[key] = value
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    text = buf.getvalue()
    if path.exists() and path.read_bytes().decode("utf-8-sig", errors="replace") == text:
        return False
    atomic_write(path, text)
    return True


@dataclass
class Written:
    """What `write_registry` changed: registry entries, and evidence records (a refreshed
    measurement of an unchanged entry changes only its evidence)."""

    entries: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def text(self) -> str:
        if not self.entries and not self.evidence:
            return "registry and evidence already up to date"
        parts = []
        if self.entries:
            parts.append("wrote registry entries for: " + ", ".join(self.entries))
        refreshed = [t for t in self.evidence if t not in self.entries]
        if refreshed:
            parts.append("refreshed the evidence for: " + ", ".join(refreshed))
        return "; ".join(parts)


def write_registry(project: Project, rec: Recommendation) -> Written:
    """Write a recommendation's entries and their evidence; says what changed."""
    decided = [d for d in rec.decisions if d.entry is not None]
    if not decided:
        return Written()
    # Evidence first: a registry entry must never be newer than the evidence behind it.
    evidence = write_evidence(project.registry_path, {d.task: build_evidence(project, d) for d in decided})
    update_registry(project.registry_path, {d.task: d.entry for d in decided})
    return Written([d.task for d in decided if d.changed], evidence)
