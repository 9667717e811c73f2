"""OpenTelemetry for the tests: one SDK tracer provider for the process with an in-memory exporter
(the API allows one global provider), and spans written as an OTLP/JSON export the way a collector's
file exporter writes them (the OTLP encoder's protobuf, in the OTLP/JSON mapping: lowerCamelCase keys,
hex trace and span ids, enums as integers, 64-bit integers as strings)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_EXPORTER: InMemorySpanExporter | None = None


def span_exporter() -> InMemorySpanExporter:
    """The process's in-memory exporter, emptied; installs the SDK provider on first use."""
    global _EXPORTER
    if _EXPORTER is None:
        _EXPORTER = InMemorySpanExporter()
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
            provider = trace.get_tracer_provider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    _EXPORTER.clear()
    return _EXPORTER


def otlp_document(spans: Any) -> dict[str, Any]:
    """An ExportTraceServiceRequest of these SDK spans, as OTLP/JSON."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    doc = MessageToDict(encode_spans(list(spans)), use_integers_for_enums=True)
    for rs in doc.get("resourceSpans", []):  # protobuf's JSON has base64 ids; OTLP/JSON has hex
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return doc


def write_otlp(path: Path, spans: Any, lines: bool = False) -> Path:
    """Write spans as one OTLP/JSON document, or (lines) one request per span per line, as the
    collector's file exporter writes a stream of batches."""
    spans = list(spans)
    if lines:
        path.write_text("".join(json.dumps(otlp_document([s])) + "\n" for s in spans))
    else:
        path.write_text(json.dumps(otlp_document(spans), indent=2))
    return path
