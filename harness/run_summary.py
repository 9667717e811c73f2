"""Per task x model figures from stored results: n, mean, errors, latency, tokens, cost."""

from __future__ import annotations

import math
from typing import Any

SUMMARY_COLUMNS = ["task", "model", "n", "mean", "errors", "error_rate", "p50_ms", "p95_ms",
                   "prompt_tokens", "completion_tokens", "cost_per_call", "length_rate"]


def summarize(frame: Any):
    """One row per (task, model). Failed calls count as score 0 in the mean."""
    import numpy as np
    import pandas as pd

    rows = []
    if frame is None or frame.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    for (task, model), group in frame.groupby(["task", "model"], sort=False):
        ok = group[group["error"].isna()]
        latency = ok["latency_ms"].dropna().to_numpy(dtype=float)
        cost = ok["cost"]
        rows.append({
            "task": task, "model": model, "n": len(group),
            "mean": float(group["score"].fillna(0).mean()),
            "errors": int(group["error"].notna().sum()),
            "error_rate": float(group["error"].notna().mean()),
            "p50_ms": float(np.percentile(latency, 50)) if latency.size else math.nan,
            "p95_ms": float(np.percentile(latency, 95)) if latency.size else math.nan,
            "prompt_tokens": float(ok["prompt_tokens"].mean()) if len(ok) else math.nan,
            "completion_tokens": float(ok["completion_tokens"].mean()) if len(ok) else math.nan,
            "cost_per_call": float(cost.mean()) if len(ok) and cost.notna().all() else math.nan,
            "length_rate": float((ok["finish_reason"] == "length").mean()) if len(ok) else math.nan,
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def format_table(summary: Any) -> str:
    """A plain-text table that reads the same in a terminal and a CI log."""
    header = f"{'task':<20} {'model':<18} {'n':>4} {'mean':>6} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} " \
             f"{'tok in':>7} {'tok out':>7} {'$ / call':>11}"
    lines = [header, "-" * len(header)]
    for r in summary.itertuples(index=False):
        lines.append(
            f"{r.task:<20.20} {r.model:<18.18} {r.n:>4} {r.mean:>6.3f} {r.errors:>4} {_num(r.p50_ms, 8, 0)} "
            f"{_num(r.p95_ms, 8, 0)} {_num(r.prompt_tokens, 7, 0)} {_num(r.completion_tokens, 7, 1)} "
            f"{_money(r.cost_per_call)}"
        )
    return "\n".join(lines)


def _num(value: float, width: int, digits: int) -> str:
    return f"{'–':>{width}}" if value is None or math.isnan(value) else f"{value:>{width}.{digits}f}"


def _money(value: float) -> str:
    if value is None or math.isnan(value):
        return f"{'unpriced':>11}"
    return f"{value:>11.7f}" if value < 0.01 else f"{value:>11.4f}"
