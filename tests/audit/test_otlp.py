"""`tierwise audit --from` on OTLP/JSON trace exports (audit/_otlp.py): the client's own spans read back
give the ledger's figures; other instrumentations' GenAI spans are read by a task attribute; every
hostile export is one clean located error (exit 2 through the CLI) or the right figures."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import Client, load_project
from harness.audit import UsageError, _read
from harness.commands import audit
from tests.fake_openai import FakeOpenAI
from tests.otelfix import span_exporter, write_otlp
from tests.projfix import spec, write_project

T0 = 1_740_000_000 * 10**9  # 2025-02-19, in nanoseconds


def _attr(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, dict):
        return {"key": key, "value": value}
    return {"key": key, "value": {"stringValue": value}}


def _span(i: int = 0, *, ms: float = 120.0, status: int | None = None, raw: dict | None = None, **attrs) -> dict:
    """A GenAI chat span as an instrumentation of the OpenAI SDK writes it (no tierwise.* unless given)."""
    values = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
              "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}
    values.update(attrs)
    span = {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": "chat gpt-4o-mini", "kind": 3,
            "startTimeUnixNano": str(T0 + i * 10**9), "endTimeUnixNano": str(T0 + i * 10**9 + int(ms * 1e6)),
            "attributes": [_attr(k, v) for k, v in values.items() if v is not None]}
    if status is not None:
        span["status"] = {"code": status}
    span.update(raw or {})
    return span


def _doc(*spans: dict, resource: dict | None = None) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [_attr(k, v) for k, v in (resource or {}).items()]},
                               "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai"},
                                               "spans": list(spans)}]}]}


def _line(*spans: dict, **kw) -> bytes:
    return json.dumps(_doc(*spans, **kw)).encode() + b"\n"


# (id, file name, content, task attribute, expected): expected is a regex the one-line error matches
# after the file's name, or ("ok", total spend, calls).
CASES = [
    ("not-an-object-line", "t.jsonl", _line(_span(task="a")) + b'{"resourceSpans": 3}\n', "task",
     r":2:resourceSpans: must be a list"),
    ("invalid-json-line", "t.jsonl", _line(_span(task="a")) + b'{"resourceSpans": [oops\n', "task",
     r":2: the line: invalid JSON"),
    ("scope-spans-dict", "t.jsonl", b'{"resourceSpans": [{"scopeSpans": {"a": 1}}]}\n', "task",
     r":1:resourceSpans\[0\]: scopeSpans: must be a list, not dict"),
    ("span-a-string", "t.jsonl", b'{"resourceSpans": [{"scopeSpans": [{"spans": ["x"]}]}]}\n', "task",
     r":1:resourceSpans\[0\].scopeSpans\[0\].spans\[0\]: must be a JSON object, not str"),
    ("attributes-dict", "t.jsonl", _line(_span(raw={"attributes": {"task": "a"}})), "task",
     r":1:resourceSpans\[0\].scopeSpans\[0\].spans\[0\]: attributes: must be a list"),
    ("attribute-key-int", "t.jsonl", _line(_span(raw={"attributes": [{"key": 7, "value": {}}]})), "task",
     r":1:.*spans\[0\]: attributes\[0\]: must be an object with a string key"),
    ("int-value-text", "t.jsonl", _line(_span(task="a", **{"gen_ai.usage.input_tokens": {"intValue": "ten"}})),
     "task", r":1:.*spans\[0\]: attributes\[.\] \(gen_ai.usage.input_tokens\): intValue 'ten' is not a whole"),
    ("tokens-negative", "t.jsonl", _line(_span(task="a", **{"gen_ai.usage.input_tokens": -5})), "task",
     r":1:.*: input_tokens: -5 is outside 0 to"),
    ("tokens-array", "t.jsonl", _line(_span(task="a", **{"gen_ai.usage.output_tokens": {"arrayValue": {}}})),
     "task", r":1:.*: gen_ai.usage.output_tokens: an array is not a number"),
    ("cost-negative", "t.jsonl", _line(_span(task="a", **{"tierwise.cost_usd": -1.0})), "task",
     r":1:.*: tierwise.cost_usd: -1 is outside 0 to 1,000,000"),
    ("cost-nan-string", "t.jsonl", _line(_span(task="a", **{"tierwise.cost_usd": {"doubleValue": "NaN"}})), "task",
     r":1:.*: tierwise.cost_usd: nan is not a finite number"),
    ("cost-infinity-literal", "t.jsonl",
     _line(_span(task="a")).replace(b'"intValue": "20"', b'"doubleValue": Infinity'), "task",
     r":1: Infinity is not a number JSON allows"),
    ("double-bool", "t.jsonl", _line(_span(task="a", **{"tierwise.cost_usd": {"doubleValue": True}})), "task",
     r":1:.*: doubleValue True is not a number"),
    ("string-value-int", "t.jsonl", _line(_span(task={"stringValue": 5})), "task",
     r":1:.*\(task\): stringValue 5 is not a str"),
    ("end-before-start", "t.jsonl", _line(_span(task="a", raw={"endTimeUnixNano": str(T0 - 1)})), "task",
     r":1:.*: endTimeUnixNano is before startTimeUnixNano"),
    ("start-year-2300", "t.jsonl", _line(_span(task="a", raw={"startTimeUnixNano": str(10_400_000_000 * 10**9),
                                                             "endTimeUnixNano": str(10_400_000_001 * 10**9)})),
     "task", r":1:.*: startTimeUnixNano: .* is not a time between 1970 and 2200"),
    ("start-time-float-text", "t.jsonl", _line(_span(task="a", raw={"startTimeUnixNano": "1.5e18"})), "task",
     r":1:.*: startTimeUnixNano: intValue '1.5e18' is not a whole number"),
    ("duration-weeks", "t.jsonl", _line(_span(task="a", ms=8 * 86400 * 1000.0)), "task",
     r":1:.*: the span's duration \(ms\): .* is outside 0 to"),
    ("task-300-chars", "t.jsonl", _line(_span(task="t" * 300)), "task", r":1:.*: task: 300 characters, over 200"),
    ("task-kvlist", "t.jsonl", _line(_span(task={"kvlistValue": {"values": []}})), "task",
     r":1:.*: task: <key/value list> is not text"),
    ("no-task-attribute", "t.jsonl", _line(_span()), "app.task",
     r":1:.*spans\[0\]: no 'app.task' attribute on this chat span nor on its resource"),
    ("no-model", "t.jsonl", _line(_span(task="a", **{"gen_ai.request.model": None})), "task",
     r":1:.*: no model: neither tierwise.model nor gen_ai.request.model"),
    ("outcome-unknown", "t.jsonl", _line(_span(task="a", **{"tierwise.outcome": "exploded"})), "task",
     r":1:.*: tierwise.outcome: 'exploded' is not one of ok, error"),
    ("final-text", "t.jsonl", _line(_span(task="a", **{"tierwise.final": "yes"})), "task",
     r":1:.*: tierwise.final: must be a boolValue"),
    ("status-list", "t.jsonl", _line(_span(task="a", raw={"status": [2]})), "task", r":1:.*: status: must be an obj"),
    ("span-depth-40", "t.jsonl", _line(_span(task="a", raw={"events": json.loads("[" * 40 + "]" * 40)})), "task",
     r":1:.*spans\[0\]: nested deeper than 32 levels"),
    ("doc-nested-100k", "t.jsonl", b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "task",
     r":1: the line: nested deeper than JSON can be read"),
    ("string-over-128KiB", "t.jsonl", _line(_span(task="a", note="x" * (200 * 1024))), "task",
     r":1:.*spans\[0\]: a string over 128 KiB"),
    ("no-price", "t.jsonl", _line(_span(task="a", **{"gen_ai.request.model": "nowhere-xyz"})), "task",
     r":1:.*: no cost and no price known for model 'nowhere-xyz'"),
    ("non-utf8-line-2", "t.jsonl", _line(_span(task="a")) + b'{"resourceSpans": ["\xc3\x28"]}\n', "task",
     r":2: not UTF-8"),
    ("doc-invalid-json", "t.json", b'{"resourceSpans": [\n  {oops}\n]}', "task", r": the document: invalid JSON"),
    ("doc-resource-spans-text", "t.json", b'{\n  "resourceSpans": "all of them"\n}', "task",
     r": not an OTLP/JSON trace export"),
    ("doc-bad-span-named-by-place", "t.json",
     json.dumps(_doc(_span(0, task="a"), _span(1, task="a", **{"tierwise.cost_usd": -2.0})), indent=1).encode(),
     "task", r":resourceSpans\[0\].scopeSpans\[0\].spans\[1\]: tierwise.cost_usd: -2 is outside"),
    ("only-foreign-spans-no-task", "t.jsonl", _line(_span()), None,
     r": no usage rows: not counted: 1 model-call spans without tierwise.task .*; fix: pass --task-attribute"),
    ("only-http-spans", "t.jsonl", _line(_span(**{"gen_ai.operation.name": None, "gen_ai.request.model": None})),
     None, r": no usage rows \(not counted: 1 spans that are no model call\)"),
    # accepted, with the right figures (gpt-4o-mini at LiteLLM's price map where no cost is given)
    ("cost-given", "t.jsonl", _line(_span(task="a", **{"tierwise.cost_usd": 0.25})), "task", ("ok", 0.25, 1)),
    ("proto-field-names", "t.jsonl", json.dumps({"resource_spans": [{"scope_spans": [{"spans": [
        {"start_time_unix_nano": str(T0), "end_time_unix_nano": str(T0 + 10**6), "attributes": [
            _attr("gen_ai.operation.name", "chat"), _attr("gen_ai.request.model", "m"), _attr("task", "a"),
            {"key": "tierwise.cost_usd", "value": {"double_value": 0.5}}]}]}]}]}).encode() + b"\n", "task",
     ("ok", 0.5, 1)),
    ("int-as-number", "t.jsonl", _line(_span(task="a", **{"tierwise.cost_usd": 0.1,
                                                          "gen_ai.usage.input_tokens": {"intValue": 7}})),
     "task", ("ok", 0.1, 1)),
    ("failed-call-no-usage", "t.jsonl", _line(_span(task="a", status=2, **{"gen_ai.usage.input_tokens": None,
                                                                           "gen_ai.usage.output_tokens": None})),
     "task", ("ok", 0.0, 1)),
    ("task-on-the-resource", "t.jsonl", _line(_span(**{"tierwise.cost_usd": 0.5}), resource={"task": "svc"}), "task",
     ("ok", 0.5, 1)),
    ("unknown-fields-ignored", "t.jsonl", _line(_span(task="a", raw={"flags": 257, "droppedEventsCount": "0",
                                                                     "whatever": {"x": [1]}},
                                                      **{"tierwise.cost_usd": 0.5})), "task", ("ok", 0.5, 1)),
    ("bom-and-json-suffix-lines", "t.json", b"\xef\xbb\xbf" + _line(_span(0, task="a", **{"tierwise.cost_usd": 0.5}))
     + _line(_span(1, task="a", **{"tierwise.cost_usd": 0.5})), "task", ("ok", 1.0, 2)),
]


@pytest.mark.parametrize("name, filename, content, task_attribute, expected", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_otlp_export_is_one_clean_error_or_the_right_figures(tmp_path, name, filename, content,
                                                                       task_attribute, expected):
    path = tmp_path / filename
    path.write_bytes(content)
    if isinstance(expected, tuple):
        result = audit(tmp_path / "no-project", source=path, recommendation=False, task_attribute=task_attribute)
        assert (result.spend, result.calls) == (pytest.approx(expected[1]), expected[2])
        return
    with pytest.raises(UsageError) as caught:
        audit(tmp_path / "no-project", source=path, recommendation=False, task_attribute=task_attribute)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 400, message
    import re

    assert re.match(expected, message[len(str(path)):]), message


def test_the_otlp_table_tries_at_least_thirty_hostile_inputs():
    assert sum(isinstance(c[4], str) for c in CASES) >= 30


def test_foreign_spans_priced_from_the_price_map_and_spans_that_are_not_usage_are_noted(tmp_path):
    path = tmp_path / "t.jsonl"
    http = _span(5, **{"gen_ai.operation.name": None, "gen_ai.request.model": None, "http.method": "POST"})
    agent = _span(6, task="triage", **{"gen_ai.operation.name": "invoke_agent"})
    shadow = _span(7, task="triage", **{"tierwise.task": "triage", "tierwise.shadow": True})
    path.write_bytes(_line(_span(0, task="triage"), _span(1, task="triage", status=2), http, agent, shadow))
    usage = _read.read_usage(path, _price_gpt_4o_mini, task_attribute="task")
    ok, failed = usage.rows
    assert (ok["task"], ok["model"], ok["prompt_tokens"], ok["completion_tokens"], ok["outcome"]) == \
        ("triage", "gpt-4o-mini", 100, 20, "ok")
    assert ok["cost"] == pytest.approx(100 * 0.15e-6 + 20 * 0.6e-6) and ok["latency_ms"] == pytest.approx(120.0)
    assert ok["at"] == pytest.approx(T0 / 1e9) and ok["call_id"] == f"{1:032x}:{1:016x}"
    assert failed["outcome"] == "error"
    (note,) = usage.notes()
    assert note == ("not counted: 2 spans that are no model call, 1 shadow calls (tierwise.shadow; their spend is in "
                    "the shadow rows, not the usage)")


def test_skip_bad_skips_and_counts_bad_spans(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(_line(_span(0, task="a", **{"tierwise.cost_usd": 0.5}),
                           _span(1, task="a", **{"tierwise.cost_usd": -1.0})) + b"{oops\n")
    usage = _read.read_usage(path, skip_bad=True, task_attribute="task")
    assert len(usage.rows) == 1 and usage.skipped == 2
    assert usage.notes()[0].startswith(f"skipped 2 bad rows (--skip-bad); the first: {path}:1:resourceSpans[0]"
                                       f".scopeSpans[0].spans[1]: tierwise.cost_usd: -1 is outside")


def test_more_spans_than_the_bound_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_read, "MAX_ROWS", 3)
    path = tmp_path / "t.jsonl"
    path.write_bytes(_line(*[_span(i, task="a", **{"tierwise.cost_usd": 0.1}) for i in range(4)]))
    with pytest.raises(UsageError, match=r"t.jsonl: more than 3 rows"):
        _read.read_usage(path, skip_bad=True, task_attribute="task")


def test_task_attribute_on_an_export_that_is_not_otlp_is_refused(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("task,model,cost\nt,m,1\n")
    with pytest.raises(UsageError, match=r"u.csv: --task-attribute applies to OTLP trace exports"):
        audit(tmp_path, source=path, recommendation=False, task_attribute="task")


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(Path(__file__).parents[2]), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin"}
    return subprocess.run([sys.executable, "-m", "harness.cli", "audit", "--project", str(root), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name", ["tokens-negative", "doc-nested-100k", "no-task-attribute"])
def test_through_the_cli_a_hostile_otlp_export_exits_2_with_one_line(tmp_path, name):
    _, filename, content, task_attribute, expected = next(c for c in CASES if c[0] == name)
    path = tmp_path / filename
    path.write_bytes(content)
    proc = _cli(tmp_path, "--from", str(path), "--task-attribute", task_attribute)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    import re

    assert line.startswith(f"error: {path}") and re.match(expected, line[len(f"error: {path}"):]), line


def _price_gpt_4o_mini(model: str, pt: int, ct: int) -> float | None:
    return pt * 0.15e-6 + ct * 0.6e-6 if model == "gpt-4o-mini" else None


# -- the round trip: the client's spans, exported, give the ledger's figures ---------------------


@pytest.fixture
def backup():
    with FakeOpenAI() as server:
        yield server


def _project(root: Path, primary: FakeOpenAI, backup: FakeOpenAI) -> Path:
    def model(server, name):
        return {"litellm": f"openai/{name}", "api_base": server.base_url, "api_key": "none",
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}

    models = {"cheap": model(primary, "cheap-model"), "strong": model(backup, "strong-model"),
              "rule": {"python": "rules:echo", "price": {"per_call": 0.001}}}
    specs = {"t": spec(candidates=["cheap", "strong"], output={"choices": ["yes", "no"]},
                       params={"temperature": 0, "max_tokens": 8}, prompt={"system": "yes or no", "user": "{{ text }}"}),
             "r": spec("r", candidates=["rule"])}
    write_project(root, models=models, config={"retries": 0, "retry_backoff_s": 0.01, "timeout_s": 5}, specs=specs,
                  golden={"t": [{"id": "c1", "vars": {"text": "yes"}, "expected": "yes"}],
                          "r": [{"id": "c1", "vars": {"text": "x"}, "expected": "x"}]})
    registry = {"t": {"model": "openai/cheap-model", "fallbacks": ["openai/strong-model"]},
                "r": {"model": "python:rules:echo"}}
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": registry}))
    return root


@pytest.mark.parametrize("lines", [False, True], ids=["one-document", "one-request-a-line"])
def test_the_clients_spans_exported_as_otlp_give_the_ledgers_figures(tmp_path, fake_openai, backup, lines):
    spans = span_exporter()
    fake_openai.responder = lambda body: "maybe" if "odd" in json.dumps(body) else "yes"  # odd inputs escalate
    root = _project(tmp_path, fake_openai, backup)
    with Client(root) as client:
        for i in range(12):
            if i == 5:
                fake_openai.fail("500", times=2)  # two calls fall back to the strong model
            client.complete("t", text=f"{'odd' if i % 3 == 0 else 'even'} {i}", trace=f"run-{i % 4}", step="decide")
            client.complete("r", text=f"w{i}", trace=f"run-{i % 4}", step="rule")
        client.complete("t", text="no trace")
        backup.fail("500", times=None)
        fake_openai.fail("500", times=1)
        assert client.complete("t", text="unanswered").outcome == "error"
        assert client.ledger.flush()
    ours = {r["call_id"] for r in _read.from_ledger(load_project(root).store_url())}  # another test's late span is not
    mine = [s for s in spans.get_finished_spans() if s.attributes.get("tierwise.call_id") in ours]
    path = write_otlp(tmp_path / ("spans.jsonl" if lines else "spans.json"), mine, lines)
    from_ledger = audit(root, recommendation=False)
    from_spans = audit(root, source=path, recommendation=False)
    assert from_spans.source == str(path) and from_ledger.calls == 26 and from_ledger.attempts > 26
    ledger, exported = dataclasses.asdict(from_ledger), dataclasses.asdict(from_spans)
    for key in ("source", "monitors", "notes"):
        ledger.pop(key), exported.pop(key)
    assert _approx(exported, ledger)
    figures = {t.task: t for t in from_spans.tasks}
    assert figures["t"].fallback_rate > 0 and figures["t"].escalation_rate > 0 and figures["t"].error_rate > 0
    assert figures["t"].contract_failures >= 4 and from_spans.pipelines.runs == 4


def _approx(a, b) -> bool:
    """Equal, floats within a microsecond's worth (a span's times are whole nanoseconds)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_approx(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_approx(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-3)
    assert a == b, (a, b)
    return True
