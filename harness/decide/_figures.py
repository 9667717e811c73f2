"""Per task × model figures from stored results: n, mean, errors, latency, tokens, cost.

One computation serves the run's summary table and the recommender, so the two never
disagree. Failed calls count as score 0 in the mean.
"""

from __future__ import annotations

import math
from typing import Any

SUMMARY_COLUMNS = ["task", "model", "n", "mean", "errors", "error_rate", "p50_ms", "p95_ms",
                   "prompt_tokens", "completion_tokens", "cost_per_call", "length_rate",
                   "eval_cost_per_call", "judge_errors"]


def figures(rows: Any) -> dict[str, Any]:
    """The figures of one task × model's result rows (a DataFrame slice)."""
    from .stats import percentile

    ok = rows[rows["error"].isna()]
    latency = ok["latency_ms"].dropna().to_numpy(dtype=float)
    scores = rows["score"].fillna(0.0).clip(0, 1).to_numpy(dtype=float)

    def mean_of(column: str) -> float:
        return float(ok[column].mean()) if len(ok) and column in ok else math.nan

    cost = ok["cost"] if "cost" in ok else None
    # Evaluation cost (a judge's calls) per graded output, apart from the candidate's own cost.
    judged = ok[ok["judge_errors"].notna()] if "judge_errors" in ok else ok.iloc[0:0]
    eval_cost = judged["eval_cost"] if len(judged) and "eval_cost" in judged else None
    return {
        "n": len(rows),
        "scores": scores,
        "mean": float(scores.mean()) if len(scores) else math.nan,
        "errors": int(rows["error"].notna().sum()),
        "error_rate": float(rows["error"].notna().mean()) if len(rows) else math.nan,
        "p50_ms": percentile(latency, 50),
        "p95_ms": percentile(latency, 95),
        "prompt_tokens": mean_of("prompt_tokens"),
        "completion_tokens": mean_of("completion_tokens"),
        "completion_tokens_max": float(ok["completion_tokens"].max()) if len(ok) and "completion_tokens" in ok
        else math.nan,
        "cost_per_call": float(cost.mean()) if cost is not None and len(ok) and cost.notna().all() else None,
        "length_rate": float((ok["finish_reason"] == "length").mean()) if len(ok) and "finish_reason" in ok
        else math.nan,
        "run_ids": sorted(set(rows["run_id"].unique())) if "run_id" in rows else [],
        "first_error": str(rows["error"].dropna().iloc[0]) if rows["error"].notna().any() else "",
        "eval_cost_per_call": float(eval_cost.mean()) if eval_cost is not None and eval_cost.notna().all() else math.nan,
        "eval_cost_total": float(eval_cost.sum()) if eval_cost is not None and eval_cost.notna().all() else math.nan,
        "judge_errors": int(judged["judge_errors"].sum()) if len(judged) else 0,
    }


def summarize(frame: Any):
    """One row per (task, model) of a results frame, in SUMMARY_COLUMNS."""
    import pandas as pd

    if frame is None or frame.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = []
    for (task, model), group in frame.groupby(["task", "model"], sort=False):
        f = figures(group)
        f["cost_per_call"] = math.nan if f["cost_per_call"] is None else f["cost_per_call"]
        rows.append({"task": task, "model": model, **{k: f[k] for k in SUMMARY_COLUMNS[2:]}})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
