"""Self-hosted OpenAI-compatible endpoints: `structured:` states (or `auto` probes) what structured
output the server takes, and a task's contract reaches it constrained, or a warning says it does not."""

import io
import json

import pytest

from harness import load_project, run
from harness.errors import ConfigError
from harness.models import constraint, resolve_candidates
from harness.runner import Progress, check
from tests.fake_openai import FakeOpenAI
from tests.projfix import spec, tierwise, write_project

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _golden(n: int = 4) -> list[dict]:
    return [{"id": f"c{i}", "vars": {"text": f"a trip to Paris #{i}"}, "expected": {"city": "x"}} for i in range(n)]


def _project(tmp_path, server, structured=None, choices=False):
    entry = {"litellm": "openai/qwen-1.5b", "api_base": server.base_url, "api_key": "none"}
    if structured is not None:
        entry["structured"] = structured
    if choices:
        task = spec(candidates=["srv"], output={"choices": ["yes", "no"]})
        golden = [{"id": f"c{i}", "vars": {"text": f"maybe #{i}"}, "expected": "no"} for i in range(4)]
    else:
        task = spec(candidates=["srv"], output={"json_schema": SCHEMA},
                    graders=[{"type": "json", "schema": True, "fields": ["city"]}])
        golden = _golden()
    write_project(tmp_path, models={"srv": entry}, config={"retries": 0, "timeout_s": 5},
                  specs={"t": task}, golden={"t": golden})
    return load_project(tmp_path)


def _run(project) -> tuple[object, str]:
    stream = io.StringIO()
    out = run(project, progress=Progress(enabled=True, stream=stream))
    return out, stream.getvalue()


def test_a_stated_json_object_mode_sends_the_schema_the_way_llama_cpp_server_takes_it(tmp_path):
    with FakeOpenAI(dialect="llama.cpp") as server:
        project = _project(tmp_path, server, structured="json_object")
        out, said = _run(project)
        sent = [r for r in server.requests]
    assert all(r["response_format"] == {"type": "json_object", "schema": SCHEMA} for r in sent)
    assert out.counts.errors == 0 and out.summary.loc[0, "mean"] == 1.0
    assert "unconstrained" not in said


def test_a_self_hosted_model_that_states_nothing_is_warned_about_once_in_validate_and_run(tmp_path, monkeypatch,
                                                                                          capsys):
    with FakeOpenAI(dialect="llama.cpp") as server:
        project = _project(tmp_path, server)
        code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
        out, said = _run(project)
        sent = server.requests
    assert code in (0, None)
    assert err.count("warning: srv: t (a JSON schema) reaches this self-hosted model unconstrained") == 1
    assert "fix: set structured: in its tierwise.yaml entry" in err
    assert said.count("reaches this self-hosted model unconstrained") == 1
    assert all("response_format" not in r for r in sent)
    assert out.summary.loc[0, "mean"] == 0.0  # the echo is not JSON: what an unconstrained small model does


def test_json_schema_mode_without_a_choice_form_warns_for_a_choices_task(tmp_path):
    with FakeOpenAI() as server:
        project = _project(tmp_path, server, structured="json_schema", choices=True)
    lines = check(project)
    assert len(lines) == 1 and "t (choices)" in lines[0] and "structured: json_schema has no form for that" in lines[0]


@pytest.mark.parametrize("mode, expected", [
    ("grammar", {"extra_body": {"grammar": 'root ::= "yes" | "no"'}}),
    ("guided", {"extra_body": {"guided_choice": ["yes", "no"]}}),
    ("structured_outputs", {"extra_body": {"structured_outputs": {"choice": ["yes", "no"]}}}),
    ("tgi", {"extra_body": {"response_format": {"type": "regex", "value": "(yes|no)"}}}),
    ("json_schema", {}), ("none", {}),
])
def test_each_mode_sends_choices_in_its_servers_form(tmp_path, mode, expected):
    with FakeOpenAI() as server:
        project = _project(tmp_path, server, structured=mode, choices=True)
    cands = resolve_candidates(project.config, ["srv"], check_keys=False)
    assert constraint(project.tasks["t"], cands["srv"]) == expected


@pytest.mark.parametrize("mode, expected", [
    ("json_schema", {"response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": SCHEMA}}}),
    ("json_object", {"extra_body": {"response_format": {"type": "json_object", "schema": SCHEMA}}}),
    ("grammar", {"extra_body": {"response_format": {"type": "json_object", "schema": SCHEMA}}}),
    ("guided", {"extra_body": {"guided_json": SCHEMA}}),
    ("structured_outputs", {"extra_body": {"structured_outputs": {"json": SCHEMA}}}),
    ("tgi", {"extra_body": {"response_format": {"type": "json", "value": SCHEMA}}}),
])
def test_each_mode_sends_a_schema_in_its_servers_form(tmp_path, mode, expected):
    with FakeOpenAI() as server:
        project = _project(tmp_path, server, structured=mode)
    cands = resolve_candidates(project.config, ["srv"], check_keys=False)
    assert constraint(project.tasks["t"], cands["srv"]) == expected


@pytest.mark.parametrize("dialect, found", [("llama.cpp", "grammar"), ("vllm", "guided"), (None, "none")])
def test_auto_probes_once_and_caches_what_the_server_honours(tmp_path, dialect, found):
    with FakeOpenAI(dialect=dialect) as server:
        project = _project(tmp_path, server, structured="auto")
        out, said = _run(project)
        probes = [r for r in server.requests if "hello" in json.dumps(r["messages"])]
        server.reset()
        again = load_project(tmp_path)
        _run(again)
        second = [r for r in server.requests if "hello" in json.dumps(r["messages"])]
    cache = json.loads((tmp_path / ".tierwise" / "structured.json").read_text())
    assert [e["mode"] for e in cache["entries"].values()] == [found]
    assert f"probed srv's structured output: {found}" in said
    assert probes and second == []  # probed once, then read from the cache
    assert (out.summary.loc[0, "mean"] == 1.0) == (found != "none")


def test_models_shows_per_model_whether_constraints_are_sent(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, models={
        "said": {"litellm": "openai/a", "api_base": "http://127.0.0.1:9/v1", "api_key": "none", "structured": "guided"},
        "silent": {"litellm": "openai/b", "api_base": "http://127.0.0.1:9/v1", "api_key": "none"},
        "probe": {"litellm": "hosted_vllm/c", "api_key": "none", "structured": "auto"},
        "rule": {"python": "rules:echo"}})
    code, out, _ = tierwise(monkeypatch, capsys, "models", "--project", str(tmp_path))
    assert "constraints: schemas and choices (guided, stated)" in out
    assert "constraints: NONE (not stated): choices and schemas reach it unconstrained; fix: set structured:" in out
    assert "constraints: auto: probed at the first run" in out


def test_a_typo_in_structured_lists_the_modes(tmp_path):
    write_project(tmp_path, models={"srv": {"litellm": "openai/a", "api_base": "http://127.0.0.1:9/v1",
                                            "api_key": "none", "structured": "json-schema"}})
    with pytest.raises(ConfigError, match="structured.*json_schema.*json_object"):
        load_project(tmp_path)


def test_structured_is_refused_beside_local(tmp_path):
    write_project(tmp_path, models={"m": {"local": "smollm2-135m-instruct", "structured": "grammar"}})
    with pytest.raises(ConfigError, match="structured: is for litellm: entries"):
        load_project(tmp_path)
