"""One record of a usage export as one attempt (audit/_read.py USAGE_COLUMNS), checked.

A usage export is input from outside (a proxy's database, a spreadsheet), so every value is
checked before it can become a figure: a number that is not one, negative, not finite or past
its bound, a time that is not one, text that is a list, is BadRow naming the field and the
fix. The caller turns it into an error naming the file and row (or skips and counts it with
--skip-bad); nothing bad is ever replaced by a guess (a NaN spend is not "no spend: estimate").
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

# Bounds on one attempt's values (docs/security.md). Beyond them a row is a mistake, and a sum
# of a million rows at the bound still prints as a finite figure (never $inf or Infinity).
MAX_COST_USD = 1_000_000.0
MAX_TOKENS = 1_000_000_000
MAX_LATENCY_MS = 7 * 86400 * 1000.0
MAX_TEXT = 200                      # task, model, trace, step, call id: the ledger's widths
MIN_TIME, MAX_TIME = 0.0, 7_258_118_400.0  # 1970 to 2200, in unix seconds
MAX_DEPTH = 32                      # nesting of a JSON record (a spend log's metadata is 2-3 deep)

USAGE_COLUMNS = ("at", "call_id", "task", "model", "kind", "outcome", "final", "cost", "latency_ms",
                 "prompt_tokens", "completion_tokens", "trace", "step", "contract_reason", "input", "output",
                 "stage", "deferred")  # a cascade's stage and the signal it deferred on (ledger only)

# Accepted spellings of a generic export's columns.
ALIASES = {
    "task": ("task", "task_type", "feature", "route"),
    "model": ("model", "model_name", "deployment"),
    "cost": ("cost", "cost_usd", "spend", "usd"),
    "prompt_tokens": ("prompt_tokens", "input_tokens", "tokens_in"),
    "completion_tokens": ("completion_tokens", "output_tokens", "tokens_out"),
    "latency_ms": ("latency_ms", "duration_ms", "request_duration_ms"),
    "latency_s": ("latency_s", "duration_s", "latency"),
    "at": ("at", "timestamp", "time", "created_at", "start_time", "startTime"),
    "trace": ("trace", "trace_id", "session_id", "run_id"),
    "step": ("step", "step_name", "stage"),
    "call_id": ("call_id", "request_id", "id"),
    "kind": ("kind", "attempt_kind"),
    "outcome": ("outcome", "status"),
}


class BadRow(ValueError):
    """One record that cannot be an attempt; the message says which field and the fix."""


def spend_log_row(r: dict[str, Any]) -> dict[str, Any]:
    """One LiteLLM proxy spend-log row. The task is the request's `task:<name>` tag, else its
    model group (a proxy configured by `tierwise export litellm` has one group per task)."""
    metadata = json_field(r.get("metadata"), "metadata", dict) or {}
    tags = _tags(r.get("request_tags"), "request_tags") + _tags(metadata.get("tags"), "metadata.tags")
    tagged = {k: v for k, _, v in (t.partition(":") for t in tags) if v}
    start, end = time_of(r.get("startTime"), "startTime"), time_of(r.get("endTime"), "endTime")
    latency = number(r.get("request_duration_ms"), "request_duration_ms", MAX_LATENCY_MS)
    if latency is None and start is not None and end is not None:
        if end < start:
            raise BadRow("endTime is before startTime; fix: export the rows as the proxy wrote them")
        latency = min((end - start) * 1000, MAX_LATENCY_MS)
    status = (text(r.get("status"), "status") or "success").lower()
    return make_row(at=start, call_id=text(r.get("request_id"), "request_id"),
                    task=text(tagged.get("task") or r.get("model_group") or r.get("model"), "task"),
                    model=text(r.get("model") or r.get("model_group"), "model"),
                    outcome="error" if status == "failure" else "ok",
                    cost=number(r.get("spend"), "spend", MAX_COST_USD), latency_ms=latency,
                    prompt_tokens=count(r.get("prompt_tokens"), "prompt_tokens"),
                    completion_tokens=count(r.get("completion_tokens"), "completion_tokens"),
                    trace=text(r.get("session_id") or tagged.get("trace") or metadata.get("trace_id"), "trace"),
                    step=text(tagged.get("step") or metadata.get("step"), "step"))


def generic_row(r: dict[str, Any]) -> dict[str, Any]:
    """One row of a team's own CSV/JSONL export (columns by ALIASES)."""
    def get(name: str) -> tuple[Any, str]:
        for key in ALIASES[name]:
            value = r.get(key)
            if value not in (None, ""):
                return value, key
        return None, ALIASES[name][0]

    if get("task")[0] is None or get("model")[0] is None:
        raise BadRow(f"needs task and model; found columns {_columns(r)}; fix: name them task and model "
                     f"(and cost or prompt_tokens/completion_tokens, latency_ms)")
    latency = number(*get("latency_ms"), MAX_LATENCY_MS)
    if latency is None:
        seconds = number(*get("latency_s"), MAX_LATENCY_MS / 1000)
        latency = seconds * 1000 if seconds is not None else None
    outcome = (text(*get("outcome")) or "ok").lower()
    outcome = {"success": "ok", "failure": "error", "failed": "error"}.get(outcome, outcome)
    return make_row(at=time_of(*get("at")), call_id=text(*get("call_id")), task=text(*get("task")),
                    model=text(*get("model")), kind=text(*get("kind")) or "primary", outcome=outcome,
                    cost=number(*get("cost"), MAX_COST_USD), latency_ms=latency,
                    prompt_tokens=count(*get("prompt_tokens")), completion_tokens=count(*get("completion_tokens")),
                    trace=text(*get("trace")), step=text(*get("step")))


