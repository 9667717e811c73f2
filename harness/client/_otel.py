"""OpenTelemetry spans for harness.Client, in the GenAI semantic conventions, when `opentelemetry-api`
is installed: existing tracing (Jaeger, Tempo, Honeycomb, Datadog, …) then shows the tiers.

One span per model call: every attempt of a client call (the primary, each fallback and escalation,
each cascade stage) and every shadow call. A span is built when its attempt has finished, with the
attempt's own start time and latency (the ones the usage ledger records), as a child of whatever span
is current where `complete()` / `acomplete()` was called; shadow spans, made on the shadow thread, are
roots that carry the production call's `tierwise.call_id`.

Attributes (semantic conventions for GenAI client spans, open-telemetry/semantic-conventions-genai,
docs/gen-ai/gen-ai-spans.md; span name `{gen_ai.operation.name} {gen_ai.request.model}`, kind CLIENT):

    gen_ai.operation.name       chat
    gen_ai.provider.name        the provider (LiteLLM's, mapped to the well-known values: azure ->
                                azure.ai.openai, bedrock -> aws.bedrock, …); local and python for
                                Tierwise's own kinds
    gen_ai.system               the same, under its name before semconv 1.37 (backends still read it)
    gen_ai.request.model        the model string without its provider prefix
    gen_ai.request.max_tokens, gen_ai.request.temperature, gen_ai.output.type (json for JSON tasks)
    gen_ai.usage.input_tokens, gen_ai.usage.output_tokens
    server.address, server.port where the catalog entry names an api_base
    error.type                  on a provider failure (LiteLLM's exception name); status ERROR
    tierwise.task, tierwise.model (catalog name), tierwise.target (registry string),
    tierwise.call_id, tierwise.attempt.number (1-based), tierwise.attempt.kind (primary | fallback |
    escalation | deferral), tierwise.outcome (ok | error | contract_failed | deferred),
    tierwise.final, tierwise.cost_usd, tierwise.trace, tierwise.step, tierwise.contract_reason,
    tierwise.stage (a cascade's stage), tierwise.shadow (true on shadow calls, with
    tierwise.incumbent and tierwise.agree)

Not set: gen_ai.response.model and finish reasons (the client does not read them from the response).
No prompt or output text is put on a span unless the client captures (`Client(capture=True)`):
then `tierwise.input` (the template variables, as the ledger keeps them) and gen_ai.output.messages,
each redacted (harness.util.redactor) and cut at CAPTURE_LIMIT characters. Error descriptions are
redacted always. `tierwise audit --from` reads these spans back from an OTLP JSON export
(audit/_otlp.py).

Cost: without opentelemetry-api the client does one find_spec at start-up and imports nothing; with
it and no tracer provider configured, each attempt makes a non-recording span and sets nothing more.
A failure here never reaches a call: it is counted (`client.telemetry.stats()`).
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._client import Attempt, Reply
    from ._route import Hop, Route

CAPTURE_LIMIT = 32 * 1024
OPERATION = "chat"
# LiteLLM's provider names -> the semantic conventions' well-known gen_ai.provider.name values.
PROVIDERS = {
    "azure": "azure.ai.openai", "azure_ai": "azure.ai.inference", "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock", "vertex_ai": "gcp.vertex_ai", "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini", "cohere_chat": "cohere", "mistral": "mistral_ai", "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}


@dataclass
class SpanStats:
    emitted: int = 0
    failed: int = 0            # spans not made because something here raised (the call was unaffected)
    last_error: str | None = None


def available() -> bool:
    """Whether opentelemetry-api can be imported, without importing it."""
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except (ImportError, ValueError):
        return False


def spans_for(routes: dict[str, "Route"], capture: bool) -> "Spans | None":
    """The client's span maker, or None when opentelemetry-api is not installed."""
    if not available():
        return None
    from opentelemetry import trace

    from ..util import tierwise_version

    return Spans(trace, trace.get_tracer("tierwise", tierwise_version()), routes, capture)


