"""The runtime client through LiteLLM against two loopback servers (primary and backup)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import yaml

from harness import Client, RegistryError, SpecError
from harness.client import LedgerWriter
from harness.store import Store
from tests.fake_openai import FakeOpenAI, catalog_entry, last_user_text
from tests.projfix import spec, write_project

SECRET = "sk-test-NEVER-IN-THE-LEDGER-1234567890"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", SECRET)


RULES = '''
import os

def leak(vars):
    raise RuntimeError("bad key " + os.environ["TW_FAKE_KEY"])
'''


_model = partial(catalog_entry, api_key_env="TW_FAKE_KEY")


def _project(tmp_path: Path, primary: FakeOpenAI, second_openai: FakeOpenAI, *, registry: dict | None = None,
             spec_kw: dict | None = None, primary_extra: dict | None = None) -> Path:
    models = {"cheap": _model(primary, "cheap-model", **(primary_extra or {})),
              "strong": _model(second_openai, "strong-model"), "leaky": {"python": "rules:leak"}}
    kw = {"candidates": ["cheap", "strong", "leaky"], "params": {"temperature": 0, "max_tokens": 16},
          "prompt": {"system": "Answer yes or no.", "user": "{{ text }}",
                     "variants": {"cheap": {"system": "CHEAP VARIANT: answer yes or no."}}}}
    kw.update(spec_kw or {})
    write_project(tmp_path, models=models, config={"retries": 2, "retry_backoff_s": 0.01, "timeout_s": 5},
                  specs={"t": spec(**kw)}, golden={"t": [{"id": "c1", "vars": {"text": "yes"}, "expected": "yes"}]},
                  files={"rules.py": RULES})
    entry = {"model": "openai/cheap-model", "fallbacks": ["openai/strong-model"], "max_tokens": 7,
             "temperature": 0.25}
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": registry or entry}}))
    return tmp_path


def _client(root: Path, **kw) -> Client:
    kw.setdefault("cooldown_s", 30.0)
    return Client(root, **kw)


def _ledger(root: Path) -> list[dict]:
    with Store(f"sqlite:///{root / '.tierwise' / 'results.db'}") as db:
        return db.usage_rows()


def test_calls_the_registry_model_with_its_params_and_the_variant_that_earned_the_evidence(tmp_path, fake_openai,
                                                                                           second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    with _client(root) as client:
        reply = client.complete("t", text="yes please")
    assert (reply.output, reply.parsed, reply.model, reply.target, reply.outcome) == \
        ("yes", "yes", "cheap", "openai/cheap-model", "ok")
    (body,) = fake_openai.requests
    assert body["model"] == "cheap-model" and body["max_tokens"] == 7 and body["temperature"] == 0.25
    assert body["messages"][0] == {"role": "system", "content": "CHEAP VARIANT: answer yes or no."}
    assert last_user_text(body) == "yes please" and second_openai.count == 0
    assert reply.prompt_tokens == 8 and reply.completion_tokens == 1
    assert reply.cost == pytest.approx(8 * 1e-6 + 1 * 2e-6)


def test_the_fallback_gets_the_default_prompt_not_the_primarys_variant(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    fake_openai.fail("500", times=None)
    with _client(root, ledger=False) as client:
        reply = client.complete("t", text="no thanks")
    assert reply.model == "strong" and reply.outcome == "fallback"
    (body,) = second_openai.requests
    assert body["messages"][0]["content"] == "Answer yes or no." and body["max_tokens"] == 7


@pytest.mark.parametrize("fault", ["500", "429", "stall"])
def test_a_provider_failure_falls_back_and_rests_the_failing_model(tmp_path, fake_openai, second_openai, fault):
    root = _project(tmp_path, fake_openai, second_openai, primary_extra={"timeout_s": 1})
    fake_openai.fail(fault, times=None, retry_after=60 if fault == "429" else None, stall_seconds=10)
    with _client(root) as client:
        first = client.complete("t", text="yes one")
        second = client.complete("t", text="no two")
        client.ledger.flush()
    assert first.output == "yes" and first.model == "strong" and first.outcome == "fallback"
    assert [(a.kind, a.outcome) for a in first.attempts] == [("primary", "error"), ("fallback", "ok")]
    # Resting: the second call goes straight to the backup; the primary was called once, not retried.
    assert fake_openai.count == 1 and second_openai.count == 2
    assert second.model == "strong" and [a.kind for a in second.attempts] == ["fallback"]
    if fault == "stall":
        assert 900 <= first.attempts[0].latency_ms < 5000
    rows = _ledger(root)
    assert [(r["model"], r["kind"], r["outcome"], r["final"]) for r in rows] == [
        ("cheap", "primary", "error", False), ("strong", "fallback", "ok", True), ("strong", "fallback", "ok", True)]
    assert rows[0]["error_type"] in {"InternalServerError", "RateLimitError", "Timeout"}
    assert rows[0]["call_id"] == rows[1]["call_id"] != rows[2]["call_id"]


def test_a_rested_model_is_called_again_once_its_cooldown_ends(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    fake_openai.fail("500", times=1)
    with _client(root, ledger=False, cooldown_s=0.3) as client:
        assert client.complete("t", text="yes").model == "strong"
        assert client.complete("t", text="yes").model == "strong"
        time.sleep(0.35)
        again = client.complete("t", text="yes")
    assert again.model == "cheap" and again.outcome == "ok" and fake_openai.count == 2


def test_the_last_model_in_the_chain_is_retried_before_giving_up(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    fake_openai.fail("500", times=None)
    second_openai.fail("500", times=2)
    with _client(root, ledger=False) as client:
        reply = client.complete("t", text="yes")
    assert reply.model == "strong" and second_openai.count == 3  # retries: 2 on the last model


def test_every_model_failing_returns_an_error_reply_not_an_exception(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    fake_openai.fail("500", times=None)
    second_openai.fail("500", times=None)
    with _client(root, ledger=False) as client:
        reply = client.complete("t", text="yes")
    assert reply.outcome == "error" and not reply.ok and reply.output is None
    assert "cheap: InternalServerError" in reply.error and "strong: InternalServerError" in reply.error


def test_an_output_outside_the_choices_escalates_to_the_next_model_and_says_why(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, spec_kw={"output": {"choices": ["yes", "no"]}})
    fake_openai.responder = lambda body: "perhaps"
    with _client(root) as client:
        reply = client.complete("t", text="yes")
        again = client.complete("t", text="no")
        client.ledger.flush()
    assert reply.output == "yes" and reply.parsed == "yes" and reply.outcome == "escalated"
    assert [(a.kind, a.outcome, a.reason) for a in reply.attempts] == [
        ("primary", "contract_failed", "not one of the choices"), ("escalation", "ok", None)]
    assert again.attempts[0].model == "cheap"  # a broken contract does not rest the model
    rows = _ledger(root)
    assert [(r["kind"], r["outcome"], r["contract_reason"]) for r in rows[:2]] == [
        ("primary", "contract_failed", "not one of the choices"), ("escalation", "ok", None)]
    assert rows[0]["cost"] == pytest.approx(rows[0]["prompt_tokens"] * 1e-6 + 1 * 2e-6)  # a paid-for bad answer


SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
          "additionalProperties": False}


def test_json_output_is_parsed_and_a_schema_violation_escalates(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, spec_kw={"output": {"json_schema": SCHEMA},
                                                            "graders": [{"type": "json"}]})
    fake_openai.responder = lambda body: '{"n": "seven"}'
    second_openai.responder = lambda body: 'Here: ```json\n{"n": 7}\n```'
    with _client(root, ledger=False) as client:
        reply = client.complete("t", text="count")
    assert reply.parsed == {"n": 7} and reply.model == "strong"
    assert reply.attempts[0].reason == "schema violation at $.n (type)"
    assert "seven" not in reply.attempts[0].reason  # reasons are stored; they never quote the output


def test_a_custom_check_escalates_and_its_reason_is_recorded(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    fake_openai.responder = lambda body: "no"

    def must_agree(output, parsed):
        return None if output == "yes" else "the answer must be yes"

    with _client(root, ledger=False, checks={"t": must_agree}) as client:
        reply = client.complete("t", text="yes")
        per_call = client.complete("t", text="yes", check=lambda out, parsed: out != "yes")
    assert reply.model == "strong" and reply.attempts[0].reason == "check must_agree: the answer must be yes"
    assert per_call.outcome == "contract_failed" and per_call.output == "yes" and not per_call.ok


def test_many_concurrent_calls_from_tasks_and_threads_all_return_and_are_all_ledgered(tmp_path, fake_openai,
                                                                                      second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    fake_openai.delay = 0.01
    client = _client(root)

    async def many():
        return await asyncio.gather(*(client.acomplete("t", text=f"yes {i}", trace=f"r{i % 5}") for i in range(120)))

    replies = asyncio.run(many())
    threaded: list = []

    def worker(k):
        threaded.extend(client.complete("t", text=f"no {k}-{i}") for i in range(10))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.ledger.flush(10)
    client.close()
    assert [r.output for r in replies] == ["yes"] * 120 and [r.output for r in threaded] == ["no"] * 60
    rows = _ledger(root)
    assert len(rows) == 180 and len({r["call_id"] for r in rows}) == 180
    assert sum(r["trace"] == "r3" for r in rows) == 24


def test_complete_works_inside_a_running_event_loop(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    client = _client(root, ledger=False)

    async def inside():
        sync = client.complete("t", text="yes")  # e.g. called from sync code inside an async app
        return sync, await client.acomplete("t", text="no")

    sync, awaited = asyncio.run(inside())
    client.close()
    assert (sync.output, awaited.output) == ("yes", "no")


def test_calls_return_while_the_store_is_down_and_the_rows_are_written_when_it_is_back(tmp_path, fake_openai,
                                                                                       second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    blocker = tmp_path / "down"
    blocker.write_text("a file where the store's folder should be")
    writer = LedgerWriter(f"sqlite:///{blocker / 'ledger.db'}", retry_s=0.05, max_retry_s=0.1, flush_s=0.05)
    client = _client(root, ledger=writer)
    replies = [client.complete("t", text="yes", trace="x") for _ in range(5)]
    assert all(r.ok for r in replies)
    assert not writer.flush(0.5)
    stats = writer.stats()
    assert stats.pending == 5 and stats.written == 0 and stats.last_error
    blocker.unlink()
    blocker.mkdir()  # the store comes back
    assert writer.flush(5)
    client.close()
    with Store(f"sqlite:///{blocker / 'ledger.db'}") as db:
        assert len(db.usage_rows()) == 5
    assert writer.stats().written == 5 and writer.stats().dropped == 0


def test_a_full_buffer_drops_and_counts_rows_and_never_raises(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    blocker = tmp_path / "down"
    blocker.write_text("")
    writer = LedgerWriter(f"sqlite:///{blocker / 'x.db'}", max_buffer=3, retry_s=0.05)
    client = _client(root, ledger=writer)
    replies = [client.complete("t", text="yes") for _ in range(8)]
    stats = writer.stats()
    client.close(timeout=0.2)  # the store is still down: closing gives up on the rows, it does not hang
    assert all(r.ok for r in replies)
    assert stats.pending == 3 and stats.dropped == 5 and stats.written == 0
    assert client.ledger_not_written == 8  # the 3 queued are lost at close


def test_no_text_is_stored_unless_captured_and_never_a_key(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai,
                    registry={"model": "python:rules:leak", "fallbacks": ["openai/cheap-model"]})
    with _client(root) as client:
        reply = client.complete("t", text="yes confidential words")
    assert reply.model == "cheap" and "<TW_FAKE_KEY>" in reply.attempts[0].reason
    rows = _ledger(root)
    assert [r["input"] for r in rows] == [None, None] and [r["output"] for r in rows] == [None, None]
    assert rows[0]["error"].endswith("bad key <TW_FAKE_KEY>")
    with _client(root, capture=True) as client:
        client.complete("t", text="yes captured words")
    captured = _ledger(root)[-1]
    assert json.loads(captured["input"]) == {"text": "yes captured words"} and captured["output"] == "yes"
    data = (root / ".tierwise" / "results.db").read_bytes()
    for path in (root / ".tierwise").iterdir():
        data += path.read_bytes()
    assert SECRET.encode() not in data and b"confidential" not in data


def test_unknown_tasks_missing_entries_and_missing_variables_are_clear_errors(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    (root / "registry.yaml").write_text("tasks: {}\n")
    with _client(root, ledger=False) as client:
        with pytest.raises(SpecError, match="unknown task 'nope'; known: t"):
            client.complete("nope", text="x")
        with pytest.raises(RegistryError, match=r"tasks.t: no entry; fix: run `tierwise recommend t --write`"):
            client.complete("t", text="x")
    _project(tmp_path, fake_openai, second_openai)
    with _client(root, ledger=False) as client:
        with pytest.raises(SpecError, match=r"evals/t.yaml: prompt: cannot render for cheap \('text' is undefined\)"):
            client.complete("t", wrong="x")


def test_a_target_outside_the_catalog_is_called_as_a_litellm_model_with_the_default_prompt(tmp_path, fake_openai,
                                                                                            second_openai):
    root = _project(tmp_path, fake_openai, second_openai, registry={"model": "python:rules:leak",
                                                             "fallbacks": ["openai/strong-model"]})
    cfg = yaml.safe_load((root / "tierwise.yaml").read_text())
    del cfg["models"]["leaky"]
    cfg["models"]["strong"]["api_base"] = fake_openai.base_url
    (root / "tierwise.yaml").write_text(yaml.safe_dump(cfg))
    spec_file = root / "evals" / "t.yaml"
    data = yaml.safe_load(spec_file.read_text())
    data["candidates"] = ["cheap", "strong"]
    spec_file.write_text(yaml.safe_dump(data))
    with _client(root, ledger=False) as client:
        route = client.routes["t"]
        assert [(h.name, h.target, h.cand.kind) for h in route.hops] == [
            ("python:rules:leak", "python:rules:leak", "python"), ("strong", "openai/strong-model", "litellm")]
