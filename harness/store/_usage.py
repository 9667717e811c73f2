"""The usage ledger's rows (store/_schema.py usage_ledger): appended by the runtime client's
background writer, read by `tierwise audit`.

A row is fitted to the table before it is written, the same on SQLite and PostgreSQL: NUL
bytes (which PostgreSQL cannot hold in text) are removed and a string longer than its column
is cut with TRUNCATED at its end, so a caller's 500-character trace is kept, shortened, instead
of refused. A row the database refuses anyway (an integer out of range, say) is written alone,
so the rest of its batch lands, and is reported, never retried for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import sqlalchemy as sa

from ._schema import usage_ledger
from ._sql import first_line

if TYPE_CHECKING:
    from ._store import Store

TRUNCATED = "…[truncated]"
# Every column a ledger row carries, in the table's terms (all but the id).
USAGE_COLUMNS = tuple(c.name for c in usage_ledger.columns if c.name != "id")
_WIDTHS = {c.name: c.type.length for c in usage_ledger.columns
           if isinstance(c.type, sa.String) and getattr(c.type, "length", None)}


@dataclass
class UsageWrite:
    """What one append_usage did: rows written, rows refused (one line each, saying why), and
    rows not tried because the store failed part-way (to be retried by the caller)."""

    written: int = 0
    refused: list[str] = field(default_factory=list)
    untried: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def fit_usage_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the table holds it: its columns only, strings without NUL, cut to width."""
    out = {}
    for name in USAGE_COLUMNS:
        value = row.get(name)
        if isinstance(value, str):
            if "\x00" in value:
                value = value.replace("\x00", "")
            width = _WIDTHS.get(name)
            if width is not None and len(value) > width:
                value = value[:width - len(TRUNCATED)] + TRUNCATED
        out[name] = value
    return out


def append_usage(store: "Store", rows: Iterable[dict[str, Any]]) -> UsageWrite:
    """Append ledger rows in one transaction; if the database refuses one, each alone. A store
    that is down raises (nothing was written); one that fails part-way through the rows-alone
    pass returns the rows it did not try in `untried`."""
    values = [fit_usage_row(r) for r in rows]
    if not values:
        return UsageWrite()
    try:
        store._transact(lambda conn: conn.execute(usage_ledger.insert(), values))
        return UsageWrite(written=len(values))
    except _BINDING as exc:
        if not _refusal(exc):
            raise
    done = UsageWrite()
    for i, value in enumerate(values):
        try:
            store._transact(lambda conn: conn.execute(usage_ledger.insert(), [value]))
            done.written += 1
        except _BINDING as exc:
            if not _refusal(exc):
                done.untried, done.error = values[i:], first_line(exc)
                break
            done.refused.append(f"task {str(value.get('task'))[:80]!r}, call {value.get('call_id')}: "
                                f"{first_line(exc)[:300]}")
    return done


def usage_rows(store: "Store", columns: Iterable[str] = USAGE_COLUMNS) -> list[dict[str, Any]]:
    """Every ledger row (the named columns), oldest first."""
    query = sa.select(*[usage_ledger.c[c] for c in columns]).order_by(usage_ledger.c.at, usage_ledger.c.id)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def call_inputs(store: "Store", call_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """call_id -> the template variables its ledger row captured (calls without them left out)."""
    import json

    ids, out = list(dict.fromkeys(call_ids)), {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        query = sa.select(usage_ledger.c.call_id, usage_ledger.c.input).where(
            usage_ledger.c.call_id.in_(ids[start:start + 500]) & usage_ledger.c.input.is_not(None))
        with store.engine.connect() as conn:
            for call_id, text in conn.execute(query):
                try:
                    values = json.loads(text)
                except ValueError:
                    continue
                if isinstance(values, dict):
                    out.setdefault(call_id, values)
    return out


# What a write can raise: SQLAlchemy's errors, and the driver's own while binding a value
# (sqlite3 raises OverflowError for an integer over 2**63, unwrapped).
_BINDING = (sa.exc.StatementError, OverflowError, ValueError, TypeError)


def _refusal(exc: BaseException) -> bool:
    """The database (or the driver, binding it) will never hold this row: a value out of range
    or of the wrong kind. Anything else (a store that is down, locked) may pass on a retry."""
    if isinstance(exc, (sa.exc.DataError, sa.exc.IntegrityError)):
        return True
    return not isinstance(exc, sa.exc.DBAPIError)  # raised binding a value, before the database saw it
