"""`tierwise prune`: drop old runs' results, never the rows the registry's evidence cites nor the
rows the current specs would read (what stays is spelled out in harness/store/_prune.py)."""

from __future__ import annotations

from ..errors import ConfigError
from ..project import Project
from ..registry import read_evidence
from ..runner import candidates_for, plan_run
from ..store import PruneResult, Store, prune_store


def prune(project: Project, keep_runs: int | None = None, older_than_days: float | None = None,
          store: str | None = None, dry_run: bool = False) -> PruneResult:
    """Drop old runs' results from the project's store."""
    if keep_runs is None and older_than_days is None:
        raise ConfigError("prune: say which runs to keep; fix: pass --keep-runs N and/or --older-than DAYS")
    # A malformed evidence file stops prune: what it cites cannot be known, so nothing is safe to drop.
    evidence = read_evidence(project.registry_path, missing_ok=True)
    tasks = project.select(None)
    current = plan_run(tasks, candidates_for(project, tasks, check_keys=False)).current_keys()
    with Store(project.store_url(store)) as db:
        return prune_store(db, keep_runs, older_than_days, evidence.cited_run_ids(), current, dry_run)
