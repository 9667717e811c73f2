"""OTLP/JSON trace exports as usage: the GenAI spans harness.Client emits (client/_otel.py), or any
instrumentation's, read as the audit's attempts (USAGE_COLUMNS).

The format (opentelemetry-proto's OTLP/JSON encoding): `{"resourceSpans": [{"resource": {"attributes":
[...]}, "scopeSpans": [{"scope": {...}, "spans": [...]}]}]}`, keys in lowerCamelCase (the proto names,
resource_spans…, are accepted too, as protobuf's JSON parsers do), trace and span ids in hex, 64-bit
integers as decimal strings or numbers, enums as integers, an attribute `{"key": K, "value": {"stringValue"
| "intValue" | "doubleValue" | "boolValue" | "arrayValue" | "kvlistValue" | "bytesValue": …}}`, unknown
fields ignored. One document (an OTLP/HTTP request body) or one a line (the collector's file exporter).

A span is one attempt:

    task        tierwise.task; with `task_attribute` (audit --task-attribute NAME) that attribute of
                the span, else of its resource, else tierwise.task
    model       tierwise.model (the catalog name), else gen_ai.request.model, else gen_ai.response.model
    tokens      gen_ai.usage.input_tokens / output_tokens (or the older prompt_tokens / completion_tokens)
    cost        tierwise.cost_usd, else priced from the catalog or LiteLLM's price map like any export;
                a failed call that reports no tokens and no cost costs 0
    latency     endTimeUnixNano - startTimeUnixNano; the time is the start
    outcome     tierwise.outcome, else error when the status is ERROR (code 2) or error.type is set
    kind, final, call id, trace, step, contract reason, cascade stage and deferral:
                tierwise.attempt.kind, tierwise.final, tierwise.call_id (else the trace and span ids),
                tierwise.trace, tierwise.step, tierwise.contract_reason, tierwise.stage, tierwise.deferred

Counted as usage: Tierwise's spans, and other instrumentations' model-call spans (gen_ai.operation.name
chat, text_completion, generate_content or embeddings) that carry the task attribute. Not counted,
and said in a note: shadow calls (tierwise.shadow: their spend is the shadow rows'), spans that are no
model call (HTTP, agent, tool spans, …) and model-call spans without a task (the note says to pass
--task-attribute). Read as hostile input like every export (audit/_read.py): bounded size, nesting
and field length per span, every value checked; a bad span is one error naming the file, the line
(JSONL), the span's place (resourceSpans[i].scopeSpans[j].spans[k]) and the fix, or skipped and counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

from ._rows import MAX_DEPTH, MAX_LATENCY_MS, MAX_TIME, MIN_TIME, BadRow, count, make_row, no_constant, number, text

MAX_OTLP_LINE_BYTES = 64 * 1024 * 1024  # one line of the collector's file exporter: a whole batch
MODEL_CALLS = ("chat", "text_completion", "generate_content", "embeddings")
OUTCOMES = ("ok", "error", "contract_failed", "deferred")
SKIPPED = {"shadow": "shadow calls (tierwise.shadow; their spend is in the shadow rows, not the usage)",
           "other": "spans that are no model call",
           "no task": "model-call spans without tierwise.task (pass --task-attribute NAME to audit them)"}
_FIRST_KEY = re.compile(rb'\{\s*"(resourceSpans|resource_spans)"\s*:')


class Skipped(str):
    """A span that is not usage (a key of SKIPPED), counted in a note, never an error."""


@dataclass(frozen=True)
class SpanRecord:
    span: dict[str, Any]
    resource: dict[str, Any]     # the resource's attributes, decoded


def is_otlp(head: bytes) -> bool:
    """Whether the start of a file is an OTLP/JSON trace export (a document or its first line)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return bool(_FIRST_KEY.match(stripped)) or (stripped.startswith(b"{") and b'"resourceSpans"' in head
                                                 and b'"spans"' in head)


def parse(text_: str, name: str) -> Any:
    """One OTLP/JSON document (NaN/Infinity literals refused; each span's depth is checked in spans())."""
    try:
        return json.loads(text_, parse_constant=no_constant)
    except RecursionError:
        raise BadRow(f"{name}: nested deeper than JSON can be read; fix: spans nested at most {MAX_DEPTH} "
                     f"levels") from None
    except json.JSONDecodeError as exc:
        raise BadRow(f"{name}: invalid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}); fix: one OTLP/JSON "
                     f"document, or one a line") from None


