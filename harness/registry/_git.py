"""`tierwise gate --base REF`: what changed in the registry, the specs and the golden sets
since a git ref."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..decide import entry_label
from ..errors import EnvironmentFailure, TierwiseError
from ..project import Project
from ._evidence import evidence_path, parse_evidence
from ._file import read_registry


def changes_since(project: Project, base: str, registry: dict[str, dict[str, Any]],
                  evidence: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Per registry entry, how it differs from `base` (entry, spec, golden set, evidence); and removed ones."""
    git = _Git(project.root, base)
    reg_path = project.registry_path
    old_registry = registry_at(project, base, git)
    old_evidence = _parse_evidence(git.show(evidence_path(reg_path)))
    changes: dict[str, list[str]] = {}
    for name, entry in registry.items():
        if name not in old_registry:
            changes[name] = ["added"]
            continue
        found: list[str] = []
        if old_registry[name] != entry:
            found.append(_entry_change(old_registry[name], entry))
        task = project.tasks.get(name)
        if task is not None:
            for rel in (task.path, task.spec.golden_set):
                path = project.root / rel
                old = git.show(path, binary=True)
                if old != (path.read_bytes() if path.exists() else None):
                    found.append(f"{rel} changed")
        if old_evidence.get(name) != evidence.get(name):
            found.append("evidence changed")
        changes[name] = found
    removed = [n for n in old_registry if n not in registry]
    return changes, removed


def registry_at(project: Project, base: str, git: "_Git | None" = None) -> dict[str, dict[str, Any]]:
    """The registry's entries as they were at `base` ({} where the file did not exist)."""
    git = git or _Git(project.root, base)
    text = git.show(project.registry_path)
    return _parse_registry(text, project.registry_path.name) if text is not None else {}


def _entry_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = [k for k in ("model", "cascade", "fallbacks", "max_tokens", "temperature") if old.get(k) != new.get(k)]
    if keys == ["model"]:
        return f"model {old.get('model')} → {new.get('model')}"
    if "cascade" in keys:  # a model to a cascade, back, or other stages, signals or threshold
        before, after = entry_label(old), entry_label(new)
        return f"{before} → {after}" if before != after else "cascade signals or threshold changed"
    return "entry changed: " + ", ".join(keys)


def _parse_registry(text: str, filename: str) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_text(text, encoding="utf-8")
        return read_registry(path)


def _parse_evidence(text: str | None) -> dict[str, Any]:
    """The evidence at the ref by task; {} where it was missing or unreadable there."""
    if not text:
        return {}
    try:
        return parse_evidence(text, "evidence").tasks
    except TierwiseError:
        return {}


class _Git:
    """Read files as they were at a ref, from the repository that holds the project."""

    def __init__(self, root: Path, ref: str):
        if shutil.which("git") is None:
            raise EnvironmentFailure("--base needs git, which is not installed here; fix: install git or drop --base")
        self.root, self.ref = root, ref
        inside = self._git("rev-parse", "--show-toplevel")
        if inside.returncode != 0:
            raise TierwiseError(f"--base {ref}: {root} is not inside a git repository; fix: run the gate in a "
                                f"checkout, or drop --base")
        if ref.startswith("-") or self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
            raise TierwiseError(f"--base {ref}: unknown git ref; fix: pass a branch, tag or commit that exists "
                                f"(in CI, fetch it first: git fetch origin <branch>, and use origin/<branch>)")

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(self.root), *args], capture_output=True)

    def show(self, path: Path, binary: bool = False) -> Any:
        """The file's content at the ref; None when it did not exist there."""
        try:
            rel = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None  # outside the project: not tracked with it
        done = self._git("show", f"{self.ref}:./{rel}")
        if done.returncode != 0:
            return None
        return done.stdout if binary else done.stdout.decode("utf-8", errors="replace")
