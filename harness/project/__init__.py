"""A Tierwise project on disk: tierwise.yaml (the catalog), evals/ (one spec per task type),
golden_sets/ (one JSONL per task type), and `tierwise init`'s scaffold."""

from ._config import (
           CONFIG_FILE,
           DEFAULT_STORE,
           ModelEntry,
           Price,
           ProjectConfig,
           load_config,
)
from ._golden import Case, GoldenSet, load_golden_set
from ._project import Project, load_project
from ._sandbox import shared_budget
from ._scaffold import NEXT_STEPS, init_project
from ._specs import Task, TaskSpec, load_task, prompt_env
from ._yaml import pydantic_error, read_text, read_yaml

__all__ = ["NEXT_STEPS", "CONFIG_FILE", "DEFAULT_STORE", "Case", "GoldenSet", "ModelEntry", "Price", "Project", "ProjectConfig",
           "Task", "TaskSpec", "init_project", "load_config", "load_golden_set", "load_project", "load_task", "prompt_env",
           "pydantic_error", "read_text", "read_yaml", "shared_budget"]
