"""The monitor line every `tierwise audit` monitor returns, and the reads of the usage ledger more than
one monitor (and `--sample`'s flags) share: the registry's model of a task, each call's first attempt,
the captured answers. Its own module so that _monitors.py, _judge_monitor.py and _sample.py import it
rather than each other."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Literal

MonitorStatus = Literal["promoted", "pending", "ok", "alarm"]


@dataclass
class MonitorRow:
    """One monitor of one task, as `tierwise audit` shows it (`line()`) and `--check` judges it."""

    task: str
    monitor: str            # "shadow <challenger>" | "label mix"
    state: MonitorStatus
    since: float | None     # unix time of the call at which it was promoted or raised
    text: str
    fix: str = ""

    def line(self) -> str:
        when = f" since {_iso(self.since)}" if self.since is not None else ""
        fix = f"; fix: {self.fix}" if self.state == "alarm" and self.fix else ""
        body = re.sub(r"^(ok: |ALARM since (call \d+): )", lambda m: f"at {m.group(2)}: " if m.group(2) else "",
                      self.text)
        return f"{self.task}: {self.monitor}: {self.state.upper()}{when}: {body}{fix}"


def primary_model(project: Any, task: str) -> str | None:
    """The catalog name of the registry's model for the task (None without an entry)."""
    from ..client import build_routes
    from ..registry import read_registry

    registry = read_registry(project.registry_path)
    if task not in registry:
        return None
    route = build_routes(project, {task: registry[task]}).get(task)
    return route.hops[0].name if route is not None else None


def first_attempts(rows: list[dict[str, Any]], task: str, model: str) -> list[dict[str, Any]]:
    """Each call's first attempt (rows are oldest first), when `model` made it."""
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["task"] != task or r["call_id"] in seen:
            continue
        seen.add(r["call_id"])
        if r["model"] == model:
            out.append(r)
    return out


def output_labels(rows: list[dict[str, Any]], task: str) -> tuple[list[str], list[float]]:
    """The answer of each finished call of a task whose output was captured, oldest first."""
    labels, times = [], []
    for r in rows:
        if r["task"] == task and r.get("final") and r.get("outcome") in ("ok", "contract_failed") \
                and r.get("output") is not None:
            labels.append(str(r["output"]).strip())
            times.append(float(r["at"]))
    return labels, times


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
