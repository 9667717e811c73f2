"""`tierwise recommend`: decide every task from the current stored results, and optionally write
the registry and its evidence."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..audit import measured_volumes
from ..decide import Recommendation, decide, live_grader, promote, recorded_settings, task_judged
from ..errors import ConfigError
from ..project import Project
from ..registry import Written, read_registry, write_registry
from ..runner import candidates_for, judge_shadow_pairs, plan_run
from ..store import RESULT_COLUMNS, Store, require_complete, safe_url

if TYPE_CHECKING:
    import pandas as pd

UNREAD_COLUMNS = ("messages", "params")  # the rendered prompts and call parameters: nothing in deciding reads them


def recommend(project: Project, tasks: list[str] | None = None, store: str | None = None,
              run_group: str | None = None) -> Recommendation:
    """Decide every selected task from the current stored results (only those rows are read).

    With `run_group` the group's shards must all have finished (a StoreError names the ones
    that have not), and the tasks default to those the group evaluated."""
    url = project.store_url(store)
    if Store.missing(url) and run_group is None:  # nothing run yet: say so, without creating an empty database
        selected = project.select(tasks)
        cands = candidates_for(project, selected, check_keys=True)
        settings = {t.name: recorded_settings(t, []) for t in selected}
        frame, runs, stored, shadow = Store.empty_frame(), [], set(), []
        verdicts, judgings = {}, {}
    else:
        with Store(url) as db:
            if run_group is not None:
                group = require_complete(db, run_group)
                tasks = tasks or [t for t in group.tasks if t in project.tasks] or None
            selected = project.select(tasks)
            cands = candidates_for(project, selected, check_keys=True)
            all_runs = db.runs()
            settings, frame = _current_results(db, selected, cands, all_runs)
            used = set(frame["run_id"].unique()) if len(frame) else set()
            runs = [r for r in all_runs if r["id"] in used]
            stored = db.stored_pairs([t.name for t in selected])
            shadow = [r for t in selected for r in db.shadow_calls(t.name)]  # live evidence (decide/_promote.py)
            verdicts, judgings = _judge_live_pairs(project, selected, db, shadow)
    registry = read_registry(project.registry_path)
    # Calls a month measured by the usage ledger replace the hand-written volumes: where present.
    volumes = {**project.config.volumes, **({} if Store.missing(url) else measured_volumes(project, store))}
    decisions = []
    run_versions = {r["id"]: r.get("price_map_version") for r in runs}
    for task in selected:
        rows = frame[frame["task"] == task.name] if len(frame) else frame
        evaluated = set(rows["model"]) if len(rows) else set()
        stale = frozenset(m for t, m in stored if t == task.name and m not in evaluated)
        decision = decide(task, cands, rows, registry.get(task.name), volumes.get(task.name),
                          adaptive=settings[task.name][0], stale=stale,
                          check_timeout_s=project.config.grade_timeout_s, run_versions=run_versions)
        promote(task, decision, [r for r in shadow if r["task"] == task.name], verdicts.get(task.name),
                task_judged(task, rows) if task.name in verdicts else None)
        if task.name in judgings:
            decision.notes += judgings[task.name].notes()
        decisions.append(decision)
    skipped = {n: c.skip_reason for n, c in cands.items() if not c.available}
    return Recommendation(decisions, safe_url(url), runs, skipped, frame)


def _current_results(db: Store, selected: list, cands: dict, all_runs: list[dict]) -> tuple[dict, pd.DataFrame]:
    """Each task's recorded settings, and the stored results current for the spec and catalog
    (the rows a decision reads)."""
    # Each task as it was last run: adaptive or full, and with how many repeats per case.
    settings = {t.name: recorded_settings(t, all_runs) for t in selected}
    current_keys: dict = {}
    for task in selected:
        current_keys.update(plan_run([task], cands, repeats=settings[task.name][1]).current_keys())
    # Every column but those nothing here reads: they are most of each row's bytes.
    columns = [c for c in RESULT_COLUMNS if c not in UNREAD_COLUMNS]
    return settings, db.results_frame([t.name for t in selected], current=current_keys, columns=columns)


def current_results(project: Project, tasks: list[str], store: str | None = None) -> pd.DataFrame:
    """The stored results a recommendation of `tasks` would read, without deciding or judging
    anything (audit's pairwise monitors match human verdicts to them)."""
    url = project.store_url(store)
    if Store.missing(url):
        return Store.empty_frame()
    with Store(url) as db:
        selected = project.select(tasks)
        return _current_results(db, selected, candidates_for(project, selected, check_keys=True), db.runs())[1]


def _judge_live_pairs(project: Project, tasks: list, db: Store, shadow: list[dict]) -> tuple[dict, dict]:
    """The pairwise judge on the stored shadow pairs of each judged task not judged yet
    (runner/_shadow_judging.py), then every verdict of the task's judge: (verdicts, judgings) by task."""
    verdicts, judgings = {}, {}
    for task in tasks:
        mine = [r for r in shadow if r["task"] == task.name]
        if not mine or not task.uses_judge or live_grader(task) is None or task.spec.max_regression is None:
            continue
        done = judgings[task.name] = judge_shadow_pairs(project, task, db, mine)
        verdicts[task.name] = db.shadow_verdicts(task.name, done.judge)
    return verdicts, judgings


@dataclass
class RecommendOutcome:
    """What `tierwise recommend` shows: the recommendation, what --write wrote, and --against's projection."""

    recommendation: Recommendation
    written: Written | None = None
    against: str | None = None

    def to_json(self) -> str:
        document = self.recommendation.to_dict()
        if self.against is not None:
            document["against"] = asdict(self.recommendation.against(self.against))
        return json.dumps(document, indent=2)

    def text(self) -> str:
        from ..report import against_text, recommendation_text

        text = recommendation_text(self.recommendation, self.written)
        if self.against is not None:
            text += f"\n{against_text(self.recommendation.against(self.against))}"
        return text


def recommend_command(project: Project, tasks: list[str] | None = None, write: bool = False,
                      against: str | None = None, store: str | None = None,
                      run_group: str | None = None) -> RecommendOutcome:
    """`tierwise recommend`: a bad --against is refused before anything is decided or written."""
    if against is not None and against not in project.config.models:
        raise ConfigError(f"recommend --against: {against!r} is not in tierwise.yaml's models; "
                          f"fix: one of {', '.join(sorted(project.config.models))}")
    rec = recommend(project, tasks, store, run_group=run_group)
    written = write_registry(project, rec) if write else None
    return RecommendOutcome(rec, written, against)
