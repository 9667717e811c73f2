"""Shadow calls: off the call path, sampled, budgeted, cooled down, stored beside the ledger."""

from __future__ import annotations

import math
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness import Client
from harness.errors import ConfigError
from harness.store import Store
from tests.fake_openai import FakeOpenAI, catalog_entry
from tests.projfix import spec, write_project

SECRET = "sk-test-NEVER-IN-A-SHADOW-ROW-1234567890"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", SECRET)


_model = partial(catalog_entry, api_key_env="TW_FAKE_KEY")


def _project(root: Path, primary: FakeOpenAI, challenger: FakeOpenAI, shadow: dict | None = None) -> Path:
    models = {"prod": _model(primary, "prod-model"), "chal": _model(challenger, "chal-model")}
    config = {"retries": 0, "retry_backoff_s": 0.01, "timeout_s": 5}
    if shadow is not None:
        config["shadow"] = shadow
    write_project(root, models=models, config=config,
                  specs={"t": spec(candidates=["prod", "chal"], params={"temperature": 0, "max_tokens": 8},
                                   prompt={"system": "Answer yes or no.", "user": "{{ text }}"})},
                  golden={"t": [{"id": "c1", "vars": {"text": "yes"}, "expected": "yes"}]})
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": {"model": "openai/prod-model"}}}))
    return root


def _calls(client: Client, n: int) -> tuple[list[str | None], list[float]]:
    outputs, latencies = [], []
    for i in range(n):
        began = time.perf_counter()
        reply = client.complete("t", text=f"w{i % 7} please")
        latencies.append((time.perf_counter() - began) * 1000)
        outputs.append(reply.output)
    return outputs, latencies


def test_shadow_rows_say_whether_the_challenger_agreed_and_keep_no_text_without_capture(tmp_path, fake_openai,
                                                                                         second_openai):
    second_openai.responder = lambda body: "w1" if "w1" in str(body["messages"]) else "other"
    root = _project(tmp_path, fake_openai, second_openai, {"t": {"challenger": "chal", "rate": 1.0}})
    with Client(root, shadow_seed=1) as client:
        _calls(client, 14)
        assert client.shadow.drain(10)
        stats = client.shadow.stats()
    rows = Store(f"sqlite:///{root / '.tierwise' / 'results.db'}").shadow_calls("t")
    assert stats.called == stats.written == len(rows) == 14
    assert [r["agree"] for r in rows] == [i % 7 == 1 for i in range(14)]
    assert {r["incumbent"] for r in rows} == {"prod"} and {r["challenger"] for r in rows} == {"chal"}
    assert all(r["output"] is None and r["incumbent_output"] is None and r["cost"] > 0 for r in rows)


def test_captured_outputs_are_stored_redacted(tmp_path, fake_openai, second_openai):
    second_openai.responder = lambda body: f"key {SECRET}"
    root = _project(tmp_path, fake_openai, second_openai, {"t": {"challenger": "chal", "rate": 1.0}})
    with Client(root, capture=True) as client:
        _calls(client, 2)
        client.shadow.drain(10)
    rows = Store(f"sqlite:///{root / '.tierwise' / 'results.db'}").shadow_calls("t")
    assert len(rows) == 2 and rows[0]["incumbent_output"] == "w0"
    assert SECRET not in rows[0]["output"] and "<TW_FAKE_KEY>" in rows[0]["output"]


