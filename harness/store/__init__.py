"""The results store: SQLAlchemy over SQLite (default, WAL) or PostgreSQL, migrated on open."""

from ._schema import (
           MIGRATIONS,
           SCHEMA_VERSION,
           ResultRow,
           grades,
           metadata,
           migrations_table,
           response_cache,
           results,
           runs,
           shadow_calls,
           usage_ledger,
)
from ._groups import GroupStatus, group_status, require_complete
from ._prune import PruneResult, prune
from ._sql import safe_url
from ._store import Store

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "GroupStatus", "PruneResult", "ResultRow", "Store", "grades", "group_status",
           "metadata", "migrations_table", "prune", "require_complete", "response_cache", "results", "runs", "safe_url",
           "shadow_calls", "usage_ledger"]
