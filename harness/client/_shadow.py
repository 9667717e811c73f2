"""Shadow calls: a challenger answers a sampled fraction of a task's production calls, off the call path.

    shadow:                               # tierwise.yaml, per task (or Client(shadow={...}))
      ticket_triage: {challenger: qwen-0.5b, rate: 0.05, budget_per_day: 2.00}

After a production call has returned its reply, `offer()` decides in O(1) under a lock whether to
shadow it: a draw below `rate`, the challenger not resting, the day's budget not spent, and room in
the bounded queue. It never blocks and never raises; every refusal is counted (`stats()`). One
background thread takes the queued calls one at a time and calls the challenger with the challenger's evaluated
prompt and params, checks its output against the task's contract, compares its canonical output
with the production answer (the label for choices, sorted-key JSON for JSON tasks, the stripped
text otherwise), and stores one row per shadow call (Store.write_shadow_calls; outputs only with
capture on, redacted). What the application got and when it got it never depends on any of this:
a stalled challenger fills the queue and later samples are dropped; a failing one is recorded and
rested for `cooldown_s` (no calls to it meanwhile, counted as `cooling`).

Budget: the day (UTC) is charged what each shadow call cost; a call is queued only if the spend so
far plus the queued calls at the running mean cost stays within budget_per_day, so the day's spend
can pass it by at most the excess of the queued calls over that mean. Unpriced models cost 0.

These rows are what harness/decide/_live.py bounds: the agree column, in call order, is the stream
the promotion test replays. The sample is drawn by a random number independent of the call, and the
queue drops by time, not content, which is what that bound assumes.
"""

from __future__ import annotations

import asyncio
import json
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..errors import ConfigError

if TYPE_CHECKING:
    from ._client import Reply
    from ._route import Hop, Route

_STOP = object()


@dataclass
class ShadowStats:
    """Counts since the client started: what was sampled, refused, called, compared and stored."""

    offered: int = 0       # production calls that could have been shadowed (their task shadows, reply ok)
    sampled: int = 0       # drawn by the rate
    queued: int = 0
    dropped: int = 0       # the queue was full (a slow or stalled challenger)
    over_budget: int = 0
    cooling: int = 0       # the challenger was resting after a failure
    called: int = 0
    agreed: int = 0
    failed: int = 0        # challenger errors (counted as disagreements in the rows)
    written: int = 0
    write_errors: int = 0
    last_error: str | None = None


def shadow_plans(project: Any, shadow: Any) -> dict[str, Any]:
    """The shadow settings to use: tierwise.yaml's, replaced by Client(shadow=...) when given
    ({task: {challenger, rate, budget_per_day}}, or False for none), validated the same way."""
    from pydantic import ValidationError

    from ..project import ShadowEntry, check_shadow, pydantic_error

    if shadow is None:
        return dict(project.config.shadow)
    if shadow is False:
        return {}
    if not isinstance(shadow, dict):
        raise ConfigError("Client(shadow=...): must be {task: {challenger, rate, budget_per_day}} or False")
    plans = {}
    for task, entry in shadow.items():
        if task not in project.tasks:
            raise ConfigError(f"Client(shadow=...): {task!r}: unknown task; known: {', '.join(sorted(project.tasks))}")
        try:
            plans[task] = entry if isinstance(entry, ShadowEntry) else ShadowEntry.model_validate(entry)
        except ValidationError as exc:
            raise pydantic_error(exc, f"Client(shadow=...): {task}", ShadowEntry, ConfigError) from None
    check_shadow(plans, project.config.models, "Client(shadow=...)")
    return plans


def canonical(parsed: Any) -> str:
    """The form two answers are compared in: labels and text stripped, JSON with sorted keys."""
    if isinstance(parsed, str):
        return parsed.strip()
    return json.dumps(parsed, sort_keys=True, ensure_ascii=False, default=str)


