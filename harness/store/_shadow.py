"""Shadow-call rows (harness/client/_shadow.py): written redacted, read back in call order."""

from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa

from ._schema import shadow_calls

_TEXT = ("error", "output", "incumbent_output")
_WIDTHS = {"error_type": 100, "trace": 200, "call_id": 32}


def write_shadow_calls(engine: sa.Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows (keys: shadow_calls' columns); no secret is stored (util.redactor), short
    strings are cut to their columns' widths. Returns the rows written."""
    from ..util import redactor

    hide = redactor()
    columns = [c.name for c in shadow_calls.columns if c.name != "id"]
    values = []
    for row in rows:
        out = {c: row.get(c) for c in columns}
        for c in _TEXT:
            out[c] = hide(out[c])
        for c, width in _WIDTHS.items():
            if isinstance(out[c], str):
                out[c] = out[c][:width]
        values.append(out)
    if values:
        with engine.begin() as conn:
            conn.execute(shadow_calls.insert(), values)
    return len(values)


def read_shadow_calls(engine: sa.Engine, task: str | None = None, challenger: str | None = None,
                      since: float | None = None) -> list[dict[str, Any]]:
    """Shadow rows in the order they were written, optionally for one task / challenger / since a time."""
    query = sa.select(shadow_calls).order_by(shadow_calls.c.id)
    if task is not None:
        query = query.where(shadow_calls.c.task == task)
    if challenger is not None:
        query = query.where(shadow_calls.c.challenger == challenger)
    if since is not None:
        query = query.where(shadow_calls.c.at >= since)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
