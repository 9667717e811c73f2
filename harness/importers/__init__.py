"""Importers: other tools' eval suites as Tierwise projects (evals, golden sets, catalog)."""

from .promptfoo import ImportReport, import_promptfoo

__all__ = ["ImportReport", "import_promptfoo"]
