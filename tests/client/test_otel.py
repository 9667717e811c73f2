"""The client's OpenTelemetry spans (client/_otel.py), caught by the SDK's in-memory exporter, against
the loopback OpenAI-compatible servers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import pytest
import yaml
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from harness import Client
from harness.store import Store
from tests.fake_openai import FakeOpenAI, catalog_entry
from tests.otelfix import span_exporter
from tests.projfix import spec, write_project

SECRET = "sk-test-NEVER-ON-A-SPAN-1234567890"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", SECRET)


@pytest.fixture
def spans():
    return span_exporter()


_model = partial(catalog_entry, api_key_env="TW_FAKE_KEY")


def _project(root: Path, primary: FakeOpenAI, second_openai: FakeOpenAI, *, spec_kw: dict | None = None,
             shadow: dict | None = None) -> Path:
    models = {"cheap": _model(primary, "cheap-model"), "strong": _model(second_openai, "strong-model"),
              "rule": {"python": "rules:echo"}}
    kw = {"candidates": ["cheap", "strong", "rule"], "params": {"temperature": 0, "max_tokens": 16},
          "prompt": {"system": "Answer yes or no.", "user": "{{ text }}"}}
    kw.update(spec_kw or {})
    config = {"retries": 0, "retry_backoff_s": 0.01, "timeout_s": 5}
    if shadow:
        config["shadow"] = shadow
    write_project(root, models=models, config=config, specs={"t": spec(**kw)},
                  golden={"t": [{"id": "c1", "vars": {"text": "yes"}, "expected": "yes"}]})
    entry = {"model": "openai/cheap-model", "fallbacks": ["openai/strong-model"], "max_tokens": 7, "temperature": 0.25}
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": entry}}))
    return root


def _ledger(root: Path) -> list[dict]:
    with Store(f"sqlite:///{root / '.tierwise' / 'results.db'}") as db:
        return db.usage_rows()


def _attrs(span) -> dict:
    return dict(span.attributes)


def test_each_attempt_is_a_genai_span_carrying_what_the_ledger_records(tmp_path, fake_openai, second_openai, spans):
    root = _project(tmp_path, fake_openai, second_openai)
    fake_openai.fail("500", times=1)
    with Client(root) as client:
        reply = client.complete("t", text="yes please", trace="run-7", step="route")
        client.ledger.flush()
    assert reply.outcome == "fallback"
    failed, answered = spans.get_finished_spans()
    assert (failed.name, answered.name) == ("chat cheap-model", "chat strong-model")
    assert failed.kind == trace.SpanKind.CLIENT
    a, b = _attrs(failed), _attrs(answered)
    for attrs, model in ((a, "cheap-model"), (b, "strong-model")):
        assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.provider.name"] == "openai"
        assert attrs["gen_ai.system"] == "openai" and attrs["gen_ai.request.model"] == model
        assert attrs["gen_ai.request.max_tokens"] == 7 and attrs["gen_ai.request.temperature"] == 0.25
        assert attrs["server.address"] == "127.0.0.1" and isinstance(attrs["server.port"], int)
        assert attrs["tierwise.task"] == "t" and attrs["tierwise.call_id"] == reply.call_id
        assert (attrs["tierwise.trace"], attrs["tierwise.step"], attrs["tierwise.shadow"]) == ("run-7", "route", False)
    assert (a["tierwise.attempt.number"], a["tierwise.attempt.kind"], a["tierwise.outcome"], a["tierwise.final"]) == \
        (1, "primary", "error", False)
    assert a["error.type"] == "InternalServerError" and failed.status.status_code == StatusCode.ERROR
    assert "tierwise.cost_usd" not in a and "gen_ai.usage.input_tokens" not in a
    assert (b["tierwise.attempt.number"], b["tierwise.attempt.kind"], b["tierwise.outcome"], b["tierwise.final"]) == \
        (2, "fallback", "ok", True)
    assert (b["gen_ai.usage.input_tokens"], b["gen_ai.usage.output_tokens"]) == (reply.prompt_tokens,
                                                                               reply.completion_tokens)
    assert b["tierwise.cost_usd"] == pytest.approx(reply.cost) and answered.status.status_code == StatusCode.UNSET
    assert (a["tierwise.model"], a["tierwise.target"]) == ("cheap", "openai/cheap-model")
    # Each span starts when the ledger says the attempt started and lasts its recorded latency.
    for span, row in zip((failed, answered), _ledger(root)):
        assert span.start_time == pytest.approx(row["at"] * 1e9, abs=1_000)
        assert (span.end_time - span.start_time) / 1e6 == pytest.approx(row["latency_ms"], abs=1e-3)


def test_a_broken_contract_is_a_span_with_its_reason_not_an_error(tmp_path, fake_openai, second_openai, spans):
    fake_openai.responder = lambda body: "maybe"
    root = _project(tmp_path, fake_openai, second_openai, spec_kw={"output": {"choices": ["yes", "no"]}})
    with Client(root, ledger=False) as client:
        reply = client.complete("t", text="yes")
    assert reply.outcome == "escalated"
    rejected, answered = (_attrs(s) for s in spans.get_finished_spans())
    assert rejected["tierwise.outcome"] == "contract_failed" and "not one of the choices" in \
        rejected["tierwise.contract_reason"]
    assert "error.type" not in rejected and rejected["tierwise.cost_usd"] > 0
    assert answered["tierwise.attempt.kind"] == "escalation"


def test_a_python_rule_is_a_span_of_its_own_provider(tmp_path, fake_openai, second_openai, spans):
    root = _project(tmp_path, fake_openai, second_openai)
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": {"model": "python:rules:echo"}}}))
    with Client(root, ledger=False) as client:
        assert client.complete("t", text="yes").output == "yes"
    (span,) = spans.get_finished_spans()
    attrs = _attrs(span)
    assert span.name == "chat rules:echo"
    assert (attrs["gen_ai.provider.name"], attrs["gen_ai.request.model"], attrs["tierwise.model"]) == \
        ("python", "rules:echo", "rule")


def test_spans_are_children_of_the_span_current_at_the_call_sync_and_async(tmp_path, fake_openai, second_openai, spans):
    root = _project(tmp_path, fake_openai, second_openai)
    tracer = trace.get_tracer("the-application")
    with Client(root, ledger=False) as client:
        with tracer.start_as_current_span("handle request") as outer:
            client.complete("t", text="yes")

        async def handler():
            with tracer.start_as_current_span("async request") as inner:
                await client.acomplete("t", text="no")
            return inner

        inner = asyncio.run(handler())
    by_name = {}
    for s in spans.get_finished_spans():
        by_name.setdefault(s.name, []).append(s)
    sync_call, async_call = by_name["chat cheap-model"]
    assert sync_call.parent.span_id == outer.get_span_context().span_id
    assert sync_call.context.trace_id == outer.get_span_context().trace_id
    assert async_call.parent.span_id == inner.get_span_context().span_id


def test_spans_carry_no_prompt_or_output_without_capture_and_redacted_text_with_it(tmp_path, fake_openai, second_openai,
                                                                                  spans):
    fake_openai.responder = lambda body: f"maybe {SECRET}"  # breaks the contract: escalates
    second_openai.fail("echo_auth", times=None)  # an error message that quotes the key
    root = _project(tmp_path, fake_openai, second_openai, spec_kw={"output": {"choices": ["yes", "no"]}})
    with Client(root, ledger=False) as client:
        client.complete("t", text=f"private text {SECRET}")
    plain = spans.get_finished_spans()
    assert len(plain) == 2
    for span in plain:
        attrs = _attrs(span)
        assert not any(k.startswith("gen_ai.input") or k.startswith("gen_ai.output.messages") or k == "tierwise.input"
                       for k in attrs)
        assert "private text" not in json.dumps(attrs) and SECRET not in json.dumps(attrs)
        assert SECRET not in (span.status.description or "")
    assert plain[1].status.status_code == StatusCode.ERROR and plain[1].status.description
    spans.clear()
    with Client(root, ledger=False, capture=True) as client:
        client.complete("t", text=f"private text {SECRET}")
    captured = _attrs(spans.get_finished_spans()[0])
    assert json.loads(captured["tierwise.input"]) == {"text": "private text <TW_FAKE_KEY>"}
    (message,) = json.loads(captured["gen_ai.output.messages"])
    assert message == {"role": "assistant", "parts": [{"type": "text", "content": "maybe <TW_FAKE_KEY>"}]}
    assert SECRET not in json.dumps(captured)


def test_shadow_calls_are_spans_marked_shadow_with_the_production_call_id(tmp_path, fake_openai, second_openai, spans):
    second_openai.responder = lambda body: "no"
    root = _project(tmp_path, fake_openai, second_openai, shadow={"t": {"challenger": "strong", "rate": 1.0}})
    with Client(root, shadow_seed=1) as client:
        reply = client.complete("t", text="yes")
        assert client.shadow.drain(10)
    by_shadow = {s.attributes["tierwise.shadow"]: _attrs(s) for s in spans.get_finished_spans()}
    production, shadow = by_shadow[False], by_shadow[True]
    assert production["tierwise.call_id"] == shadow["tierwise.call_id"] == reply.call_id
    assert (shadow["gen_ai.request.model"], shadow["tierwise.incumbent"], shadow["tierwise.agree"]) == \
        ("strong-model", "cheap", False)
    assert shadow["tierwise.attempt.kind"] == "shadow" and shadow["tierwise.cost_usd"] > 0


def test_a_failing_tracer_never_fails_a_call_and_is_counted(tmp_path, fake_openai, second_openai, spans):
    class Broken:
        def start_span(self, *a, **k):
            raise RuntimeError(f"exporter down {SECRET}")

    root = _project(tmp_path, fake_openai, second_openai)
    with Client(root, ledger=False) as client:
        client.telemetry._tracer = Broken()
        reply = client.complete("t", text="yes")
        stats = client.telemetry.stats()
    assert reply.outcome == "ok" and stats.failed == 1 and stats.emitted == 0
    assert SECRET not in stats.last_error and "exporter down" in stats.last_error


def test_without_opentelemetry_the_client_imports_none_of_it(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    script = textwrap.dedent(f"""
        import sys
        class Hide:  # opentelemetry is not installed, as far as this process can tell
            def find_spec(self, name, path=None, target=None):
                if name == "opentelemetry" or name.startswith("opentelemetry."):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, Hide())
        from harness import Client
        with Client({str(root)!r}, ledger=False) as client:
            reply = client.complete("t", text="yes")
        print(reply.outcome, client.telemetry, sorted(m for m in sys.modules if m.startswith("opentelemetry")))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[:2] == ["ok", "None"] and out.stdout.strip().endswith("[]")
