"""Shadow-call rows (harness/client/_shadow.py): written redacted, read back in call order; the
pairwise judge's verdicts on them (runner/_shadow_judging.py); and the task judge's verdicts on
sampled live calls of the incumbent (runner/_live_judging.py)."""

from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa

from ._schema import live_verdicts, shadow_calls, shadow_verdicts

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


VERDICT_BATCH = 200  # verdicts a transaction at most: bounds a statement's parameters and what a failure undoes


def write_shadow_verdicts(engine: sa.Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Store judge verdicts on shadow pairs (keys: shadow_verdicts' columns), replacing a failed
    verdict on the same pair and judge: a pair with a verdict is never judged twice (_write_verdicts)."""
    return _write_verdicts(engine, shadow_verdicts, "shadow_id", rows)


def read_shadow_verdicts(engine: sa.Engine, task: str, judge: str) -> dict[int, dict[str, Any]]:
    """A task's verdicts on shadow pairs by one judge (its grader fingerprint), by shadow call id."""
    return _read_verdicts(engine, shadow_verdicts, "shadow_id", task, judge)


def write_live_verdicts(engine: sa.Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Store judge verdicts on live calls (keys: live_verdicts' columns), replacing a failed verdict
    on the same call and judge: a call with a verdict is never judged twice."""
    return _write_verdicts(engine, live_verdicts, "call_id", rows)


def read_live_verdicts(engine: sa.Engine, task: str, judge: str) -> dict[str, dict[str, Any]]:
    """A task's verdicts on live calls by one judge (its grader fingerprint), by call id."""
    return _read_verdicts(engine, live_verdicts, "call_id", task, judge)


def _write_verdicts(engine: sa.Engine, table: sa.Table, key: str, rows: Iterable[dict[str, Any]]) -> int:
    """Insert verdict rows (errors redacted), each replacing the row of the same `key` and judge.

    In batches of at most VERDICT_BATCH, each one transaction (one delete of the verdicts it
    replaces, one insert): a batch is stored whole or not at all, so a verdict never half-replaces
    a failure, and a failure loses no earlier batch. A row given twice keeps its last verdict."""
    from ..util import redactor

    hide = redactor()
    columns = [c.name for c in table.columns if c.name != "id"]
    latest = {(row.get(key), row.get("judge")): row for row in rows}
    values = [{**{c: row.get(c) for c in columns}, "error": hide(row.get("error"))} for row in latest.values()]
    t = table.c
    for start in range(0, len(values), VERDICT_BATCH):
        batch = values[start:start + VERDICT_BATCH]
        ids: dict[Any, list[Any]] = {}
        for v in batch:
            ids.setdefault(v["judge"], []).append(v[key])
        with engine.begin() as conn:
            for judge, keys in ids.items():
                conn.execute(table.delete().where((t.judge == judge) & t[key].in_(keys)))
            conn.execute(table.insert(), batch)
    return len(values)


def _read_verdicts(engine: sa.Engine, table: sa.Table, key: str, task: str, judge: str) -> dict[Any, dict[str, Any]]:
    t = table.c
    query = sa.select(table).where((t.task == task) & (t.judge == judge))
    with engine.connect() as conn:
        return {r[key]: dict(r) for r in conn.execute(query).mappings()}
