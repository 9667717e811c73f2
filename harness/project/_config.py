"""tierwise.yaml: the models catalog (each entry a harness.models.ModelEntry), the store, and run defaults."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

from pydantic import Field, PrivateAttr, ValidationError

from ..errors import ConfigError
from ..models import ModelEntry
from ..util import Strict as _Strict
from ._yaml import pydantic_error, read_yaml

GRADE_TIMEOUT_S = 30.0  # per grader and output, and per cascade verifier and answer (docs/security.md)

CONFIG_FILE = "tierwise.yaml"
DEFAULT_STORE = "sqlite:///.tierwise/results.db"


class ShadowEntry(_Strict):
    """`shadow: {task: {...}}`: call a challenger on a sampled fraction of a task's production calls,
    off the call path (harness/client/_shadow.py)."""

    challenger: str = Field(min_length=1, max_length=200)          # a catalog model name
    rate: float = Field(gt=0, le=1, allow_inf_nan=False)            # share of the task's calls shadowed
    budget_per_day: float | None = Field(None, ge=0, allow_inf_nan=False)  # USD per UTC day; None: no cap
    queue: int = Field(100, ge=1, le=10_000)                        # shadow calls waiting; more are dropped
    fresh_days: float = Field(30.0, gt=0, le=3650, allow_inf_nan=False)  # the gate accepts live evidence this long


DEFAULT_JUDGE_RATE = 0.05      # share of a judged task's captured incumbent calls its judge grades live
DEFAULT_JUDGE_PER_READ = 200   # judge calls one `tierwise audit` makes at most per task; the rest wait


class MonitorEntry(_Strict):
    """`monitor: {task: {...}}`: settings of a task's drift monitors (harness/audit/_judge_monitor.py).
    A task without an entry uses the defaults."""

    judge_rate: float = Field(DEFAULT_JUDGE_RATE, ge=0, le=1, allow_inf_nan=False)  # 0: no live judging
    judge_per_read: int = Field(DEFAULT_JUDGE_PER_READ, ge=1, le=10_000)


class ProjectConfig(_Strict):
    store: str = DEFAULT_STORE
    registry: str = "registry.yaml"
    concurrency: int = Field(16, ge=1, le=1024)
    timeout_s: float = Field(60.0, gt=0, le=86400, allow_inf_nan=False)
    retries: int = Field(3, ge=0, le=20)
    retry_backoff_s: float = Field(0.5, ge=0, le=60)  # first backoff; doubles per attempt, with jitter
    models: dict[Annotated[str, Field(min_length=1, max_length=200)], ModelEntry] = Field(default_factory=dict)
    volumes: dict[str, float] = Field(default_factory=dict)
    local_threads: int | None = Field(None, ge=1)
    grade_timeout_s: float = Field(GRADE_TIMEOUT_S, gt=0, le=3600)  # per grader and output (docs/security.md)
    workers: int | None = Field(None, ge=1, le=64)  # processes making API calls; None: by the run's size
    shadow: dict[Annotated[str, Field(min_length=1, max_length=200)], ShadowEntry] = Field(default_factory=dict)
    monitor: dict[Annotated[str, Field(min_length=1, max_length=200)], MonitorEntry] = Field(default_factory=dict)
    plugins: list[str] = Field(default_factory=list)  # modules registering model kinds and graders (_plugins.py)

    _root: Path | None = PrivateAttr(None)  # the folder it was loaded from (the probe cache lives there)

    @property
    def root(self) -> Path | None:
        return self._root

    def monitor_of(self, task: str) -> MonitorEntry:
        """The task's monitor settings (the defaults without a `monitor:` entry)."""
        return self.monitor.get(task) or MonitorEntry()


def load_config(root: Path) -> ProjectConfig:
    """Load `tierwise.yaml` from the project root."""
    path = root / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: not found; fix: run `tierwise init` here or pass --project DIR")
    data = read_yaml(path, CONFIG_FILE, ConfigError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG_FILE}: must be a mapping of settings (store, models, ...)")
    from ._plugins import load_plugins

    load_plugins(root, data.get("plugins"), CONFIG_FILE)  # before the models: they may use its kinds
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, CONFIG_FILE, ProjectConfig, ConfigError) from None
    config._root = root
    check_shadow(config.shadow, config.models, CONFIG_FILE)
    from ..util import register_catalog_secrets

    register_catalog_secrets(config.models)  # their values never reach the store, a report or a log
    return config


def check_shadow(shadow: dict[str, ShadowEntry], models: dict[str, ModelEntry], where: str) -> None:
    """Every challenger is a catalog model (task names are checked once the specs are loaded)."""
    for task, entry in shadow.items():
        if entry.challenger not in models:
            close = difflib.get_close_matches(entry.challenger, list(models), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{where}: shadow.{task}.challenger: unknown model {entry.challenger!r}; {hint}"
                              f"known: {', '.join(sorted(models)) or '(none)'}")
