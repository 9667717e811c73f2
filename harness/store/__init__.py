"""The results store: SQLAlchemy over SQLite (default, WAL) or PostgreSQL, migrated on open."""

from ._migrations import MIGRATIONS, SCHEMA_VERSION, migrations_table
from ._schema import (
           ResultRow,
           grades,
           metadata,
           response_cache,
           results,
           runs,
           shadow_calls,
           usage_ledger,
)
from ._groups import GroupStatus, group_status, require_complete, run_info
from ._prune import PruneResult, prune_store
from ._sql import safe_url
from ._store import Store
from ._usage import TRUNCATED, UsageWrite, fit_usage_row

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "GroupStatus", "PruneResult", "ResultRow", "Store", "TRUNCATED", "UsageWrite",
           "fit_usage_row", "grades", "group_status", "metadata", "migrations_table", "prune_store", "require_complete",
           "response_cache", "results", "run_info", "runs", "safe_url", "shadow_calls", "usage_ledger"]
