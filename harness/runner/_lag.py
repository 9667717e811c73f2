"""Event-loop lag: how late a short sleep wakes up while a run is calling models.

A loop busy with LiteLLM's CPU work notices every finished call late. Latencies timed on the
HTTP wire (models/_timing.py) do not include that delay; wall-clock ones (providers LiteLLM
reaches with clients of their own) do, so a run says when the lag was large enough to matter.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

INTERVAL_S = 0.05
WARN_P95_MS = 25.0  # above this, a wall-clock latency may be off by more than a fast model's answer time


class LagMonitor:
    """Samples the running loop's lag every INTERVAL_S until stopped."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task | None = None

    def start(self) -> "LagMonitor":
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(INTERVAL_S)
            self.samples.append(max(0.0, (time.perf_counter() - before - INTERVAL_S) * 1000))

    def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
        return self.samples


def lag_summary(samples: list[float]) -> dict[str, Any] | None:
    """p50, p95 and max lag in ms (None without samples): what the run record keeps."""
    if not samples:
        return None
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "max": round(ordered[-1], 1), "samples": len(ordered)}


def lag_warning(summary: dict[str, Any] | None) -> str | None:
    """One line when the lag could distort wall-clock latencies; None when it could not."""
    if summary is None or summary["p95"] <= WARN_P95_MS:
        return None
    return (f"event-loop lag p95 {summary['p95']:.0f} ms (max {summary['max']:.0f} ms): the harness was CPU-bound; "
            f"latencies timed on the HTTP wire exclude it, wall-clock ones (providers with their own HTTP client) "
            f"may be up to that much high; fix: more --workers, or fewer models at once")
