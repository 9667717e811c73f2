"""Usage to audit, as one table of attempts: the client's ledger, LiteLLM proxy spend logs
(JSON or JSONL, as /spend/logs returns them or as exported from LiteLLM_SpendLogs), or a
team's own CSV/JSONL with task, model, tokens or cost, latency.

Every source becomes the same columns (USAGE_COLUMNS); a row is one attempt, and `call_id`
groups the attempts of one call (an export without it has one attempt per call).
"""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..errors import TierwiseError

USAGE_COLUMNS = ("at", "call_id", "task", "model", "kind", "outcome", "final", "cost", "latency_ms",
                 "prompt_tokens", "completion_tokens", "trace", "step", "contract_reason", "input", "output")

# Accepted spellings of a generic export's columns.
_ALIASES = {
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


class UsageError(TierwiseError):
    """A usage export cannot be read; the message names the file, the row and the fix."""


def from_ledger(url: str) -> list[dict[str, Any]]:
    """Every attempt in the store's usage ledger, oldest first."""
    from ..store import Store

    store = Store(url)
    try:
        return store.usage_rows(USAGE_COLUMNS)
    finally:
        store.close()


def from_file(path: Path, price: Callable[[str, int, int], float | None] | None = None) -> list[dict[str, Any]]:
    """Attempts from a usage export; `price(model, prompt_tokens, completion_tokens)` fills a
    missing cost from the catalog or LiteLLM's price map."""
    records = _records(path)
    if not records:
        raise UsageError(f"{path}: no usage rows; fix: export at least one call")
    spend_log = all("spend" in r and ("startTime" in r or "request_id" in r) for _, r in records[:20])
    out = []
    for where, record in records:
        row = _spend_log_row(record) if spend_log else _generic_row(record, f"{path}:{where}")
        if row["cost"] is None:
            pt, ct = row["prompt_tokens"], row["completion_tokens"]
            if price is not None and (pt is not None or ct is not None):
                row["cost"] = price(row["model"], pt or 0, ct or 0)
            if row["cost"] is None:
                raise UsageError(f"{path}:{where}: no cost and no price known for model {row['model']!r}; fix: add "
                                 f"a cost column, or name a tierwise.yaml model (or give it price:)")
        if not row["task"]:
            raise UsageError(f"{path}:{where}: no task; fix: add a task column (or, for LiteLLM spend logs, "
                             f"call model groups named after tasks or tag requests task:<name>)")
        out.append(row)
    out.sort(key=lambda r: (r["at"] is None, r["at"] or 0.0))
    return out


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(place, record) pairs: place is the line (JSONL, CSV) or the index (JSON)."""
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        return [(str(i + 2), {k: v for k, v in row.items() if k is not None}) for i, row in enumerate(reader)]
    if suffix == ".jsonl" or (suffix != ".json" and text.lstrip().startswith("{") and "\n{" in text):
        out = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{i}: invalid JSON ({exc.msg}); fix: one JSON object a line") from None
            if not isinstance(value, dict):
                raise UsageError(f"{path}:{i}: must be a JSON object")
            out.append((str(i), value))
        return out
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); fix: a JSON list of rows, "
                         f"or use .jsonl / .csv") from None
    if isinstance(doc, dict):  # /spend/logs pages wrap the rows
        for key in ("data", "logs", "response", "rows"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise UsageError(f"{path}: must be a JSON list of row objects (or {{\"data\": [...]}})")
    return [(f"[{i}]", r) for i, r in enumerate(doc)]


def _spend_log_row(r: dict[str, Any]) -> dict[str, Any]:
    """One LiteLLM proxy spend-log row. The task is the request's `task:<name>` tag, else its
    model group (a proxy configured by `tierwise export litellm` has one group per task)."""
    metadata = _json_field(r.get("metadata")) or {}
    tags = list(_json_field(r.get("request_tags")) or []) + list(metadata.get("tags") or [])
    tagged = {k: v for k, _, v in (str(t).partition(":") for t in tags) if v}
    start, end = _time(r.get("startTime")), _time(r.get("endTime"))
    latency = _number(r.get("request_duration_ms"))
    if latency is None and start is not None and end is not None:
        latency = (end - start) * 1000
    status = str(r.get("status") or "success").lower()
    return _row(at=start, call_id=r.get("request_id"), task=tagged.get("task") or r.get("model_group") or r.get("model"),
                model=r.get("model") or r.get("model_group"), outcome="error" if status == "failure" else "ok",
                cost=_number(r.get("spend")), latency_ms=latency, prompt_tokens=_int(r.get("prompt_tokens")),
                completion_tokens=_int(r.get("completion_tokens")),
                trace=r.get("session_id") or tagged.get("trace") or metadata.get("trace_id"),
                step=tagged.get("step") or metadata.get("step"))


def _generic_row(r: dict[str, Any], where: str) -> dict[str, Any]:
    def get(name: str) -> Any:
        for key in _ALIASES[name]:
            value = r.get(key)
            if value not in (None, ""):
                return value
        return None

    if get("task") is None or get("model") is None:
        raise UsageError(f"{where}: needs task and model; found columns {', '.join(sorted(r))}; fix: name them "
                         f"task and model (and cost or prompt_tokens/completion_tokens, latency_ms)")
    latency = _number(get("latency_ms"))
    if latency is None and get("latency_s") is not None:
        latency = _number(get("latency_s")) * 1000
    outcome = str(get("outcome") or "ok").lower()
    outcome = {"success": "ok", "failure": "error", "failed": "error"}.get(outcome, outcome)
    return _row(at=_time(get("at")), call_id=get("call_id"), task=get("task"), model=get("model"),
                kind=get("kind") or "primary", outcome=outcome, cost=_number(get("cost")), latency_ms=latency,
                prompt_tokens=_int(get("prompt_tokens")), completion_tokens=_int(get("completion_tokens")),
                trace=get("trace"), step=get("step"))


def _row(**values: Any) -> dict[str, Any]:
    row = {c: None for c in USAGE_COLUMNS}
    row.update(kind="primary", outcome="ok", final=True)
    row.update({k: v for k, v in values.items() if v is not None})
    for key in ("task", "model", "trace", "step", "call_id"):
        if row[key] is not None:
            row[key] = str(row[key])
    return row


def _json_field(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def _time(value: Any) -> float | None:
    """Unix seconds from a number or an ISO 8601 string (naive means UTC, as LiteLLM writes it)."""
    number = _number(value)
    if number is not None:
        return number / 1000 if number > 1e11 else number  # milliseconds since the epoch
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
