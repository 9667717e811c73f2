"""Usage figures for `tierwise audit` (harness.commands.audit puts them together): where the
money goes, per task and per pipeline run, from the usage ledger or a usage export; the
projected monthly spend before and after the recommendation; and real inputs sampled as
golden-set candidates, disagreements with a shadow challenger and inputs the monitors flag first."""

from ._audit import (
           AuditResult,
           Opportunity,
           Projection,
           measured_volumes,
           pricer,
           project_spend,
           summarise,
)
from ._monitor_rows import MonitorRow
from ._monitors import live_monitors
from ._read import USAGE_COLUMNS, Usage, UsageError, from_file, from_ledger, read_usage
from ._sample import write_sample

__all__ = ["AuditResult", "MonitorRow", "Opportunity", "Projection", "USAGE_COLUMNS", "Usage", "UsageError", "from_file", "from_ledger",
           "live_monitors", "measured_volumes", "pricer", "project_spend", "read_usage", "summarise", "write_sample"]
