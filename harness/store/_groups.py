"""Run groups: the shards of one sharded run (`tierwise run --shard i/n --run-group NAME`),
recognised as one run.

Each shard job stores its own run record carrying the group's name and its shard i/n; a
group is complete when, for every i in 1..n, at least one of its runs of shard i finished (a
retried shard job adds a run; any finished one counts). A run that finished with more errors
than a task allows (`finished_with_errors`, exit code 1) finished too: every call of its shard was
made and stored, its errors are the evidence the decision reads (they count as score 0), and a
re-run makes the same failing calls again, so refusing it would keep the group incomplete for
as long as the provider fails. An interrupted, budget-stopped or failed run did not finish: its
shard is complete once a re-run of the job finishes, which calls only what is not stored yet. Reading a group's results needs no
special query: every shard writes its own cases' current rows, so the current rows of the
store are the whole group once it is complete. What the group adds is the check that it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import StoreError

FINISHED = ("finished", "finished_with_errors")  # run statuses whose every planned call was made


@dataclass
class GroupStatus:
    """What the store holds of one run group."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)   # its run records, oldest first
    shards: int | None = None                                 # n of i/n, when the runs are shards
    finished: list[int] = field(default_factory=list)          # shard numbers with a finished run
    problems: list[str] = field(default_factory=list)          # why the group is not complete

    @property
    def complete(self) -> bool:
        return bool(self.runs) and not self.problems

    @property
    def tasks(self) -> list[str]:
        """The tasks the group's runs evaluated, in first-seen order."""
        out: list[str] = []
        for run in self.runs:
            out += [t for t in run_info(run).get("tasks") or [] if t not in out]
        return out

    @property
    def run_ids(self) -> list[str]:
        return [r["id"] for r in self.runs]


def run_info(run: dict[str, Any]) -> dict[str, Any]:
    try:
        info = json.loads(run.get("info") or "{}")
    except (TypeError, json.JSONDecodeError):
        return {}
    return info if isinstance(info, dict) else {}


def group_status(store: Any, name: str) -> GroupStatus:
    """The state of run group `name` in the store: its runs and, if any, why it is incomplete."""
    status = GroupStatus(name, store.runs(group=name))
    if not status.runs:
        status.problems.append(f"no run belongs to run group {name!r}")
        return status
    counts = {tuple(run_info(r).get("shard") or ()) for r in status.runs} - {()}
    sizes = sorted({int(shard[1]) for shard in counts})
    if len(sizes) > 1:
        status.problems.append(f"its runs split the cases in different ways ({', '.join(f'n={n}' for n in sizes)})")
        return status
    status.shards = sizes[0] if sizes else None
    by_shard: dict[int | None, list[dict[str, Any]]] = {}
    for run in status.runs:
        shard = run_info(run).get("shard")
        by_shard.setdefault(int(shard[0]) if shard else None, []).append(run)
    status.finished = sorted(i for i, rs in by_shard.items() if i is not None
                             and any(r["status"] in FINISHED for r in rs))
    for i in range(1, (status.shards or 0) + 1):
        runs = by_shard.get(i, [])
        if not runs:
            status.problems.append(f"shard {i}/{status.shards} has no run")
        elif i not in status.finished:
            latest = runs[-1]
            status.problems.append(f"shard {i}/{status.shards} is {latest['status']} (run {latest['id']})")
    status.problems += [f"run {r['id']} is {r['status']}" for r in by_shard.get(None, []) if r["status"] not in FINISHED]
    return status


def require_complete(store: Any, name: str) -> GroupStatus:
    """The group's status; a StoreError naming each missing or unfinished shard if incomplete."""
    status = group_status(store, name)
    if not status.complete:
        from ._sql import safe_url

        raise StoreError(f"{safe_url(store.url)}: run group {name!r} is not complete: {'; '.join(status.problems)}; "
                         f"fix: wait for every `tierwise run --shard i/n --run-group {name}` job to finish "
                         f"(in GitHub Actions: needs: the shard jobs), or run the missing shards again")
    return status
