"""The results store: SQLAlchemy over SQLite (default, WAL) or PostgreSQL, migrated on open.

Other packages go through `Store`'s methods; the tables stay inside this package."""

from ._groups import GroupStatus, group_status, require_complete, run_info
from ._migrations import MIGRATIONS, SCHEMA_VERSION
from ._prune import PruneResult, prune_store
from ._shadow import VERDICT_BATCH
from ._schema import RESULT_COLUMNS, AttemptKind, AttemptOutcome, ResultRow, RunStatus
from ._sql import safe_url
from ._store import Store
from ._usage import TRUNCATED, UsageWrite, fit_usage_row

__all__ = ["MIGRATIONS", "RESULT_COLUMNS", "SCHEMA_VERSION", "AttemptKind", "AttemptOutcome", "GroupStatus",
           "PruneResult", "ResultRow", "RunStatus", "Store", "TRUNCATED", "UsageWrite", "VERDICT_BATCH",
           "fit_usage_row", "group_status", "prune_store", "require_complete", "run_info", "safe_url"]