class Spans:
    """Makes the spans of finished attempts and shadow calls (see the module docstring)."""

    def __init__(self, api: Any, tracer: Any, routes: dict[str, "Route"], capture: bool):
        self._api, self._tracer, self._routes, self.capture = api, tracer, routes, capture
        self._static: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._stats = SpanStats()

    def stats(self) -> SpanStats:
        with self._lock:
            return SpanStats(**vars(self._stats))

    # -- hooks --------------------------------------------------------------------
    def attempt(self, reply: "Reply", attempt: "Attempt", at: float, error_type: str | None,
                values: dict[str, Any], output: str | None, final: bool) -> None:
        """The span of one finished attempt of a client call (never raises)."""
        try:
            start = int(at * 1e9)
            name, static = self._static_for(reply.task, attempt.model, attempt.target)
            span = self._start(name, static, start)
            if span.is_recording():
                attrs = {"tierwise.call_id": reply.call_id, "tierwise.attempt.number": len(reply.attempts),
                         "tierwise.attempt.kind": attempt.kind, "tierwise.outcome": attempt.outcome,
                         "tierwise.final": final, "tierwise.shadow": False, "tierwise.trace": reply.trace,
                         "tierwise.step": reply.step, "tierwise.stage": getattr(attempt, "stage", None),
                         "tierwise.deferred": getattr(attempt, "deferred", None)}  # cascade attempts carry these
                if attempt.outcome == "contract_failed":
                    attrs["tierwise.contract_reason"] = attempt.reason
                self._finish(span, attrs, attempt.outcome, error_type, attempt.reason, attempt.cost,
                             attempt.prompt_tokens, attempt.completion_tokens, values, output)
            span.end(end_time=start + _nanos(attempt.latency_ms))
            self._count()
        except Exception as exc:  # noqa: BLE001 - telemetry must never fail a call
            self._count(exc)

    def shadow(self, hop: "Hop", row: dict[str, Any], values: dict[str, Any], output: str | None) -> None:
        """The span of one finished shadow call (row: its shadow_calls row; never raises)."""
        try:
            end = time.time_ns()
            start = end - _nanos(row.get("latency_ms"))
            name, static = self._static_for(row["task"], hop.name, hop.target, hop)
            span = self._start(name, static, start)
            if span.is_recording():
                attrs = {"tierwise.call_id": row["call_id"], "tierwise.attempt.kind": "shadow",
                         "tierwise.outcome": row["outcome"], "tierwise.shadow": True,
                         "tierwise.incumbent": row.get("incumbent"), "tierwise.agree": bool(row.get("agree")),
                         "tierwise.trace": row.get("trace")}
                if row["outcome"] == "contract_failed":
                    attrs["tierwise.contract_reason"] = row.get("error")
                self._finish(span, attrs, row["outcome"], row.get("error_type"), row.get("error"), row.get("cost"),
                             row.get("prompt_tokens"), row.get("completion_tokens"), values, output)
            span.end(end_time=end)
            self._count()
        except Exception as exc:  # noqa: BLE001 - telemetry must never fail a shadow call
            self._count(exc)

    # -- inside -------------------------------------------------------------------
    def _start(self, name: str, static: dict[str, Any], start: int) -> Any:
        # The attributes a sampler may look at are given at creation, as the conventions ask.
        return self._tracer.start_span(name, kind=self._api.SpanKind.CLIENT, attributes=static, start_time=start)

    def _finish(self, span: Any, attrs: dict[str, Any], outcome: str, error_type: str | None, reason: str | None,
                cost: float | None, prompt_tokens: int | None, completion_tokens: int | None,
                values: dict[str, Any], output: str | None) -> None:
        from ..util import redactor

        attrs["tierwise.cost_usd"] = cost
        attrs["gen_ai.usage.input_tokens"] = prompt_tokens
        attrs["gen_ai.usage.output_tokens"] = completion_tokens
        hide = None
        if outcome == "error":
            hide = redactor()
            attrs["error.type"] = error_type or "_OTHER"
            span.set_status(self._api.Status(self._api.StatusCode.ERROR, _cut(hide(reason or ""), 300)))
        if self.capture:
            hide = hide or redactor()
            attrs["tierwise.input"] = _cut(hide(json.dumps(values, ensure_ascii=False, default=str)))
            if output is not None:
                message = {"role": "assistant", "parts": [{"type": "text", "content": hide(output)}]}
                attrs["gen_ai.output.messages"] = _cut(json.dumps([message], ensure_ascii=False))
        span.set_attributes({k: v for k, v in attrs.items() if v is not None})

    def _static_for(self, task: str, model: str, target: str, hop: "Hop | None" = None
                    ) -> tuple[str, dict[str, Any]]:
        """The span name and the attributes fixed per (task, model), computed once."""
        key = (task, model)
        found = self._static.get(key)
        if found is None:
            route = self._routes.get(task)
            output = route.task.spec.output if route is not None else None
            found = _static(task, model, target, hop or self._hop(route, model))
            if output is not None and output.json_schema is not None:
                found[1]["gen_ai.output.type"] = "json"  # requested of the model (a schema, grammar or JSON mode)
            self._static[key] = found
        return found

    def _hop(self, route: "Route | None", model: str) -> "Hop | None":
        hops = list(route.hops) if route is not None else []
        hops += [s.hop for s in getattr(route, "stages", None) or []]  # a cascade's stages, where the route has them
        return next((h for h in hops if h.name == model), None)

    def _count(self, exc: BaseException | None = None) -> None:
        with self._lock:
            if exc is None:
                self._stats.emitted += 1
            else:
                from ..util import redact

                self._stats.failed += 1
                self._stats.last_error = redact(f"{type(exc).__name__}: {exc}")[:300]


