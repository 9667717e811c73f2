"""The runtime client: "this is a ticket_triage call" is all a call site says.

    client = harness.Client(".")
    reply = client.complete("ticket_triage", ticket=text, trace="req-42", step="route")
    reply = await client.acomplete("ticket_triage", ticket=text)

It renders the task's evaluated prompt (the variant of the model it calls), calls the registry's
model with the registry's params, moves down the fallbacks on a provider failure (resting a
failing model for `cooldown_s`), escalates to the next model when the output breaks the task's
contract, and queues one usage-ledger row per attempt for a background writer. A cascade entry
is run stage by stage (_cascade.py): a stage passes the call on when one of its signals fires,
and the last stage answers, with its fallbacks behind it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..project import Check
from ._cascade import judge
from ._otel import spans_for
from ._route import Cooldowns, Hop, Route, build_routes, missing_route

if TYPE_CHECKING:
    from ..store import AttemptKind, AttemptOutcome

# What a client call ended with: the first model's answer, a fallback's, an escalation's, an answer
# that broke the contract with nothing left to try, or no answer.
ReplyOutcome = Literal["ok", "fallback", "escalated", "contract_failed", "error"]


@dataclass
class Attempt:
    """One model call within a client call."""

    model: str
    target: str
    kind: AttemptKind         # primary | fallback | escalation | deferral (a cascade's earlier stage passed the call on)
    outcome: AttemptOutcome   # ok | error | contract_failed | deferred
    reason: str | None = None  # the provider error, the broken contract, or why a cascade stage passed the call on
    latency_ms: float | None = None
    cost: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    stage: int | None = None      # a cascade's stage (1-based); None for a model entry and the fallbacks
    deferred: str | None = None   # the signal on which the stage passed the call on (abstain, contract, …, error)
    confidence: float | None = None  # the probability of the answer, where the provider gave one


@dataclass
class Reply:
    """What a call returned and what happened on the way."""

    task: str
    output: str | None
    parsed: Any               # the label for choices, the value for JSON tasks, else the text
    model: str | None         # catalog name of the model whose answer this is
    target: str | None
    outcome: ReplyOutcome
    attempts: list[Attempt] = field(default_factory=list)
    cost: float = 0.0         # every attempt's cost
    latency_ms: float = 0.0   # wall time of the whole call
    prompt_tokens: int = 0
    completion_tokens: int = 0
    call_id: str = ""
    trace: str | None = None
    step: str | None = None
    error: str | None = None
    stage: int | None = None  # a cascade entry: the stage (1-based) whose answer this is (None when a fallback answered)

    @property
    def ok(self) -> bool:
        """True when the output keeps the task's contract (whichever model gave it)."""
        return self.outcome in ("ok", "fallback", "escalated")

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Client:
    """Calls tasks by name through the registry; safe to share across threads and asyncio tasks.

    project: the project folder (or a loaded Project). store: the ledger's SQLAlchemy URL
    (default tierwise.yaml's). ledger=False writes no usage rows (or pass a LedgerWriter to tune
    its buffer and batching). capture=True also stores each
    call's template variables and output (for `tierwise audit --sample`); off by default.
    retries: per-model retries before moving on (default: none while a fallback remains, the
    project's `retries` on the last model). checks: {task: fn(output, parsed)} custom contracts.
    shadow: {task: {challenger, rate, budget_per_day}} to shadow calls to a challenger off the call
    path (default: tierwise.yaml's `shadow:`; False for none; see _shadow.py); `client.shadow.stats()`.
    """

    def __init__(self, project: Any = ".", *, store: str | None = None, ledger: Any = True, capture: bool = False,
                 retries: int | None = None, cooldown_s: float = 30.0, timeout_s: float | None = None,
                 checks: dict[str, Check] | None = None, max_buffer: int = 10_000, shadow: Any = None,
                 shadow_seed: int | None = None):
        from ..registry import read_registry

        if isinstance(project, (str, Path)):
            from ..project import load_project

            project = load_project(project)
        self.project = project
        self.registry = read_registry(project.registry_path)
        self.routes: dict[str, Route] = build_routes(project, self.registry, timeout_s, checks)
        self.capture = capture
        self.retries = retries
        self.cooldowns = Cooldowns(cooldown_s)
        self._lock = threading.Lock()
        self._server: Any = None
        self._server_lock = threading.Lock()
        self._warm: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        from ._ledger import LedgerWriter

        self.ledger: LedgerWriter | None = None
        if isinstance(ledger, LedgerWriter):
            self.ledger = ledger
        elif ledger:
            self.ledger = LedgerWriter(project.store_url(store), max_buffer=max_buffer)
        self.telemetry = spans_for(self.routes, capture)  # OpenTelemetry spans (_otel.py); None without it
        self.shadow = _shadower(self, shadow, store, timeout_s, shadow_seed)

    # -- public calls -------------------------------------------------------------
    def complete(self, task: str, variables: dict[str, Any] | None = None, /, *, trace: str | None = None,
                 step: str | None = None, check: Check | None = None, **kwargs: Any) -> Reply:
        """Call a task synchronously; works from plain code and from inside a running event loop."""
        loop = self._background_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("Client.complete() was called from the client's own loop; use await acomplete()")
        future = asyncio.run_coroutine_threadsafe(
            self.acomplete(task, variables, trace=trace, step=step, check=check, **kwargs), loop)
        return future.result()

    async def acomplete(self, task: str, variables: dict[str, Any] | None = None, /, *, trace: str | None = None,
                        step: str | None = None, check: Check | None = None, **kwargs: Any) -> Reply:
        """Call a task: render its evaluated prompt, call down its chain, return the reply."""
        route = self.routes.get(task)
        if route is None:
            raise missing_route(self.project, self.registry, task)
        values = {**(variables or {}), **kwargs}
        reply = Reply(task=task, output=None, parsed=None, model=None, target=None, outcome="error",
                      call_id=uuid.uuid4().hex[:16], trace=trace, step=step)
        started = time.perf_counter()
        hops, kind, stage = route.hops, None, None
        answered = False
        if route.stages:  # a cascade: the stages before the last, then the last and its fallbacks
            answered, kind = await self._stages(route, values, reply, check)
            stage = len(route.stages)
            hops = route.hops[stage - 1:]
        if not answered:
            await self._down(route, hops, kind, stage, values, reply, check)
        reply.latency_ms = (time.perf_counter() - started) * 1000
        reply.cost = sum(a.cost or 0.0 for a in reply.attempts)
        reply.prompt_tokens = sum(a.prompt_tokens or 0 for a in reply.attempts)
        reply.completion_tokens = sum(a.completion_tokens or 0 for a in reply.attempts)
        if self.shadow is not None:
            self.shadow.offer(route, reply, values)
        return reply

    async def _stages(self, route: Route, values: dict[str, Any], reply: Reply, check: Check | None
                      ) -> tuple[bool, str]:
        """Ask a cascade's stages but the last in turn; (answered, the kind of the next attempt)."""
        kind = "primary"
        for number, stage in enumerate(route.stages[:-1], start=1):
            hop = stage.hop
            if self.cooldowns.rests(hop):  # resting after a provider failure: passed over without a call
                kind = "fallback"
                continue
            messages = route.messages(hop, values)
            at = time.time()
            begun = time.perf_counter()
            results = await asyncio.gather(*(self._call(hop, messages, values, last=False)
                                             for _ in range(stage.samples)))
            for result in results:
                if result.latency_ms is None:  # a failed call: how long it took to fail
                    result.latency_ms = (time.perf_counter() - begun) * 1000
            failed = next((r for r in results if r.error is not None), None)
            if failed is not None:
                self.cooldowns.fail(hop.name, failed.error_type)
            answer, verdict, deferral = await judge(stage, results, route.contract, values, check)
            attempt = self._attempt(hop, kind, answer)
            if len(results) > 1:  # k samples are one attempt: their cost and tokens added up
                parts = [self._attempt(hop, kind, r) for r in results]
                attempt.cost = sum(p.cost for p in parts if p.cost is not None) if answer.error is None else None
                attempt.prompt_tokens = sum(r.prompt_tokens or 0 for r in results)
                attempt.completion_tokens = sum(r.completion_tokens or 0 for r in results)
                attempt.latency_ms = max(r.latency_ms or 0.0 for r in results)
            attempt.stage, attempt.confidence = number, answer.confidence
            if deferral is not None:
                attempt.deferred, attempt.reason = deferral.signal, deferral.reason
                attempt.outcome = "error" if deferral.signal == "error" else "deferred"
            reply.attempts.append(attempt)
            self._record(reply, attempt, at, answer.error_type, values, answer.output, final=deferral is None)
            if deferral is None:
                reply.output, reply.parsed, reply.model, reply.target = answer.output, verdict.parsed, hop.name, hop.target
                reply.outcome, reply.stage = "ok", number
                return True, kind
            kind = "deferral"
        return False, kind

    async def _down(self, route: Route, hops: list[Hop], kind: str | None, stage: int | None,
                    values: dict[str, Any], reply: Reply, check: Check | None) -> None:
        """Call down a chain (a model and its fallbacks, or a cascade's last stage and its fallbacks)
        until an answer keeps the contract; `stage`: the cascade stage number of the chain's first hop."""
        chain = self.cooldowns.usable(hops)
        first = chain[0] is hops[0]
        kind = (kind or "primary") if first else "fallback"  # a resting primary (or last stage) was skipped
        last_output: tuple[Hop, str] | None = None
        for index, hop in enumerate(chain):
            messages = route.messages(hop, values)
            at = time.time()
            begun = time.perf_counter()
            result = await self._call(hop, messages, values, last=index == len(chain) - 1)
            if result.latency_ms is None:  # a failed call: how long it took to fail
                result.latency_ms = (time.perf_counter() - begun) * 1000
            attempt = self._attempt(hop, kind, result)
            if stage is not None and hop is hops[0]:
                attempt.stage, attempt.confidence = stage, result.confidence
            verdict = None
            if result.error is None:
                verdict = route.contract.verdict(result.output or "", check)
                if verdict.reason is not None:
                    attempt.outcome, attempt.reason = "contract_failed", verdict.reason
                    last_output = (hop, result.output or "")
            else:
                self.cooldowns.fail(hop.name, result.error_type)
            reply.attempts.append(attempt)
            done = attempt.outcome == "ok"
            self._record(reply, attempt, at, result.error_type, values, result.output,
                         final=done or index == len(chain) - 1)
            if done:
                reply.output, reply.parsed, reply.model, reply.target = result.output, verdict.parsed, hop.name, hop.target
                reply.outcome = {"primary": "ok", "deferral": "ok", "fallback": "fallback",
                                 "escalation": "escalated"}[kind]
                reply.stage = attempt.stage
                break
            kind = "escalation" if attempt.outcome == "contract_failed" else "fallback"
        else:
            if last_output is not None:  # every model answered but none kept the contract: the last answer, flagged
                hop, text = last_output
                reply.output, reply.model, reply.target, reply.outcome = text, hop.name, hop.target, "contract_failed"
            reply.error = "; ".join(f"{a.model}: {a.reason}" for a in reply.attempts)

    @property
    def ledger_not_written(self) -> int:
        """Usage rows that never reached the ledger: dropped with the buffer full, refused by the
        store, or still queued when close() gave up (details: client.ledger.stats())."""
        return self.ledger.stats().not_written if self.ledger is not None else 0

    def close(self, timeout: float = 10.0) -> None:
        """Write the queued ledger rows, stop a local model server and the background loop."""
        if self.shadow is not None:
            self.shadow.close(min(timeout, 5.0))
        if self.ledger is not None:
            self.ledger.close(timeout)
        with self._server_lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
        with self._lock:
            loop, thread, self._loop, self._loop_thread = self._loop, self._loop_thread, None, None
        if loop is not None:
            try:  # LiteLLM leaves a logging task on the loop: end it as asyncio.run would
                asyncio.run_coroutine_threadsafe(_cancel_others(), loop).result(timeout=5)
            except Exception:  # noqa: BLE001 - closing must not fail on a stuck task
                pass
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=5)
            loop.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.close)

    # -- inside -------------------------------------------------------------------
    async def _call(self, hop: Hop, messages: list[dict[str, str]], values: dict[str, Any], last: bool):
        from ..models import complete, provider_for

        cand, where = hop.cand, {}
        if provider_for(hop.cand.kind).engine is not None:  # served by an engine (llama.cpp for local:)
            server = self._server or await asyncio.to_thread(self._local_server)
            cand, where = server.route(hop.cand)
            if hop.name not in self._warm:
                # The server loads a model on its first request: load it with a throwaway call so
                # the load time is not counted (and priced) as this call's latency.
                self._warm.add(hop.name)
                await complete(cand, [{"role": "user", "content": "hi"}], {"max_tokens": 1}, retries=1, **where)
        retries = self.retries if self.retries is not None else (self.project.config.retries if last else 0)
        return await complete(cand, messages, hop.params, hop.extra, retries=retries, variables=values,
                              backoff_base_s=self.project.config.retry_backoff_s, **where)

    def _attempt(self, hop: Hop, kind: str, result: Any) -> Attempt:
        from ..models import cost_of

        latency_s = result.latency_ms / 1000 if result.latency_ms is not None else None
        cost = cost_of(hop.cand, result.prompt_tokens, result.completion_tokens, latency_s) \
            if result.error is None else None
        return Attempt(hop.name, hop.target, kind, "ok" if result.error is None else "error", result.error,
                       result.latency_ms, cost, result.prompt_tokens, result.completion_tokens)

    def _record(self, reply: Reply, attempt: Attempt, at: float, error_type: str | None,
                values: dict[str, Any], output: str | None, final: bool) -> None:
        if self.telemetry is not None:
            self.telemetry.attempt(reply, attempt, at, error_type, values, output, final)
        if self.ledger is None:
            return
        row = {"at": at, "call_id": reply.call_id, "task": reply.task, "model": attempt.model,
               "target": attempt.target, "attempt": len(reply.attempts), "kind": attempt.kind,
               "outcome": attempt.outcome, "final": final, "error_type": error_type,
               "error": attempt.reason if attempt.outcome == "error" else None,
               "contract_reason": attempt.reason if attempt.outcome == "contract_failed" else None,
               "prompt_tokens": attempt.prompt_tokens, "completion_tokens": attempt.completion_tokens,
               "cost": attempt.cost, "latency_ms": attempt.latency_ms, "trace": reply.trace, "step": reply.step,
               "stage": attempt.stage, "deferred": attempt.deferred,
               "defer_reason": attempt.reason if attempt.deferred else None, "confidence": attempt.confidence}
        if self.capture:
            row["input"] = json.dumps(values, ensure_ascii=False, default=str)
            row["output"] = output
        self.ledger.put(row)

    def _local_server(self):
        """The engines (a llama.cpp server) for every model the routes and the shadow use that
        needs one, started on first need, in a server process of their own."""
        with self._server_lock:
            if self._server is None:
                from ..models import Engines, served_models

                hops = [h for r in self.routes.values() for h in r.hops]
                hops += list(self.shadow.hops.values()) if self.shadow is not None else []
                served = served_models({h.name: h.cand for h in hops}.values())
                self._server = Engines.start(served, self.project.config.local_threads, in_process=False)
            return self._server

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="tierwise-client", daemon=True)
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop


def _shadower(client: Client, shadow: Any, store: str | None, timeout_s: float | None, seed: int | None):
    """The client's Shadower, or None when no task is shadowed."""
    from ._route import challenger_hop
    from ._shadow import Shadower, shadow_plans

    plans = {t: p for t, p in shadow_plans(client.project, shadow).items() if t in client.routes}
    if not plans:
        return None
    hops = {t: challenger_hop(client.project, t, p.challenger, timeout_s) for t, p in plans.items()}
    url = client.project.store_url(store) if client.ledger is not None else None
    return Shadower(plans, hops, client._call, client._background_loop, url, capture=client.capture,
                    cooldown_s=client.cooldowns.seconds, seed=seed, telemetry=client.telemetry)


async def _cancel_others() -> None:
    me = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not me]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
