"""`tierwise import` and `tierwise export`: other tools' formats in and out of a project."""

from __future__ import annotations

from pathlib import Path

from ..export import LitellmExport, write_litellm_config
from ..importers import ImportReport
from ..importers import import_promptfoo as _import_promptfoo
from ..project import Project


def export_litellm(project: Project, out: str | Path | None = None, local_api_base: str | None = None
                   ) -> LitellmExport:
    """The registry as a LiteLLM Router / proxy config, written to `out` (default: the project's
    litellm_config.yaml); `local_api_base`: where local models are served, to export them too."""
    return write_litellm_config(project, out, local_api_base)


def import_promptfoo(config: str | Path, out_dir: str | Path, strict: bool = False, threshold: float = 0.9,
                     allow_outside: bool = False) -> ImportReport:
    """A promptfoo suite as a Tierwise project in `out_dir` (evals, golden sets, catalog);
    `allow_outside`: read file:// references outside the config's folder (listed) instead of refusing."""
    return _import_promptfoo(config, out_dir, strict=strict, threshold=threshold, allow_outside=allow_outside)
