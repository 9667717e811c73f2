"""The store half of `tierwise prune` (harness.commands.prune reads the evidence and plans the
current rows): drop old runs' results, never the rows of cited runs nor current ones.

A run group (the shards of one sharded run) counts as one run. A run is kept when it is one
of the newest `keep_runs` runs or younger than `older_than_days` (either keeps it, when both
are given), or when it is still running (started less than a day ago). Of every other run the
results are deleted, with their grades, except:

- rows of runs whose ids registry.evidence.json cites (the recommended model's and the
  fallbacks' `run_ids`): `tierwise gate` and a reviewer can trace the evidence to its rows;
- rows that are current: the rows recommend, report and results() read today.

A pruned run whose rows are all gone loses its run record too. The response cache is kept
(a re-run after pruning still calls nothing it has already answered).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ._schema import grades, results, runs
from ._sql import current_keys_table, current_rows, matches_current, safe_url
from ._store import Store

DAY_S = 86400.0
_CHUNK = 500


@dataclass
class PruneResult:
    """What prune removed (or, with dry_run, would remove) and what it kept on purpose."""

    store: str
    dry_run: bool
    runs_kept: int = 0
    runs_pruned: list[str] = field(default_factory=list)      # runs whose unneeded rows went
    runs_removed: list[str] = field(default_factory=list)     # run records removed with all their rows
    results_removed: int = 0
    kept_cited: int = 0          # rows kept because registry.evidence.json cites their run
    kept_current: int = 0        # rows kept because the current specs read them

    def text(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"{self.store}: {verb} {self.results_removed:,} results of {len(self.runs_pruned)} old runs "
                f"({len(self.runs_removed)} run records); kept {self.runs_kept} runs, {self.kept_cited:,} rows "
                f"the registry evidence cites and {self.kept_current:,} current rows of old runs")


def prune_store(db: Store, keep_runs: int | None, older_than_days: float | None, cited: set[str],
                current: dict[tuple[str, str], dict[str, tuple[str, str, str]]], dry_run: bool = False,
                now: float | None = None) -> PruneResult:
    """The store half of prune: which runs go, then one DELETE per chunk of their ids."""
    now = time.time() if now is None else now
    result = PruneResult(safe_url(db.url), dry_run)
    units: dict[str, list[dict[str, Any]]] = {}
    for run in db.runs():
        units.setdefault(run.get("run_group") or run["id"], []).append(run)
    ordered = sorted(units.values(), key=lambda rs: max(r["started_at"] for r in rs), reverse=True)
    old: list[str] = []
    for rank, unit in enumerate(ordered):
        newest = max(r["started_at"] for r in unit)
        keep = ((keep_runs is not None and rank < keep_runs)
                or (older_than_days is not None and newest >= now - older_than_days * DAY_S)
                or any(r["status"] == "running" and r["started_at"] >= now - DAY_S for r in unit))
        if keep:
            result.runs_kept += 1
        else:
            old += [r["id"] for r in unit]
    result.runs_pruned = sorted(old)
    prunable = sorted(set(old) - cited)
    if not old:
        return result
    with db.engine.connect() as conn:
        result.kept_cited = _count(conn, results.c.run_id.in_(sorted(set(old) & cited)))
        with current_keys_table(conn, current_rows(current)) as table:
            is_current = sa.exists().where(matches_current(table))
            for start in range(0, len(prunable), _CHUNK):
                in_chunk = results.c.run_id.in_(prunable[start:start + _CHUNK])
                result.kept_current += _count(conn, in_chunk & is_current)
                doomed = in_chunk & ~is_current
                if dry_run:
                    result.results_removed += _count(conn, doomed)
                    continue
                conn.execute(grades.delete().where(grades.c.result_id.in_(sa.select(results.c.id).where(doomed))))
                result.results_removed += conn.execute(results.delete().where(doomed)).rowcount
            still = set()
            for start in range(0, len(prunable), _CHUNK):
                chunk = prunable[start:start + _CHUNK]
                still |= {r[0] for r in conn.execute(sa.select(results.c.run_id).distinct()
                                                     .where(results.c.run_id.in_(chunk)))}
            result.runs_removed = [r for r in prunable if r not in still]
            if not dry_run:
                for start in range(0, len(result.runs_removed), _CHUNK):
                    conn.execute(runs.delete().where(runs.c.id.in_(result.runs_removed[start:start + _CHUNK])))
                conn.commit()
    if dry_run:  # nothing was deleted, so every prunable run without current rows would go
        result.runs_removed = [r for r in prunable if r not in _runs_with_current(db, prunable, current)]
    return result


def _count(conn: sa.Connection, where: Any) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(results).where(where)).scalar_one()


def _runs_with_current(db: Store, run_ids: list[str], current: dict) -> set[str]:
    out: set[str] = set()
    with db.engine.connect() as conn, current_keys_table(conn, current_rows(current)) as table:
        for start in range(0, len(run_ids), _CHUNK):
            query = (sa.select(results.c.run_id).distinct().select_from(results)
                     .join(table, matches_current(table)).where(results.c.run_id.in_(run_ids[start:start + _CHUNK])))
            out |= {r[0] for r in conn.execute(query)}
    return out
