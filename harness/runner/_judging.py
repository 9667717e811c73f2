"""Judge calls inside a run: the context a judge grader (graders/_judge.py) calls through.

A judge call is made like a candidate's: models.complete (timeout, retries, Retry-After), a
key from fingerprint.call_key over the judge's identity and everything it is sent, answered
from the response cache when it can be (the store's, or this run's), its successful answer
cached with the result row it grades (never a failed call), its tokens priced with the
judge's catalog price. Identical calls in flight at once are made once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..fingerprint import call_key
from ..graders import Contract, JudgeError, JudgeReply
from ..models import Candidate, complete, constraint, cost_of, provider_for, structured, takes_seed
from ..project import Case
from ..store import Store


class Judging:
    """Judge calls and reference outputs for one run."""

    def __init__(self, judges: dict[str, Candidate], store: Store, no_cache: bool, retries: int,
                 backoff_s: float, server: Any = None):
        self.judges, self.store, self.no_cache = judges, store, no_cache
        self.retries, self.backoff_s, self.server = retries, backoff_s, server
        self.answers: dict[str, dict[str, Any]] = {}          # call key -> response, made in this run
        self.outputs: dict[tuple[str, str, str], str] = {}    # (task, model, case) -> output, this run
        self._inflight: dict[str, asyncio.Future] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self.calls = 0

    def context(self, it: Any) -> "ItemContext":
        return ItemContext(self, it)

    async def call(self, ctx: "ItemContext", judge: str, messages: list[dict[str, str]], params: dict[str, Any],
                   contract: Contract, variables: dict[str, Any]) -> JudgeReply:
        cand = self.judges.get(judge)
        if cand is None:
            return JudgeReply(None, error=f"judge {judge!r} is not resolved in this run")
        if not cand.available:
            return JudgeReply(None, error=f"judge {judge} is not available here: {cand.skip_reason}")
        params = dict(params)
        if not takes_seed(cand):
            params.pop("seed", None)
        extra = structured(cand, f"{contract.key}_verdict", contract.schema, contract.grammar)
        key = call_key(cand.identity, messages, params, extra, variables, takes_vars=provider_for(cand.kind).takes_vars)
        known = None if self.no_cache else await self._known(key)
        if known is not None:
            return self._reply(cand, known, cached=True)
        pending = self._inflight.get(key)
        if pending is not None:
            response, error = await asyncio.shield(pending)
            return self._reply(cand, response, cached=True) if error is None else JudgeReply(None, error=error)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            response, error = await self._make(cand, messages, params, extra, variables)
        except BaseException:
            future.set_result((None, "cancelled"))
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result((response, error))
        if error is not None:
            return JudgeReply(None, error=error)
        self.answers[key] = response
        ctx.new_cache.append({"key": key, "model": judge, "response": response})
        return self._reply(cand, response, cached=False)

    async def _known(self, key: str) -> dict[str, Any] | None:
        if key in self.answers:
            return self.answers[key]
        found = await asyncio.to_thread(self.store.cached_responses, [key])
        return found.get(key)

    async def _make(self, cand: Candidate, messages, params, extra, variables) -> tuple[dict[str, Any] | None, str | None]:
        limit = self._limits.get(cand.name)
        if limit is None:
            limit = self._limits[cand.name] = asyncio.Semaphore(cand.concurrency)
        where: dict[str, Any] = {}
        if provider_for(cand.kind).engine is not None:
            if self.server is None:
                return None, f"judge {cand.name} is a {cand.kind} model but no local model server runs"
            cand, where = self.server.route(cand)
        async with limit:
            result = await complete(cand, messages, params, extra, retries=self.retries, variables=variables,
                                    backoff_base_s=self.backoff_s, **where)
        self.calls += 1
        if result.error is not None:
            return None, result.error
        return {"output": result.output, "finish_reason": result.finish_reason, "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens, "latency_ms": result.latency_ms}, None

    @staticmethod
    def _reply(cand: Candidate, response: dict[str, Any], cached: bool) -> JudgeReply:
        latency = response.get("latency_ms")
        cost = cost_of(cand, response.get("prompt_tokens"), response.get("completion_tokens"),
                       latency / 1000 if latency is not None else None)
        return JudgeReply(response.get("output"), None, response.get("prompt_tokens"),
                          response.get("completion_tokens"), cost, cached)

    async def output_of(self, it: Any, model: str, case: Case) -> str:
        """`model`'s current output for this case: made in this run, else the stored one."""
        task = it.task
        found = self.outputs.get((task.name, model, case.id))
        if found is not None:
            return found
        cand = self.judges.get(model)
        fix = f"fix: run `tierwise run {task.name} --models {model}` first"
        if cand is None:
            raise JudgeError(f"{model}'s output for case {case.id!r} is not known; {fix}", {"eval_cost": 0.0})
        messages = task.render(model, case.vars)
        key = call_key(cand.identity, messages, task.params(), constraint(task, cand), case.vars,
                       takes_vars=provider_for(cand.kind).takes_vars)
        response = await self._known(key)
        if response is None or response.get("output") is None:
            raise JudgeError(f"no stored output of {model} for case {case.id!r}; {fix}", {"eval_cost": 0.0})
        return response["output"]


class ItemContext:
    """The judging context of one candidate output (what graders/_judge.py calls)."""

    def __init__(self, judging: Judging, it: Any):
        self.judging, self.it = judging, it
        self.model = it.cand.name
        users = [m["content"] for m in it.messages if m.get("role") == "user"]
        self.task_input = users[-1] if users else ""
        self.new_cache: list[dict[str, Any]] = []

    async def call(self, judge: str, messages, params, contract: Contract, variables) -> JudgeReply:
        return await self.judging.call(self, judge, messages, params, contract, variables)

    async def output_of(self, model: str, case: Case) -> str:
        return await self.judging.output_of(self.it, model, case)