@pytest.mark.parametrize("fault", ["stall", "500"])
def test_a_stalling_or_failing_challenger_changes_neither_results_nor_p99_latency(tmp_path, fake_openai,
                                                                                 second_openai, fault):
    second_openai.fail(fault, times=None, stall_seconds=30)
    root = _project(tmp_path, fake_openai, second_openai, {"t": {"challenger": "chal", "rate": 1.0, "queue": 3}})
    with Client(root, shadow=False) as plain:
        plain.complete("t", text="warm up")
        base_out, base_ms = _calls(plain, 60)
    with Client(root, cooldown_s=0.05) as shadowed:
        shadowed.complete("t", text="warm up")
        out, ms = _calls(shadowed, 60)
        stats = shadowed.shadow.stats()
    assert out == base_out
    p99, base_p99 = np.percentile(ms, 99), np.percentile(base_ms, 99)
    assert p99 <= 3 * base_p99 + 100, (p99, base_p99)             # generous: a shared 2-core machine
    if fault == "stall":                                          # the worker is stuck: the queue fills, drops count
        assert stats.dropped >= 45 and stats.called <= 5          # at most one finished timeout (5 s) at a time
    else:                                                         # recorded and rested
        assert stats.failed >= 1 and stats.sampled == 61 and stats.cooling + stats.called + stats.dropped >= 55


def test_the_failed_challenger_calls_are_stored_as_disagreements(tmp_path, fake_openai, second_openai):
    second_openai.fail("500", times=None)
    root = _project(tmp_path, fake_openai, second_openai, {"t": {"challenger": "chal", "rate": 1.0}})
    with Client(root) as client:
        client.complete("t", text="hello")
        client.shadow.drain(10)
    rows = Store(f"sqlite:///{root / '.tierwise' / 'results.db'}").shadow_calls("t")
    assert len(rows) == 1 and rows[0]["outcome"] == "error" and rows[0]["agree"] is False
    assert rows[0]["error_type"] and SECRET not in (rows[0]["error"] or "")


def test_the_sample_rate_is_honoured(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    with Client(root, shadow={"t": {"challenger": "chal", "rate": 0.25}}, shadow_seed=7) as client:
        _calls(client, 200)
        client.shadow.drain(10)
        stats = client.shadow.stats()
    assert stats.offered == 200
    assert abs(stats.sampled - 50) <= 4 * math.sqrt(200 * 0.25 * 0.75)
    assert stats.called == stats.sampled == second_openai.count


def test_the_daily_budget_stops_shadowing(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai)
    # a challenger call here: about 8 prompt tokens at $1/Mtok and 1-2 output tokens at $2/Mtok, ~1.2e-5 $
    with Client(root, shadow={"t": {"challenger": "chal", "rate": 1.0, "budget_per_day": 4e-5}}) as client:
        for i in range(30):
            client.complete("t", text=f"w{i}")
            client.shadow.drain(5)                                # one at a time: the mean cost is known
        stats = client.shadow.stats()
        spent = client.shadow.spent_today("t")
    assert 1 <= stats.called < 30 and stats.over_budget == 30 - stats.called
    assert spent <= 4e-5 < spent + spent / stats.called           # stopped when one more would pass it


def test_shadow_settings_are_strict_and_errors_name_the_place(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, {"t": {"challenger": "chall", "rate": 0.1}})
    with pytest.raises(ConfigError, match=r"tierwise.yaml: shadow.t.challenger: unknown model 'chall'; did you mean 'chal'"):
        Client(root)
    _project(tmp_path, fake_openai, second_openai, {"t": {"challenger": "chal", "rate": 1.5}})
    with pytest.raises(ConfigError, match=r"tierwise.yaml: shadow.t.rate: "):
        Client(root)
    _project(tmp_path, fake_openai, second_openai, {"t": {"challenger": "chal", "rate": 0.1, "budget": 1}})
    with pytest.raises(ConfigError, match=r"tierwise.yaml: shadow.t.budget: unknown key 'budget'"):
        Client(root)
    _project(tmp_path, fake_openai, second_openai, {"nope": {"challenger": "chal", "rate": 0.1}})
    with pytest.raises(ConfigError, match=r"tierwise.yaml: shadow.nope: unknown task 'nope'; known: t"):
        Client(root)
    _project(tmp_path, fake_openai, second_openai)
    with pytest.raises(ConfigError, match=r"Client\(shadow=...\): t: rate: "):
        Client(root, shadow={"t": {"challenger": "chal", "rate": 0}})