def spans(doc: Any, prefix: str, max_field: int) -> Iterator[tuple[str, "SpanRecord | BadRow"]]:
    """(place, span or BadRow) for every span of one export request."""
    if not isinstance(doc, dict):
        yield prefix.rstrip(":.") or "document", BadRow(f"must be a JSON object with resourceSpans, not "
                                                        f"{type(doc).__name__}")
        return
    resource_spans = _get(doc, "resourceSpans")
    if not isinstance(resource_spans, list):
        yield prefix + "resourceSpans", BadRow("must be a list; fix: an OTLP/JSON trace export "
                                               "({\"resourceSpans\": [...]})")
        return
    for i, rs in enumerate(resource_spans):
        at = f"{prefix}resourceSpans[{i}]"
        try:
            rs = _object(rs, "")
            resource = _object(_get(rs, "resource") or {}, "resource")
            resource_attrs = attributes(resource.get("attributes"), "resource.attributes")
            scopes = _list(_get(rs, "scopeSpans", "instrumentationLibrarySpans"), "scopeSpans")
        except BadRow as bad:
            yield at, bad
            continue
        for j, ss in enumerate(scopes):
            where = f"{at}.scopeSpans[{j}]"
            try:
                items = _list(_get(_object(ss, ""), "spans"), "spans")
            except BadRow as bad:
                yield where, bad
                continue
            for k, span in enumerate(items):
                place = f"{where}.spans[{k}]"
                try:
                    _check_span(_object(span, ""), max_field)
                except BadRow as bad:
                    yield place, bad
                    continue
                yield place, SpanRecord(span, resource_attrs)


