"""The library calls behind `tierwise recommend`: decide every task, print, write the registry."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any

from .evaluate import candidates_for
from .plan import plan_run
from .project import Project
from .recommend import Decision, decide
from .registry import read_registry, update_registry, write_evidence
from .store import Store

JSON_VERSION = 1


@dataclass
class Recommendation:
    decisions: list[Decision]
    store: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    frame: Any = None  # the current results the decisions were made from

    def to_dict(self) -> dict[str, Any]:
        """The stable `--json` document (version 1); see docs/json.md."""
        return {"version": JSON_VERSION, "tasks": [d.to_dict() for d in self.decisions],
                "skipped_models": self.skipped}


def recommend(project: Project, tasks: list[str] | None = None, store: str | None = None) -> Recommendation:
    """Decide every selected task from the current stored results."""
    selected = project.select(tasks)
    cands = candidates_for(project, selected, check_keys=True)
    current_keys = plan_run(selected, cands).current_keys()
    from .store import _safe_url

    db = Store(project.store_url(store))
    try:
        frame = db.results_frame([t.name for t in selected], current=current_keys)
        runs = db.runs()
    finally:
        db.close()
    registry = read_registry(project.registry_path)
    decisions = []
    for task in selected:
        rows = frame[frame["task"] == task.name] if len(frame) else frame
        decisions.append(decide(task, cands, rows, registry.get(task.name), project.config.volumes.get(task.name)))
    skipped = {n: c.skip_reason for n, c in cands.items() if not c.available}
    return Recommendation(decisions, _safe_url(project.store_url(store)), runs, skipped, frame)


def write(project: Project, rec: Recommendation) -> list[str]:
    """Write the recommended entries and their evidence; returns the tasks whose entry changed."""
    entries = {d.task: d.entry for d in rec.decisions if d.entry is not None}
    if not entries:
        return []
    evidence = {d.task: _evidence(project, d, rec) for d in rec.decisions if d.entry is not None}
    # Evidence first: a registry entry must never be newer than the evidence behind it.
    write_evidence(project.registry_path, evidence)
    update_registry(project.registry_path, entries)
    return [d.task for d in rec.decisions if d.entry is not None and d.changed]


def _evidence(project: Project, d: Decision, rec: Recommendation) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        tw_version = version("tierwise")
    except PackageNotFoundError:
        tw_version = "dev"
    task = project.tasks[d.task]
    by_model = {c.model: c for c in d.candidates}
    run_versions = {r["id"]: r.get("price_map_version") for r in rec.runs}

    def record(name: str) -> dict[str, Any]:
        c = by_model[name]
        return {
            "model": name, "target": c.target, "spec_hash": c.spec_hash, "n": c.n, "mean": _r(c.mean),
            "lower": _r(c.lower), "method": c.method, "error_rate": _r(c.error_rate), "p95_ms": _r(c.p95_ms),
            "cost_per_call": c.cost_per_call, "run_ids": c.run_ids,
            "price_map_version": sorted({run_versions.get(r) or "" for r in c.run_ids})[-1] if c.run_ids else "",
        }

    main = record(d.recommended)
    return {
        **main,
        "params": {k: d.entry.get(k) for k in ("max_tokens", "temperature") if d.entry.get(k) is not None},
        "golden_set": task.spec.golden_set, "golden_hash": task.golden.sha256,
        "threshold": task.spec.threshold, "confidence": task.spec.confidence,
        "fallbacks": [record(name) for name in d.fallbacks],
        "tierwise_version": tw_version,
        "recorded_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }


def _r(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 6)
