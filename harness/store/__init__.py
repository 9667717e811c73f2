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
           usage_ledger,
)
from ._store import Store, safe_url

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "ResultRow", "Store", "grades", "metadata", "migrations_table",
           "response_cache", "results", "runs", "safe_url", "usage_ledger"]