class Shadower:
    """Samples production calls, queues them, and calls the challengers on one background thread."""

    def __init__(self, plans: dict[str, Any], hops: dict[str, "Hop"], call: Callable[..., Awaitable[Any]],
                 loop: Callable[[], asyncio.AbstractEventLoop], store_url: str | None, capture: bool = False,
                 cooldown_s: float = 60.0, seed: int | None = None, telemetry: Any = None):
        self.plans, self.hops, self._call, self._loop = plans, hops, call, loop
        self.telemetry = telemetry  # the client's span maker (_otel.py), or None
        self.store_url, self.capture, self.cooldown_s = store_url, capture, cooldown_s
        size = max((p.queue for p in plans.values()), default=1)
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stats = ShadowStats()
        self._spent: dict[tuple[str, int], float] = {}   # (task, UTC day) -> dollars
        self._mean_cost: dict[str, float] = {}
        self._called: dict[str, int] = {}
        self._pending: dict[str, int] = {}
        self._resting_until: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self._store: Any = None

    # -- the call path ------------------------------------------------------------
    def offer(self, route: "Route", reply: "Reply", values: dict[str, Any]) -> bool:
        """Maybe queue a shadow call for this finished production call; never blocks or raises."""
        plan = self.plans.get(reply.task)
        if plan is None or not reply.ok or self._closed:
            return False
        with self._lock:
            s = self._stats
            s.offered += 1
            if self._rng.random() >= plan.rate:
                return False
            s.sampled += 1
            if self._resting_until.get(reply.task, 0.0) > time.monotonic():
                s.cooling += 1
                return False
            if plan.budget_per_day is not None:
                pending = self._pending.get(reply.task, 0) + 1
                spent = self._spent.get((reply.task, _day()), 0.0)
                if spent >= plan.budget_per_day or \
                        spent + pending * self._mean_cost.get(reply.task, 0.0) > plan.budget_per_day:
                    s.over_budget += 1
                    return False
            try:
                self._queue.put_nowait((route, reply, dict(values), time.time()))
            except queue.Full:
                s.dropped += 1
                return False
            s.queued += 1
            self._pending[reply.task] = self._pending.get(reply.task, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tierwise-shadow", daemon=True)
                self._thread.start()
        return True

    # -- control ------------------------------------------------------------------
    def stats(self) -> ShadowStats:
        with self._lock:
            return ShadowStats(**vars(self._stats))

    def spent_today(self, task: str) -> float:
        with self._lock:
            return self._spent.get((task, _day()), 0.0)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued shadow call is done and stored; False if not in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not any(self._pending.values()):
                    return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 5.0) -> ShadowStats:
        """Stop taking calls, finish what is queued within `timeout`, stop the thread."""
        self._closed = True
        if self._thread is not None:
            self.drain(timeout)
            while True:  # what a stalled challenger left queued is not called after close
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                with self._lock:
                    self._pending[item[1].task] -= 1
            self._queue.put(_STOP)  # the queue is empty now: never blocks
            self._thread.join(timeout=0.5)  # a thread stuck on a stalled call is a daemon, left behind
        if self._store is not None:
            self._store.close()
            self._store = None
        return self.stats()

    # -- the shadow thread --------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            route, reply, values, at = item
            try:
                row = self._shadow_one(route, reply, values, at)
            except Exception as exc:  # noqa: BLE001 - a shadow failure must never surface
                row = None
                self._note_error(exc)
            if row is not None:
                self._store_row(row)
            with self._lock:
                self._pending[reply.task] -= 1

    def _shadow_one(self, route: "Route", reply: "Reply", values: dict[str, Any], at: float) -> dict | None:
        from ..models import cost_of

        hop = self.hops[reply.task]
        began = time.perf_counter()
        # The call's I/O runs on the client's loop (one loop for LiteLLM's global state); this
        # thread only waits for it, so a stalled challenger holds this thread, never a production call.
        future = asyncio.run_coroutine_threadsafe(self._call(hop, route.messages(hop, values), values, False),
                                                  self._loop())
        try:
            result = future.result(timeout=3 * (hop.cand.timeout_s or 60.0) + 30)
        except BaseException:
            future.cancel()
            raise
        latency_ms = result.latency_ms if result.latency_ms is not None else (time.perf_counter() - began) * 1000
        outcome, agree, error = "error", False, result.error
        cost = None
        if result.error is None:
            cost = cost_of(hop.cand, result.prompt_tokens, result.completion_tokens, latency_ms / 1000)
            verdict = route.contract.verdict(result.output or "", None)
            if verdict.reason is not None:
                outcome, error = "contract_failed", verdict.reason
            else:
                outcome, agree = "ok", canonical(verdict.parsed) == canonical(reply.parsed)
        with self._lock:
            s = self._stats
            s.called += 1
            s.agreed += agree
            if outcome == "error":
                s.failed += 1
                self._resting_until[reply.task] = time.monotonic() + self.cooldown_s
            key = (reply.task, _day())
            self._spent[key] = self._spent.get(key, 0.0) + (cost or 0.0)
            n = self._called[reply.task] = self._called.get(reply.task, 0) + 1
            old = self._mean_cost.get(reply.task, 0.0)
            self._mean_cost[reply.task] = old + ((cost or 0.0) - old) / n
        row = {"at": at, "call_id": reply.call_id, "task": reply.task, "incumbent": reply.model or "",
               "challenger": hop.name, "outcome": outcome, "agree": agree,
               "error_type": result.error_type if outcome == "error" else None, "error": error,
               "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
               "cost": cost, "latency_ms": latency_ms, "trace": reply.trace}
        if self.capture:
            row["output"], row["incumbent_output"] = result.output, reply.output
        if self.telemetry is not None:
            self.telemetry.shadow(hop, row, values, result.output)
        return row

    def _store_row(self, row: dict[str, Any]) -> None:
        if self.store_url is None:
            return
        try:
            if self._store is None:
                from ..store import Store

                self._store = Store(self.store_url)
            self._store.write_shadow_calls([row])
            with self._lock:
                self._stats.written += 1
        except Exception as exc:  # noqa: BLE001 - the store being down costs the row, never the call
            with self._lock:
                self._stats.write_errors += 1
            self._note_error(exc)

    def _note_error(self, exc: BaseException) -> None:
        from ..util import redact

        with self._lock:
            self._stats.last_error = redact(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")


def _day() -> int:
    return int(time.time() // 86400)  # the UTC day number
