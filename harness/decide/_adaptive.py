"""Adaptive runs as the decision rule sees them: the settings a run records, the seeded case
order, and the replay of the stopping rule (_sequential.py) from stored results.

A run records, per adaptive task, the candidates it ran in ladder order (cheapest first) and the
size of the family (every candidate and cascade of the task, listed or suggested: Holm's K), in the run's info. The runner and the
recommender both replay `adaptive_state` from the stored scores with those settings, so what to
run next and which candidate stopped where are pure functions of the store: an interrupted run
resumes where it stopped, and `recommend` shows the same stops the run printed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..project import GRADE_TIMEOUT_S, Task

from ._sequential import (
    AdaptivePlan,
    AdaptiveState,
    adaptive_state,
    case_order,
    lower_bound,
)
from .stats import BootstrapBound, clopper_pearson_lower, is_binary

if TYPE_CHECKING:
    import pandas as pd

ROUND_SIZE = 10  # cases per candidate per round (see _sequential.py: measured against 20)
NEEDED = 3  # the pick and its two fallbacks (_rule.MAX_FALLBACKS)


@dataclass(frozen=True)
class AdaptiveSettings:
    """What an adaptive run of one task was: its ladder (cheapest first) and Holm's family size."""

    ladder: tuple[str, ...]
    family_size: int
    repeats: int = 1
    round_size: int = ROUND_SIZE
    needed: int = NEEDED

    def to_info(self) -> dict[str, Any]:
        return {**asdict(self), "ladder": list(self.ladder)}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> "AdaptiveSettings":
        return cls(tuple(info["ladder"]), int(info["family_size"]), int(info.get("repeats", 1)),
                   int(info.get("round_size", ROUND_SIZE)), int(info.get("needed", NEEDED)))

    def plan(self, task: Task) -> AdaptivePlan:
        return AdaptivePlan(threshold=task.spec.threshold, confidence=task.spec.confidence, total=len(task.golden),
                            family_size=self.family_size, round_size=self.round_size, needed=self.needed)

    def costs(self) -> dict[str, float]:
        """The ladder as the ordering `adaptive_state` expects (rank, cheapest first)."""
        return {name: float(i) for i, name in enumerate(self.ladder)}


def case_sequence(task: Task) -> list[str]:
    """The task's cases in the seeded random order every candidate runs them in."""
    return case_order([c.id for c in task.golden.cases], salt=task.name)


def observed(task: Task, frame: pd.DataFrame, names: list[str], repeats: int = 1) -> dict[str, np.ndarray]:
    """Per candidate, its per-case mean scores in case order, up to the first case not yet complete
    (a case is complete when all `repeats` of it are stored)."""
    order = case_sequence(task)
    out: dict[str, np.ndarray] = {}
    for name in names:
        rows = frame[frame["model"] == name] if len(frame) else frame
        means: list[float] = []
        if len(rows):
            scores = rows["score"].fillna(0.0).clip(0, 1)
            grouped = scores.groupby(rows["case_id"]).agg(["mean", "count"])
            for case_id in order:
                if case_id not in grouped.index or grouped.at[case_id, "count"] < repeats:
                    break
                means.append(float(grouped.at[case_id, "mean"]))
        out[name] = np.asarray(means, dtype=float)
    return out


def replay(task: Task, frame: pd.DataFrame, settings: AdaptiveSettings) -> tuple[AdaptiveState, dict[str, np.ndarray]]:
    """The adaptive run's state from the stored results, and the scores it used per candidate."""
    data = observed(task, frame, list(settings.ladder), settings.repeats)
    return adaptive_state(data, settings.costs(), settings.plan(task)), data


def next_cases(task: Task, state: AdaptiveState, data: dict[str, np.ndarray]) -> dict[str, list[str]]:
    """Case ids each candidate runs next (after the complete prefix it has)."""
    order = case_sequence(task)
    return {name: order[len(data[name]):len(data[name]) + count]
            for name, count in state.next_cases.items() if count > 0}


def settled_lower(x: np.ndarray, plan: AdaptivePlan, level: float) -> float:
    """The lower bound dual to an adaptive candidate's combined p-value at `level`.

    The combined p (see _sequential.py) is <= level exactly when the anytime lower sequence at
    r * level clears the bar, or (all N cases run) the fixed-n bound at (1 - r) * level does; so
    the larger of the two is the bound to show beside the threshold: it is >= the threshold
    exactly when the candidate qualifies on quality.
    """
    if len(x) == 0:
        return 0.0
    r = plan.efficacy_share
    low = lower_bound(x, r * level, tune=plan.efficacy_alpha)
    if len(x) >= plan.total:
        conf = 1 - (1 - r) * level
        fixed = clopper_pearson_lower(int(x.sum()), len(x), conf) if is_binary(x) else BootstrapBound(x).lower(conf)
        low = max(low, fixed)
    return float(low) if math.isfinite(low) else 0.0


def recorded_settings(task: Task, runs: list[dict[str, Any]]) -> tuple[AdaptiveSettings | None, int]:
    """How the task was last run: its adaptive settings (None for a full run) and its repeats.

    The newest run that ran the task decides; a spec with `adaptive: true` keeps the newest
    adaptive record even when a full run came after (a gate --rerun, say).
    """
    import json

    mode: AdaptiveSettings | None = None
    repeats: int | None = None
    for run in sorted(runs, key=lambda r: r.get("started_at") or 0, reverse=True):
        try:
            info = json.loads(run.get("info") or "{}")
        except json.JSONDecodeError:
            continue
        if task.name not in (info.get("tasks") or []):
            continue
        if repeats is None:
            repeats = int((info.get("repeats") or {}).get(task.name, task.spec.repeats))
        recorded = (info.get("adaptive") or {}).get(task.name)
        if recorded:
            mode = AdaptiveSettings.from_info(recorded)
            break
        if not task.spec.adaptive:
            break
    return mode, (mode.repeats if mode is not None else repeats or task.spec.repeats)


def adaptive_next(task: Task, frame: pd.DataFrame, settings: AdaptiveSettings,
                  check_timeout_s: float = GRADE_TIMEOUT_S) -> tuple[dict[str, str], dict[str, list[str]]]:
    """For the runner: each candidate's line so far, and the case ids each runs next.
    `check_timeout_s`: the project's grade_timeout_s, the bound on a cascade's `check` verifier."""
    state, data = replay(task, frame, settings)
    lines = {name: stop.text for name, stop in state.stops.items()}
    wanted = next_cases(task, state, data)
    if task.spec.cascades:
        # A cascade's stages run every case the cascade reaches, whatever the rule says of each
        # stage alone (its stops above are untouched: extra cases past a stop are not used).
        from ._cascade_data import cascade_needs

        groups = {m: frame[frame["model"] == m] for m in task.spec.candidates} if len(frame) else {}
        for label, needs in cascade_needs(task, groups, check_timeout_s).items():
            count = sum(len(c) for c in needs.values())
            lines[label] = (f"cascade: {count} stage result{'s' if count != 1 else ''} to go "
                            f"({', '.join(f'{m} {len(c)}' for m, c in needs.items())})")
            for model, cases in needs.items():
                have = set(wanted.get(model, ()))
                wanted.setdefault(model, []).extend(c for c in cases if c not in have)
    return lines, wanted
