"""A Tierwise project on disk: tierwise.yaml (the catalog), evals/ (one spec per task type),
golden_sets/ (one JSONL per task type), and `tierwise init`'s scaffold."""

from ..models import ModelEntry, Price  # the catalog's entries, re-exported where tierwise.yaml is read
from ._cascade_spec import CascadeSpec, import_check, signal_name, signal_record
from ._config import (
           CONFIG_FILE,
           DEFAULT_STORE,
           GRADE_TIMEOUT_S,
           MonitorEntry,
           ProjectConfig,
           ShadowEntry,
           check_shadow,
           load_config,
)
from ._contract import Check, Contract, Verdict
from ._golden import Case, GoldenSet, load_golden_set
from ._labels import Labels, label_identity, live_lines, load_labels, template_lines
from ._project import Project, load_catalog, load_project
from ._sandbox import shared_budget
from ._scaffold import NEXT_STEPS, init_project
from ._specs import Task, TaskSpec, load_task, prompt_env
from ._yaml import pydantic_error, read_text, read_yaml

__all__ = ["NEXT_STEPS", "CONFIG_FILE", "DEFAULT_STORE", "GRADE_TIMEOUT_S", "CascadeSpec", "Case", "Check", "Contract", "GoldenSet", "ModelEntry", "MonitorEntry", "Price", "Project", "ProjectConfig",
           "Labels", "ShadowEntry", "Task", "TaskSpec", "check_shadow", "import_check", "init_project", "load_catalog", "load_config", "label_identity", "live_lines", "load_labels", "template_lines", "Verdict", "load_golden_set", "load_project", "load_task", "prompt_env", "signal_name", "signal_record",
           "pydantic_error", "read_text", "read_yaml", "shared_budget"]
