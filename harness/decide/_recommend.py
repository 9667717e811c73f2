"""A recommendation over a project: the decisions per task, and the spend they project against one
model everywhere (`recommend --against`). `harness.commands.recommend` builds one from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._rule import Decision

if TYPE_CHECKING:
    import pandas as pd

JSON_VERSION = 1


@dataclass
class Recommendation:
    decisions: list[Decision]
    store: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    frame: pd.DataFrame | None = None  # the current results the decisions were made from

    def against(self, model: str) -> "Against":
        """Projected monthly spend with `model` on every task against the recommendation."""
        return projected_against(self.decisions, model)

    def to_dict(self) -> dict[str, Any]:
        """The stable `--json` document (version 1); see docs/json.md."""
        return {"version": JSON_VERSION, "tasks": [d.to_dict() for d in self.decisions],
                "skipped_models": self.skipped}


@dataclass
class Against:
    """`recommend --against MODEL`: the month's spend with MODEL on every task that has a volume
    and MODEL's measured cost, against the recommendation on the same tasks (a task where nothing
    qualifies keeps MODEL: no saving is claimed there)."""

    model: str
    everywhere: float = 0.0
    recommended: float = 0.0
    tasks: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # no volume, or MODEL not measured on it


def projected_against(decisions: list[Decision], model: str) -> Against:
    out = Against(model)
    for d in decisions:
        base = next((c for c in d.candidates if c.model == model), None)
        if not d.monthly_volume or base is None or base.cost_per_call is None or not base.n:
            out.left_out.append(d.task)
            continue
        rec = next((c for c in d.candidates if c.model == d.recommended), None) if d.recommended else None
        new = rec.cost_per_call if rec is not None and rec.cost_per_call is not None else base.cost_per_call
        if d.cascade is not None and d.cost_per_1k_recommended is not None:  # a cascade: its measured cost
            new = d.cost_per_1k_recommended / 1000
        out.everywhere += base.cost_per_call * d.monthly_volume
        out.recommended += new * d.monthly_volume
        out.tasks.append(d.task)
    return out
