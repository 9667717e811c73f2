"""Usage to audit, as one table of attempts: the client's ledger, LiteLLM proxy spend logs
(JSON or JSONL, as /spend/logs returns them or as exported from LiteLLM_SpendLogs), an OTLP/JSON
trace export of GenAI spans (audit/_otlp.py), or a team's own CSV/JSONL with task, model, tokens
or cost, latency.

Every source becomes the same columns (USAGE_COLUMNS); a row is one attempt, and `call_id`
groups the attempts of one call (an export without it has one attempt per call).

An export is read as hostile input, in bounded time and memory: CSV and JSONL are streamed a
line at a time (a line over MAX_LINE_BYTES, a field over MAX_FIELD_CHARS, more than MAX_ROWS
rows, a JSON record nested deeper than MAX_DEPTH are refused), a JSON document is parsed whole
only up to MAX_JSON_BYTES, and every value is checked (audit/_rows.py). A bad row is one error
naming the file and the row, or, with skip_bad, skipped and counted; never a figure.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from ..errors import UsageError
from ._otlp import MAX_OTLP_LINE_BYTES, SKIPPED, Skipped, is_otlp, parse, span_row, spans
from ._rows import (MAX_COST_USD, MAX_DEPTH, MAX_TEXT, USAGE_COLUMNS, BadRow, check_depth, generic_row, loads,
                    no_constant, spend_log_row)

MAX_FIELD_CHARS = 128 * 1024       # one CSV field, or one string in a JSON record
MAX_LINE_BYTES = 1024 * 1024       # one line of CSV or JSONL
MAX_ROWS = 1_000_000               # records in one export, skipped ones included
MAX_JSON_BYTES = 256 * 1024 * 1024  # a JSON document (not JSONL) is parsed whole

__all__ = ["MAX_DEPTH", "MAX_FIELD_CHARS", "MAX_JSON_BYTES", "MAX_LINE_BYTES", "MAX_ROWS", "USAGE_COLUMNS", "Usage",
           "UsageError", "from_file", "from_ledger", "read_usage"]




@dataclass
class Usage:
    """The attempts read from an export, and the bad rows skipped (skip_bad) with the first reason."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    first_skipped: str | None = None
    not_usage: dict[str, int] = field(default_factory=dict)  # OTLP spans that are not usage, by SKIPPED key

    def notes(self) -> list[str]:
        notes = []
        if self.skipped:
            notes.append(f"skipped {self.skipped:,} bad row{'s' if self.skipped != 1 else ''} (--skip-bad); "
                         f"the first: {self.first_skipped}")
        if self.not_usage:
            notes.append("not counted: " + ", ".join(f"{n:,} {SKIPPED[why]}" for why, n in self.not_usage.items()))
        return notes


def from_ledger(url: str) -> list[dict[str, Any]]:
    """Every attempt in the store's usage ledger, oldest first."""
    from ..store import Store

    store = Store(url)
    try:
        return store.usage_rows(USAGE_COLUMNS)
    finally:
        store.close()


def from_file(path: Path, price: Callable[[str, int, int], float | None] | None = None) -> list[dict[str, Any]]:
    """Attempts from a usage export, every bad row an error (see read_usage)."""
    return read_usage(path, price).rows


def read_usage(path: Path, price: Callable[[str, int, int], float | None] | None = None,
               skip_bad: bool = False, task_attribute: str | None = None) -> Usage:
    """Attempts from a usage export; `price(model, prompt_tokens, completion_tokens)` fills a
    missing cost from the catalog or LiteLLM's price map. A bad row raises UsageError naming
    the file and row, or with skip_bad is skipped and counted. `task_attribute`: for an OTLP
    trace export, the span (or resource) attribute that names the task (default tierwise.task)."""
    path = Path(path)
    usage = Usage()
    otlp, records = _records(path)
    if task_attribute is not None and (not task_attribute.strip() or len(task_attribute) > MAX_TEXT):
        raise UsageError(f"--task-attribute: {task_attribute[:40]!r} is not an attribute name; fix: the span "
                         f"attribute that names the task, e.g. app.task")
    if otlp:
        convert: Callable[[Any], Any] = lambda record: span_row(record, task_attribute)  # noqa: E731
    elif task_attribute is not None:
        raise UsageError(f"{path}: --task-attribute applies to OTLP trace exports, and this is not one; fix: drop "
                         f"it, or pass the OTLP/JSON export")
    else:
        head = list(islice(records, 20))
        good = [r for _, r in head if isinstance(r, dict)]
        spend_log = bool(good) and all("spend" in r and ("startTime" in r or "request_id" in r) for r in good)
        convert = spend_log_row if spend_log else generic_row
        records = chain(head, records)
    for where, record in records:
        try:
            if isinstance(record, BadRow):
                raise record
            row = convert(record)
            if isinstance(row, Skipped):
                usage.not_usage[row] = usage.not_usage.get(row, 0) + 1
                continue
            _cost(row, price)
        except BadRow as bad:
            message = f"{path}:{where}: {bad}"
            if not skip_bad:
                raise UsageError(message + " (or pass --skip-bad to skip and count bad rows)") from None
            usage.skipped += 1
            usage.first_skipped = usage.first_skipped or message
            continue
        usage.rows.append(row)
    if not usage.rows:
        if usage.not_usage.get("no task"):
            raise UsageError(f"{path}: no usage rows: {usage.notes()[-1]}; fix: pass --task-attribute NAME, the span "
                             f"attribute that names the task")
        why = " (every row was bad)" if usage.skipped else f" ({usage.notes()[-1]})" if usage.not_usage else ""
        raise UsageError(f"{path}: no usage rows{why}; fix: export at least one call")
    usage.rows.sort(key=lambda r: (r["at"] is None, r["at"] or 0.0))
    return usage


