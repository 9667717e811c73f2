"""A Tierwise project on disk: tierwise.yaml, evals/, golden_sets/, registry.yaml."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from .config import ProjectConfig, load_config
from .errors import SpecError
from .specs import Task, load_task


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    tasks: dict[str, Task] = field(default_factory=dict)

    @property
    def registry_path(self) -> Path:
        return self.root / self.config.registry

    def store_url(self, override: str | None = None) -> str:
        """The store URL; a relative sqlite path is relative to the project root."""
        url = override or self.config.store
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((self.root / url[len(prefix):]).resolve())
        return url

    def select(self, names: list[str] | None) -> list[Task]:
        """Tasks by name (all when none given); an unknown name lists the known ones."""
        if not names:
            return list(self.tasks.values())
        out = []
        for name in names:
            if name not in self.tasks:
                raise SpecError(f"unknown task {name!r}; known: {', '.join(sorted(self.tasks)) or '(none)'}")
            out.append(self.tasks[name])
        return out


def load_project(root: str | Path = ".") -> Project:
    """Load the catalog and every eval spec, validating everything; calls no model."""
    root = Path(root).resolve()
    config = load_config(root)
    # python: candidates and custom graders are imported relative to the project root.
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    project = Project(root, config)
    evals_dir = root / "evals"
    if not evals_dir.is_dir():
        raise SpecError(f"{evals_dir}: no evals/ folder; fix: run `tierwise init` or add evals/<task>.yaml")
    seen: dict[str, str] = {}
    for path in sorted(evals_dir.glob("*.y*ml")):
        task = load_task(path, root, config.models)
        if task.name in seen:
            raise SpecError(f"{task.path}: task: {task.name!r} is also defined in {seen[task.name]}; fix: task names must be unique")
        seen[task.name] = task.path
        project.tasks[task.name] = task
    if not project.tasks:
        raise SpecError(f"{evals_dir}: no eval specs (evals/<task>.yaml); fix: add one or run `tierwise init`")
    return project
