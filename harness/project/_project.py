"""A Tierwise project on disk: tierwise.yaml, evals/, golden_sets/, registry.yaml."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, SpecError
from ._config import ProjectConfig, load_config
from ._specs import Task, load_task


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


_ACTIVE_ROOTS: list[Path] = []


def _activate(root: Path) -> None:
    """python: candidates and custom graders import from the project root. Modules imported
    from another project loaded earlier in this process (a notebook, a test run) are dropped,
    so a `rules.py` here never resolves to another project's `rules.py`."""
    for old in [r for r in _ACTIVE_ROOTS if r != root]:
        _ACTIVE_ROOTS.remove(old)
        while str(old) in sys.path:
            sys.path.remove(str(old))
        for name, module in sys.modules.copy().items():  # one C call: safe while other threads import
            file = getattr(module, "__file__", None)
            if file and Path(file).resolve().is_relative_to(old):
                del sys.modules[name]
    if root not in _ACTIVE_ROOTS:
        _ACTIVE_ROOTS.append(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def load_catalog(root: str | Path = ".") -> Project:
    """The project with its catalog only (no eval specs read): what `tierwise models` needs,
    so a problem in a spec, golden set or labels file never hides the catalog."""
    root = Path(root).resolve()
    config = load_config(root)
    _activate(root)
    return Project(root, config)


def load_project(root: str | Path = ".") -> Project:
    """Load the catalog and every eval spec, validating everything; calls no model."""
    root = Path(root).resolve()
    config = load_config(root)
    _activate(root)
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
    for key, names in (("shadow", config.shadow), ("monitor", config.monitor)):
        for name in names:
            if name not in project.tasks:
                raise ConfigError(f"tierwise.yaml: {key}.{name}: unknown task {name!r}; known: "
                                  f"{', '.join(sorted(project.tasks))}")
    return project