def _cost(row: dict[str, Any], price: Callable[[str, int, int], float | None] | None) -> None:
    """A missing cost from the price list; a row with neither is bad, as is one without a task."""
    if not row["task"]:
        raise BadRow("no task; fix: add a task column (or, for LiteLLM spend logs, call model groups named after "
                     "tasks or tag requests task:<name>)")
    if row["cost"] is not None:
        return
    pt, ct = row["prompt_tokens"], row["completion_tokens"]
    if price is not None and (pt is not None or ct is not None):
        cost = price(row["model"], pt or 0, ct or 0)
        if cost is not None and not 0 <= cost <= MAX_COST_USD:  # also false for NaN
            raise BadRow(f"the price of {pt} + {ct} tokens on {row['model']!r} is {cost!r}; fix: give a cost column")
        row["cost"] = cost
    if row["cost"] is None:
        raise BadRow(f"no cost and no price known for model {row['model']!r}; fix: add a cost column, or name a "
                     f"tierwise.yaml model (or give it price:)")


# -- records ----------------------------------------------------------------------

Record = tuple[str, "dict[str, Any] | BadRow"]


def _records(path: Path) -> tuple[bool, Iterator[Record]]:
    """(is OTLP, (place, record or BadRow) pairs): place is the line (JSONL, CSV) or the index (JSON),
    and for OTLP the span's place; an OTLP record is a SpanRecord."""
    if not path.is_file():
        raise UsageError(f"{path}: not found; fix: pass a ledger export, LiteLLM spend logs, an OTLP/JSON trace "
                         f"export or a CSV/JSONL file")
    f = path.open("rb")
    head = f.read(65536)
    f.seek(0)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return False, _counted(path, _csv_records(path, f))
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lines = suffix in (".jsonl", ".ndjson") or (suffix != ".json" and stripped.startswith(b"{") and b"\n{" in head)
    if is_otlp(head):
        # The collector's file exporter writes one request a line, whatever the file is called; a
        # document spread over lines (pretty-printed) has a first line that is no whole object.
        first = stripped.split(b"\n", 1)[0].rstrip()
        lines = suffix in (".jsonl", ".ndjson") or first.endswith(b"}") or b"\n" not in stripped.rstrip()
        return True, _counted(path, _otlp_lines(path, f) if lines else _otlp_document(path, f))
    if lines:
        return False, _counted(path, _jsonl_records(path, f))
    return False, _counted(path, _json_records(path, f))


def _counted(path: Path, records: Iterator[Record]) -> Iterator[Record]:
    for i, record in enumerate(records):
        if i == MAX_ROWS:
            raise UsageError(f"{path}: more than {MAX_ROWS:,} rows; fix: audit a shorter period (split the export)")
        yield record


