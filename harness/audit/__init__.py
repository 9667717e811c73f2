"""Usage figures for `tierwise audit` (harness.commands.audit puts them together): where the
money goes, per task and per pipeline run, from the usage ledger or a usage export; the
projected monthly spend before and after the recommendation; and real inputs sampled as
golden-set candidates."""

from ._audit import (
           AuditResult,
           Opportunity,
           Projection,
           measured_volumes,
           pricer,
           project_spend,
           summarise,
           write_sample,
)
from ._monitors import MonitorRow, live_monitors
from ._read import USAGE_COLUMNS, Usage, UsageError, from_file, from_ledger, read_usage

__all__ = ["AuditResult", "MonitorRow", "Opportunity", "Projection", "USAGE_COLUMNS", "Usage", "UsageError", "from_file", "from_ledger",
           "live_monitors", "measured_volumes", "pricer", "project_spend", "read_usage", "summarise", "write_sample"]