def _static(task: str, model: str, target: str, hop: "Hop | None") -> tuple[str, dict[str, Any]]:
    provider, requested = _provider_and_model(hop, target)
    attrs: dict[str, Any] = {"gen_ai.operation.name": OPERATION, "gen_ai.provider.name": provider,
                             "gen_ai.system": provider, "gen_ai.request.model": requested,
                             "tierwise.task": task, "tierwise.model": model, "tierwise.target": target}
    if hop is not None:
        params = hop.params or {}
        for key in ("max_tokens", "temperature", "top_p"):
            value = params.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attrs[f"gen_ai.request.{key}"] = value
        api_base = (getattr(hop.cand, "call_options", None) or {}).get("api_base")
        if isinstance(api_base, str) and api_base:
            parts = urlsplit(api_base)
            if parts.hostname:
                attrs["server.address"] = parts.hostname
                port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
                if port:
                    attrs["server.port"] = port
    return f"{OPERATION} {requested}", attrs


def _provider_and_model(hop: "Hop | None", target: str) -> tuple[str, str]:
    """(gen_ai.provider.name, gen_ai.request.model) of a registry target."""
    cand = getattr(hop, "cand", None)
    ref = getattr(cand, "litellm_model", None) or target
    for sep in ("/", ":"):  # "openai/gpt-4.1-mini", "local:smollm2-135m-instruct", "python:mod:fn"
        head, found, rest = ref.partition(sep)
        if found and head and rest:
            return PROVIDERS.get(head, head), rest
    # A bare LiteLLM model string ("gpt-4o"): LiteLLM knows its provider, and has been imported by the
    # call this span describes (never imported here).
    import sys

    litellm = sys.modules.get("litellm")
    if litellm is not None:
        try:
            provider = litellm.get_llm_provider(ref)[1]
            return PROVIDERS.get(provider, provider), ref
        except Exception:  # noqa: BLE001 - an unknown model string: the well-known fallback value
            pass
    return "_OTHER", ref


def _nanos(latency_ms: float | None) -> int:
    return int(round((latency_ms or 0.0) * 1e6))


def _cut(text: str, limit: int = CAPTURE_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit] + "…[truncated]"
