"""Per-call estimates before a run: a compute price is estimated from what it was charged."""

import pandas as pd
import pytest

from harness import load_project
from harness.models import resolve_candidates
from harness.runner._estimate import Estimator
from harness.runner._plan import plan_run
from tests.projfix import spec, write_project


def test_a_compute_price_is_estimated_from_the_charged_compute_not_the_wall_latency(tmp_path):
    """Stored calls took 3 s of wall time on a busy machine but were charged 1 s of compute:
    the next call is estimated at 1 s ($0.001 at $3.60 an hour), not 3 s."""
    write_project(tmp_path, models={"box": {"python": "rules:echo", "price": {"per_hour": 3.6}}},
                  specs={"t": spec(candidates=["box"])})
    project = load_project(tmp_path)
    cands = resolve_candidates(project.config, ["box"])
    plan = plan_run([project.tasks["t"]], cands)
    history = pd.DataFrame([{"task": "t", "model": "box", "error": None, "latency_ms": 3000.0, "cost": 0.001,
                             "prompt_tokens": 0, "completion_tokens": 0} for _ in range(3)])
    assert Estimator(history, approximate=True).call(plan.items[0]).cost == pytest.approx(0.001)