def span_row(record: SpanRecord, task_attribute: str | None = None) -> "dict[str, Any] | Skipped":
    """One span as one attempt (see the module docstring), Skipped when it is not usage."""
    span = record.span
    attrs = attributes(span.get("attributes"), "attributes")
    if attrs.get("tierwise.shadow") is True:
        return Skipped("shadow")
    ours = "tierwise.task" in attrs
    operation = attrs.get("gen_ai.operation.name")
    if not ours and operation not in MODEL_CALLS:
        return Skipped("other")
    task_key = "tierwise.task"
    task = attrs.get(task_key)
    if task_attribute:
        for source, value in ((task_attribute, attrs.get(task_attribute)),
                              (f"resource {task_attribute}", record.resource.get(task_attribute)),
                              ("tierwise.task", task)):
            if value not in (None, ""):
                task_key, task = source, value
                break
    if task in (None, ""):
        if task_attribute:
            raise BadRow(f"no {task_attribute!r} attribute on this {operation} span nor on its resource; fix: set it "
                         f"where the call is made, or pass the attribute that names the task")
        return Skipped("no task")
    start, end = _nanos(span, "startTimeUnixNano"), _nanos(span, "endTimeUnixNano")
    if start is not None and end is not None and end < start:
        raise BadRow("endTimeUnixNano is before startTimeUnixNano; fix: export the spans as the SDK recorded them")
    at = start / 1e9 if start is not None else None
    if at is not None and not MIN_TIME <= at <= MAX_TIME:
        raise BadRow(f"startTimeUnixNano: {start} is not a time between 1970 and 2200; fix: nanoseconds since "
                     f"the epoch")
    latency = number((end - start) / 1e6, "the span's duration (ms)", MAX_LATENCY_MS) \
        if start is not None and end is not None else None
    outcome = text(attrs.get("tierwise.outcome"), "tierwise.outcome")
    if outcome is None:
        outcome = "error" if _status_error(span) or "error.type" in attrs else "ok"
    elif outcome not in OUTCOMES:
        raise BadRow(f"tierwise.outcome: {outcome[:40]!r} is not one of {', '.join(OUTCOMES)}")
    final = attrs.get("tierwise.final", True)
    if not isinstance(final, bool):
        raise BadRow("tierwise.final: must be a boolValue")
    model = text(attrs.get("tierwise.model") or attrs.get("gen_ai.request.model") or attrs.get("gen_ai.response.model"),
                 "model")
    if model is None:
        raise BadRow("no model: neither tierwise.model nor gen_ai.request.model nor gen_ai.response.model; fix: set "
                     "gen_ai.request.model on the span")
    prompt_tokens = count(_first(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"), "input_tokens")
    completion_tokens = count(_first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
                              "output_tokens")
    cost = number(attrs.get("tierwise.cost_usd"), "tierwise.cost_usd", 1_000_000.0)
    if cost is None and outcome == "error" and prompt_tokens is None and completion_tokens is None:
        cost = 0.0  # a failed call that reports no usage: nothing to price
    call_id = attrs.get("tierwise.call_id") or _ids(span)
    return make_row(at=at, call_id=text(call_id, "tierwise.call_id"), task=text(task, task_key), model=model,
                    kind=text(attrs.get("tierwise.attempt.kind"), "tierwise.attempt.kind") or "primary",
                    outcome=outcome, final=final, cost=cost, latency_ms=latency, prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens, trace=text(attrs.get("tierwise.trace"), "tierwise.trace"),
                    step=text(attrs.get("tierwise.step"), "tierwise.step"),
                    contract_reason=_reason(attrs.get("tierwise.contract_reason")),
                    # a cascade's stage and the signal it deferred on, as the ledger records them
                    stage=count(attrs.get("tierwise.stage"), "tierwise.stage"),
                    deferred=text(attrs.get("tierwise.deferred"), "tierwise.deferred"))


def attributes(items: Any, name: str) -> dict[str, Any]:
    """OTLP attributes as {key: value}: scalars as Python values, arrays and key/value lists as _Complex."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise BadRow(f"{name}: must be a list of {{\"key\", \"value\"}} objects")
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise BadRow(f"{name}[{i}]: must be an object with a string key")
        out[item["key"]] = _value(item.get("value"), f"{name}[{i}] ({item['key'][:60]})")
    return out


# -- inside -------------------------------------------------------------------------


class _Complex:
    """An array, key/value list or bytes value: kept out of every figure."""

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"


def _value(value: Any, name: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRow(f"{name}: the value must be an AnyValue object ({{\"stringValue\": …}} and so on)")
    for key, kind in (("stringValue", str), ("string_value", str), ("boolValue", bool), ("bool_value", bool)):
        if key in value:
            if not isinstance(value[key], kind):
                raise BadRow(f"{name}: {key} {_show(value[key])} is not a {kind.__name__}")
            return value[key]
    for key in ("intValue", "int_value"):
        if key in value:
            return _integer(value[key], name)
    for key in ("doubleValue", "double_value"):
        if key in value:
            v = value[key]
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise BadRow(f"{name}: doubleValue {_show(v)} is not a number")
            try:
                return float(v)  # "NaN" and "Infinity" as the JSON mapping writes them; bounds refuse them later
            except ValueError:
                raise BadRow(f"{name}: doubleValue {_show(v)} is not a number") from None
    for key, kind in (("arrayValue", "array"), ("array_value", "array"), ("kvlistValue", "key/value list"),
                      ("kvlist_value", "key/value list"), ("bytesValue", "bytes"), ("bytes_value", "bytes")):
        if key in value:
            return _Complex(kind)
    return None  # an empty AnyValue, or a kind this reader does not know: ignored, as OTLP/JSON asks


def _integer(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise BadRow(f"{name}: intValue {_show(value)} is not a whole number; fix: a decimal string like \"42\"")


def _nanos(span: dict[str, Any], key: str) -> int | None:
    value = _get(span, key)
    if value is None or value == "" or value == "0" or value == 0:
        return None  # an unset time
    nanos = _integer(value, key)
    if nanos < 0:
        raise BadRow(f"{key}: {nanos} is negative; fix: nanoseconds since the epoch")
    return nanos


def _status_error(span: dict[str, Any]) -> bool:
    status = span.get("status")
    if status is None:
        return False
    if not isinstance(status, dict):
        raise BadRow("status: must be an object")
    return status.get("code") in (2, "2", "STATUS_CODE_ERROR")


def _ids(span: dict[str, Any]) -> str | None:
    trace_id, span_id = _get(span, "traceId"), _get(span, "spanId")
    if isinstance(trace_id, str) and isinstance(span_id, str) and trace_id and span_id:
        return f"{trace_id[:32]}:{span_id[:16]}".lower()
    return None


def _reason(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRow(f"tierwise.contract_reason: {_show(value)} is not text")
    return value[:1000]


def _first(attrs: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if attrs.get(key) is not None:
            value = attrs[key]
            if isinstance(value, _Complex):
                raise BadRow(f"{key}: an {value.kind} is not a number; fix: an intValue")
            return value
    return None


def _check_span(span: dict[str, Any], max_field: int) -> None:
    """BadRow when a span nests deeper than MAX_DEPTH or holds a string over max_field characters."""
    stack = [(span, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRow(f"nested deeper than {MAX_DEPTH} levels; fix: flatten the span's attributes")
        values = item.values() if isinstance(item, dict) else item
        for v in values:
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1))
            elif isinstance(v, str) and len(v) > max_field:
                raise BadRow(f"a string over {max_field // 1024} KiB; fix: leave long text out of the spans")


def _get(obj: dict[str, Any], *keys: str) -> Any:
    """A field by its lowerCamelCase name or its proto name."""
    for key in keys:
        if key in obj:
            return obj[key]
        snake = _snake(key)
        if snake in obj:
            return obj[snake]
    return None


@lru_cache(maxsize=64)
def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRow(f"{name + ': ' if name else ''}must be a JSON object, not {type(value).__name__}")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRow(f"{name}: must be a list, not {type(value).__name__}")
    return value


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "…"