def _lines(path: Path, f: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(line number, text) a line at a time, UTF-8 (a byte order mark allowed), bounded."""
    with f:
        for number in range(1, 1 << 62):
            raw = f.readline(limit + 1)
            if not raw:
                return
            if len(raw) > limit:
                raise UsageError(f"{path}:{number}: a line over {limit // 1024 // 1024} MiB; fix: one "
                                 f"record a line, without embedded documents")
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UsageError(f"{path}:{number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                                 f"fix: save the file as UTF-8") from None


def _csv_records(path: Path, f: BinaryIO) -> Iterator[Record]:
    current = [0]  # the line the reader has reached, for messages

    def text() -> Iterator[str]:
        for n, line in _lines(path, f):
            current[0] = n
            yield line

    old = csv.field_size_limit(MAX_LINE_BYTES)  # fields past MAX_FIELD_CHARS are this reader's error
    try:
        reader = csv.reader(text())
        try:
            header = next(reader, None)
            if header is None:
                return
            for cells in reader:
                where = str(current[0])
                if any(len(c) > MAX_FIELD_CHARS for c in cells):
                    yield where, BadRow(f"a field over {MAX_FIELD_CHARS // 1024} KiB; fix: leave long text out")
                    continue
                yield where, {k: v for k, v in zip(header, cells)}
        except csv.Error as exc:
            raise UsageError(f"{path}:{current[0]}: not CSV ({exc}); fix: quote fields that hold commas, "
                             f"quotes or line breaks") from None
    finally:
        csv.field_size_limit(old)


def _jsonl_records(path: Path, f: BinaryIO) -> Iterator[Record]:
    for number, line in _lines(path, f):
        if not line.strip():
            continue
        yield str(number), _record(line, "the line")


def _record(line: str, name: str) -> "dict[str, Any] | BadRow":
    try:
        value = loads(line, name)
    except BadRow as bad:
        return bad
    if not isinstance(value, dict):
        return BadRow(f"{name} must be a JSON object, not {type(value).__name__}")
    if len(line) <= MAX_FIELD_CHARS:
        return value  # no string in it can be longer than the line
    return _fields_fit(value) or value


def _fields_fit(record: dict[str, Any]) -> BadRow | None:
    for key, value in record.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return BadRow(f"{str(key)[:40]}: over {MAX_FIELD_CHARS // 1024} KiB; fix: leave long text out")
    return None


def _otlp_lines(path: Path, f: BinaryIO) -> Iterator[Record]:
    """The spans of an OTLP/JSON export written one request a line (the collector's file exporter)."""
    for number, line in _lines(path, f, MAX_OTLP_LINE_BYTES):
        if not line.strip():
            continue
        try:
            doc = parse(line, "the line")
        except BadRow as bad:
            yield str(number), bad
            continue
        yield from spans(doc, f"{number}:", MAX_FIELD_CHARS)


def _otlp_document(path: Path, f: BinaryIO) -> Iterator[Record]:
    """The spans of one OTLP/JSON document (an OTLP/HTTP request body)."""
    try:
        doc = parse(_read_text(path, f), "the document")
    except BadRow as bad:
        raise UsageError(f"{path}: {bad}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans", doc.get("resource_spans")), list):
        raise UsageError(f"{path}: not an OTLP/JSON trace export; fix: a document {{\"resourceSpans\": [...]}} "
                         f"(or one a line)")
    yield from spans(doc, "", MAX_FIELD_CHARS)


def _read_text(path: Path, f: BinaryIO) -> str:
    """A whole JSON document's text, at most MAX_JSON_BYTES, UTF-8 (a byte order mark allowed)."""
    with f:
        data = f.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise UsageError(f"{path}: a JSON document over {MAX_JSON_BYTES // 1024 // 1024} MiB; fix: export JSONL "
                         f"(one row, or one OTLP request, a line), which is read a line at a time")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); fix: save the file as UTF-8") \
            from None


def _json_records(path: Path, f: BinaryIO) -> Iterator[Record]:
    text = _read_text(path, f)
    try:
        doc = json.loads(text, parse_constant=no_constant)  # each row's depth is checked below
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}); fix: a JSON list of rows, "
                         f"or use .jsonl / .csv") from None
    except RecursionError:
        raise UsageError(f"{path}: nested deeper than JSON can be read; fix: rows nested at most {MAX_DEPTH} "
                         f"levels") from None
    except BadRow as bad:
        raise UsageError(f"{path}: {bad}") from None
    if isinstance(doc, dict):  # /spend/logs pages wrap the rows
        for key in ("data", "logs", "response", "rows"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
    if not isinstance(doc, list):
        raise UsageError(f"{path}: must be a JSON list of row objects (or {{\"data\": [...]}})")
    for i, value in enumerate(doc):
        if not isinstance(value, dict):
            yield f"[{i}]", BadRow(f"must be a JSON object, not {type(value).__name__}")
            continue
        try:
            check_depth(value, "the row")
        except BadRow as bad:
            yield f"[{i}]", bad
            continue
        yield f"[{i}]", _fields_fit(value) or value