def make_row(**values: Any) -> dict[str, Any]:
    row = dict.fromkeys(USAGE_COLUMNS)
    row.update(kind="primary", outcome="ok", final=True)
    row.update({k: v for k, v in values.items() if v is not None})
    return row


def number(value: Any, name: str, limit: float) -> float | None:
    """A finite number in [0, limit], or None when the field is empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRow(f"{name}: {_show(value)} is not a number; fix: a plain number")
    try:
        result = float(value)
    except (ValueError, OverflowError):
        raise BadRow(f"{name}: {_show(value)} is not a number; fix: a plain number") from None
    if not math.isfinite(result):
        raise BadRow(f"{name}: {_show(value)} is not a finite number; fix: the real value, or leave it empty")
    if not 0 <= result <= limit:
        raise BadRow(f"{name}: {result:g} is outside 0 to {limit:,.0f}; fix: the real value, or leave it empty")
    return result


def count(value: Any, name: str) -> int | None:
    """A whole number of tokens in [0, MAX_TOKENS], or None."""
    result = number(value, name, MAX_TOKENS)
    if result is None:
        return None
    if result != int(result):
        raise BadRow(f"{name}: {result:g} is not a whole number of tokens")
    return int(result)


def time_of(value: Any, name: str) -> float | None:
    """Unix seconds from a number (seconds, or milliseconds past 1e11) or an ISO 8601 string
    (naive means UTC, as LiteLLM writes it), between 1970 and 2200."""
    if value is None or value == "":
        return None
    moment: float
    try:
        moment = float(value) if not isinstance(value, bool) and isinstance(value, (int, float, str)) else math.nan
        if math.isfinite(moment) and moment > 1e11:
            moment /= 1000  # milliseconds since the epoch
    except (ValueError, OverflowError):
        moment = _iso(value, name)
    if not (math.isfinite(moment) and MIN_TIME <= moment <= MAX_TIME):
        raise BadRow(f"{name}: {_show(value)} is not a time between 1970 and 2200; fix: ISO 8601 or unix seconds")
    return moment


def text(value: Any, name: str) -> str | None:
    """Short text (a number is taken as its text), or None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadRow(f"{name}: {_show(value)} is not text; fix: a string")
    result = str(value)
    if len(result) > MAX_TEXT:
        raise BadRow(f"{name}: {len(result):,} characters, over {MAX_TEXT}; fix: a shorter name")
    return result


def json_field(value: Any, name: str, kind: type) -> Any:
    """A field that holds JSON, parsed (exports keep metadata and tags as JSON text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = loads(value, name)
    if not isinstance(value, kind):
        raise BadRow(f"{name}: {_show(value)} must be a JSON {'object' if kind is dict else 'list'}")
    return value


def loads(text_: str, name: str) -> Any:
    """json.loads with NaN/Infinity refused and nesting bounded by MAX_DEPTH."""
    try:
        value = json.loads(text_, parse_constant=no_constant)
    except RecursionError:
        raise BadRow(f"{name}: nested deeper than {MAX_DEPTH} levels; fix: flatten the record") from None
    except json.JSONDecodeError as exc:
        raise BadRow(f"{name}: invalid JSON ({exc.msg}); fix: one JSON object a line") from None
    if text_.count("[") + text_.count("{") > MAX_DEPTH:  # else it cannot be deeper
        check_depth(value, name)
    return value


def check_depth(value: Any, name: str) -> None:
    """BadRow when a parsed record nests deeper than MAX_DEPTH (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRow(f"{name}: nested deeper than {MAX_DEPTH} levels; fix: flatten the record")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))


def no_constant(name: str) -> Any:
    raise BadRow(f"{name} is not a number JSON allows; fix: the real value, or null")


def _tags(value: Any, name: str) -> list[str]:
    tags = json_field(value, name, list) or []
    out = []
    for tag in tags:
        if isinstance(tag, bool) or not isinstance(tag, (str, int, float)):
            raise BadRow(f"{name}: the tag {_show(tag)} is not text; fix: tags are strings like task:<name>")
        out.append(str(tag))
    return out


def _iso(value: str, name: str) -> float:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRow(f"{name}: {_show(value)} is not a time; fix: ISO 8601 (2024-05-01T12:00:00Z) "
                     f"or unix seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _columns(r: dict[str, Any]) -> str:
    names = sorted(str(k)[:40] for k in r)
    return ", ".join(names[:20]) + (f", … ({len(names)} in all)" if len(names) > 20 else "") or "none"


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "…"
