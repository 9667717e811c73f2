"""harness.Client running a registry cascade entry: python: rules and the loopback OpenAI server."""

from __future__ import annotations

import asyncio
import itertools
import time
from functools import partial
from pathlib import Path

import pytest
import yaml

from harness import Client, RegistryError
from harness.client._cascade import Rule, Stage, judge
from harness.models import CallResult
from harness.project import Contract
from harness.store import Store
from tests.fake_openai import FakeOpenAI, catalog_entry
from tests.projfix import spec, write_project

RULES = '''
def half(vars):  # answers "yes", abstains on anything else
    return "yes" if vars["text"].startswith("yes") else None

def echo(vars):
    return vars["text"].split()[0]

def plausible(vars, output):
    return output.strip() in ("yes", "no")

def broken(vars, output):
    raise ValueError("verifier down")

def hangs(vars, output):
    import time
    time.sleep(3600)  # only a deadline ends it
'''

RULE = {"model": "python:rules:half", "defer": ["abstain"]}


_model = partial(catalog_entry, api_key="none")


def _project(root: Path, cheap: FakeOpenAI, second_openai: FakeOpenAI, entry: dict) -> Path:
    models = {"rule": {"python": "rules:half"}, "echo": {"python": "rules:echo"},
              "cheap": _model(cheap, "cheap-model"), "dear": _model(second_openai, "dear-model")}
    write_project(root, models=models, files={"rules.py": RULES},
                  config={"retries": 0, "retry_backoff_s": 0.01, "timeout_s": 5},
                  specs={"t": spec(candidates=list(models), output={"choices": ["yes", "no"]},
                                   params={"temperature": 0, "max_tokens": 4})},
                  golden={"t": [{"id": "c1", "vars": {"text": "yes"}, "expected": "yes"}]})
    (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": entry}}, sort_keys=False))
    return root


def _entry(*stages: dict, fallbacks: list[str] | None = None) -> dict:
    return {"cascade": list(stages), "fallbacks": fallbacks or [], "max_tokens": 4, "temperature": 0}


def _ledger(root: Path) -> list[dict]:
    with Store(f"sqlite:///{root / '.tierwise' / 'results.db'}") as store:
        return store.usage_rows()


def _rows(root: Path) -> list[tuple]:
    return [(r["model"], r["stage"], r["kind"], r["outcome"], r["deferred"], r["final"]) for r in _ledger(root)]


def test_a_rule_that_answers_ends_the_call_without_calling_a_model(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, _entry(RULE, {"model": "openai/dear-model"}))
    with Client(root) as client:
        reply = client.complete("t", text="yes please")
        client.ledger.flush()
    assert (reply.output, reply.model, reply.stage, reply.outcome, reply.cost) == ("yes", "rule", 1, "ok", 0.0)
    assert second_openai.count == 0
    assert _rows(root) == [("rule", 1, "primary", "ok", None, True)]


def test_an_abstaining_rule_passes_the_call_to_the_next_stage_and_the_ledger_says_why(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, _entry(RULE, {"model": "openai/dear-model"}))
    with Client(root) as client:
        reply = client.complete("t", text="no thanks")
        client.ledger.flush()
    assert (reply.output, reply.model, reply.stage, reply.outcome) == ("no", "dear", 2, "ok")
    assert [(a.model, a.stage, a.deferred) for a in reply.attempts] == [("rule", 1, "abstain"), ("dear", 2, None)]
    assert _rows(root) == [("rule", 1, "primary", "deferred", "abstain", False),
                           ("dear", 2, "deferral", "ok", None, True)]
    assert _ledger(root)[0]["defer_reason"] == "the rule abstained (returned None)"
    assert reply.cost == pytest.approx(_ledger(root)[1]["cost"]) and reply.cost > 0


def test_a_broken_contract_passes_the_call_on(tmp_path, second_openai):
    with FakeOpenAI(responder=lambda body: "maybe") as cheap:
        root = _project(tmp_path, cheap, second_openai, _entry({"model": "openai/cheap-model", "defer": ["contract"]},
                                                      {"model": "openai/dear-model"}))
        with Client(root) as client:
            reply = client.complete("t", text="no way")
            client.ledger.flush()
    assert (reply.output, reply.model, reply.stage) == ("no", "dear", 2)
    first = _ledger(root)[0]
    assert (first["deferred"], first["defer_reason"], first["outcome"]) == ("contract", "not one of the choices", "deferred")
    assert first["output"] is None  # the output is never kept unless the client captures


def test_confidence_without_a_recorded_probability_passes_the_call_on(tmp_path, second_openai):
    with FakeOpenAI(probability=lambda body, content: None) as cheap:  # a provider that gives none
        root = _project(tmp_path, cheap, second_openai, _entry({"model": "openai/cheap-model", "defer": [{"confidence": 0.9}]},
                                                      {"model": "openai/dear-model"}))
        with Client(root, ledger=False) as client:
            reply = client.complete("t", text="yes")
        assert cheap.requests[0]["logprobs"] is True and cheap.count == 1
    assert reply.model == "dear" and reply.attempts[0].deferred == "confidence"
    assert reply.attempts[0].reason == "no probability recorded for its answer"


@pytest.mark.parametrize("probability, answered, deferred", [(0.95, "cheap", None), (0.5, "dear", "confidence")])
def test_a_confidence_stage_asks_for_the_probability_applies_its_threshold_and_the_ledger_keeps_it(
        tmp_path, second_openai, probability, answered, deferred):
    with FakeOpenAI(probability=lambda body, content: probability) as cheap:
        root = _project(tmp_path, cheap, second_openai, _entry({"model": "openai/cheap-model", "defer": [{"confidence": 0.9}]},
                                                      {"model": "openai/dear-model"}))
        with Client(root) as client:
            reply = client.complete("t", text="yes")
            client.ledger.flush()
    assert reply.model == answered and reply.attempts[0].deferred == deferred
    assert reply.attempts[0].confidence == pytest.approx(probability)
    first = _ledger(root)[0]
    assert (first["model"], first["stage"], first["deferred"]) == ("cheap", 1, deferred)
    assert first["confidence"] == pytest.approx(probability)
    assert all("logprobs" not in body for body in second_openai.requests)  # the last stage always answers: it does not ask


@pytest.mark.parametrize("confidence, deferred", [(0.95, None), (0.9, None), (0.89, "confidence")])
def test_confidence_below_the_recorded_threshold_defers(tmp_path, confidence, deferred):
    write_project(tmp_path, specs={"t": spec(output={"choices": ["yes", "no"]})})
    from harness import load_project

    contract = Contract(load_project(tmp_path).tasks["t"])
    stage = Stage(hop=None, rules=[Rule("confidence", threshold=0.9)])
    answer, verdict, deferral = asyncio.run(judge(stage, [CallResult(output="yes", confidence=confidence)], contract, {}))
    assert verdict.parsed == "yes" and (deferral.signal if deferral else None) == deferred
    if deferred:
        assert deferral.reason == "confidence 0.89 < 0.9"


def test_a_check_verifier_decides_whether_the_stage_answers(tmp_path, second_openai):
    answers = itertools.cycle(["yes", "banana"])
    with FakeOpenAI(responder=lambda body: next(answers)) as cheap:
        root = _project(tmp_path, cheap, second_openai, _entry({"model": "openai/cheap-model",
                                                       "defer": [{"check": "python:rules:plausible"}]},
                                                      {"model": "openai/dear-model"}))
        with Client(root, ledger=False) as client:
            first = client.complete("t", text="no")  # the cheap one says yes: plausible, it answers
            second = client.complete("t", text="no")  # it says banana: the contract passes it on first
    assert (first.model, first.output, first.stage) == ("cheap", "yes", 1)
    assert second.model == "dear" and second.attempts[0].deferred == "contract"


def test_a_verifier_that_raises_passes_the_call_on_with_its_reason(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, _entry({"model": "openai/cheap-model",
                                                         "defer": [{"check": "python:rules:broken"}]},
                                                        {"model": "openai/dear-model"}))
    with Client(root, ledger=False) as client:
        reply = client.complete("t", text="yes")
    assert reply.model == "dear" and reply.attempts[0].deferred == "check"
    assert reply.attempts[0].reason == "python:rules:broken raised ValueError: verifier down"


def test_a_verifier_that_hangs_is_abandoned_at_grade_timeout_s_and_passes_the_call_on(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, _entry({"model": "openai/cheap-model",
                                                         "defer": [{"check": "python:rules:hangs"}]},
                                                        {"model": "openai/dear-model"}))
    config = root / "tierwise.yaml"
    config.write_text(config.read_text() + "grade_timeout_s: 0.3\n")
    with Client(root, ledger=False) as client:
        started = time.perf_counter()
        reply = client.complete("t", text="yes")
        took = time.perf_counter() - started
    assert took < 5
    assert reply.model == "dear" and reply.output == "yes" and reply.attempts[0].deferred == "check"
    assert reply.attempts[0].reason == "python:rules:hangs timed out after 0.3 s (grade_timeout_s in tierwise.yaml)"


@pytest.mark.parametrize("answers, model", [(["yes", "yes", "no"], "cheap"), (["yes", "no", "banana"], "dear")])
def test_agreement_calls_the_stage_k_times_and_passes_on_unless_m_agree(tmp_path, second_openai, answers, model):
    replies = iter(answers)
    with FakeOpenAI(responder=lambda body: next(replies)) as cheap:
        root = _project(tmp_path, cheap, second_openai, _entry({"model": "openai/cheap-model",
                                                       "defer": [{"agreement": 2, "of": 3}]},
                                                      {"model": "openai/dear-model"}))
        with Client(root, ledger=False) as client:
            reply = client.complete("t", text="no")
        assert cheap.count == 3
    first = reply.attempts[0]
    assert reply.model == model and first.completion_tokens == 3 and first.prompt_tokens > 3
    assert first.cost == pytest.approx(first.prompt_tokens * 1e-6 + 3 * 2e-6)
    if model == "cheap":
        assert reply.output == "yes" and first.deferred is None
    else:
        assert first.deferred == "agreement" and first.reason == "1 of 3 samples agree, fewer than 2"


def test_a_failing_stage_passes_the_call_on_and_rests(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, _entry({"model": "openai/cheap-model", "defer": ["contract"]},
                                                        {"model": "openai/dear-model"}))
    fake_openai.fail("500", times=None)
    with Client(root, cooldown_s=30) as client:
        first = client.complete("t", text="yes")
        second = client.complete("t", text="no")
        client.ledger.flush()
    assert (first.model, first.stage, second.model) == ("dear", 2, "dear")
    assert fake_openai.count == 1  # not retried, and rested on the second call
    assert _rows(root) == [("cheap", 1, "primary", "error", "error", False), ("dear", 2, "deferral", "ok", None, True),
                           ("dear", 2, "fallback", "ok", None, True)]


def test_the_fallbacks_stand_behind_the_last_stage(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, _entry(RULE, {"model": "openai/dear-model"},
                                                        fallbacks=["python:rules:echo"]))
    second_openai.fail("500", times=None)
    with Client(root) as client:
        reply = client.complete("t", text="no idea")
        client.ledger.flush()
    assert (reply.output, reply.model, reply.outcome, reply.stage) == ("no", "echo", "fallback", None)
    assert _rows(root) == [("rule", 1, "primary", "deferred", "abstain", False),
                           ("dear", 2, "deferral", "error", None, False), ("echo", None, "fallback", "ok", None, True)]


def test_a_check_that_cannot_be_imported_is_refused_when_the_client_starts(tmp_path, fake_openai, second_openai):
    root = _project(tmp_path, fake_openai, second_openai, _entry({"model": "openai/cheap-model",
                                                         "defer": [{"check": "python:rules:nothing"}]},
                                                        {"model": "openai/dear-model"}))
    with pytest.raises(RegistryError, match=r"registry.yaml: tasks\.t\.cascade\[0\]\.defer\[0\]\.check: cannot "
                                            r"import python:rules:nothing \(AttributeError"):
        Client(root, ledger=False)
