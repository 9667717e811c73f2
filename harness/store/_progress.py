"""What a run in progress has done so far, read while it writes (`tierwise view`'s live progress).

Two reads, neither of which writes to the store (a viewer must not mark anyone's run abandoned):

- `live_runs`: the runs recorded `running` whose process is still there — on this host, its
  process id is alive; from another host, it wrote a result (or started) within the stale
  window `mark_abandoned` uses. A run killed without finishing therefore drops out of the list
  at once on this host, and after STALE_RUN_S from elsewhere.
- `done_counts`: per (task, model), how many of the calls a plan asks for have a result a run
  keeps: a current row (the same call key, case hash and grader hash: Plan.current_keys) that
  either these runs wrote, or that holds no error (a run re-calls a stored failure, so a failure
  from before it started is not done yet). One GROUP BY over the joined keys.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any, Iterable

import sqlalchemy as sa

from ._schema import results, runs
from ._sql import CHUNK, current_keys_table, current_rows, matches_current


def live_runs(engine: sa.Engine, stale_s: float, alive: Any, limit: int) -> list[dict[str, Any]]:
    """Runs still running (see the module docstring), newest first, at most `limit`."""
    host, now = socket.gethostname(), time.time()
    out = []
    with engine.connect() as conn:
        running = conn.execute(sa.select(runs).where(runs.c.status == "running")
                               .order_by(runs.c.started_at.desc())).mappings().all()
        for run in running:
            try:
                info = json.loads(run["info"] or "{}")
            except ValueError:
                info = {}
            if info.get("host") == host and isinstance(info.get("pid"), int):
                if not alive(info["pid"]):
                    continue
            else:
                last = conn.execute(sa.select(sa.func.max(results.c.created_at))
                                    .where(results.c.run_id == run["id"])).scalar()
                if now - max(last or 0.0, run["started_at"] or 0.0) > stale_s:
                    continue
            out.append(dict(run))
            if len(out) >= limit:
                break
    return out


def done_counts(engine: sa.Engine, current: dict, run_ids: Iterable[str]) -> dict[tuple[str, str], int]:
    """(task, model) -> calls of `current` (Plan.current_keys) done: see the module docstring."""
    keys = current_rows(current)
    if not keys:
        return {}
    ids = sorted(set(run_ids))[:CHUNK]
    kept = results.c.error.is_(None)
    if ids:
        kept = sa.or_(kept, results.c.run_id.in_(ids))
    with engine.connect() as conn:
        with current_keys_table(conn, keys) as table:
            query = (sa.select(results.c.task, results.c.model, sa.func.count())
                     .select_from(results.join(table, matches_current(table)))
                     .where(kept).group_by(results.c.task, results.c.model))
            return {(task, model): int(n) for task, model, n in conn.execute(query)}
