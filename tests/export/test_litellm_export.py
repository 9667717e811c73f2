"""`tierwise export litellm`: the written config loads into litellm.Router and routes a task's
calls to its model, falling back to the next group when the primary fails."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from harness import load_project
from harness.export import write_litellm_config
from tests.fake_openai import FakeOpenAI
from tests.projfix import spec, write_project

SECRET = "sk-test-EXPORT-NEVER-WRITTEN-123456"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("TW_FAKE_KEY", SECRET)


def _project(tmp_path, primary: FakeOpenAI, backup: FakeOpenAI):
    models = {
        "cheap": {"litellm": "openai/cheap-model", "api_base": primary.base_url, "api_key_env": "TW_FAKE_KEY",
                  "price": {"input_per_mtok": 1.0}},
        "strong": {"litellm": "openai/strong-model", "api_base": backup.base_url, "api_key_env": "TW_FAKE_KEY",
                   "price": {"input_per_mtok": 5.0}},
        "rule": {"python": "rules:echo"},
    }
    specs = {"t": spec(candidates=["cheap", "strong", "rule"], params={"temperature": 0, "max_tokens": 16, "seed": 7}),
             "r": spec("r", candidates=["rule", "cheap"])}
    write_project(tmp_path, models=models, specs=specs, golden={
        "t": [{"id": "a", "vars": {"text": "yes"}, "expected": "yes"}],
        "r": [{"id": "a", "vars": {"text": "yes"}, "expected": "yes"}]})
    registry = {"tasks": {
        "t": {"model": "openai/cheap-model", "fallbacks": ["python:rules:echo", "openai/strong-model"],
              "max_tokens": 5, "temperature": 0.5},
        "r": {"model": "python:rules:echo", "fallbacks": ["openai/cheap-model"]}}}
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump(registry))
    return load_project(tmp_path)


def test_the_config_has_one_group_per_task_with_its_params_fallbacks_and_no_key(tmp_path, fake_openai):
    with FakeOpenAI() as backup:
        export = write_litellm_config(_project(tmp_path, fake_openai, backup), tmp_path / "out.yaml")
    text = (tmp_path / "out.yaml").read_text()
    config = yaml.safe_load(text)
    assert [m["model_name"] for m in config["model_list"]] == ["t", "t/fallback-1"]
    primary = config["model_list"][0]["litellm_params"]
    assert primary == {"model": "openai/cheap-model", "api_base": fake_openai.base_url,
                       "api_key": "os.environ/TW_FAKE_KEY", "temperature": 0.5, "max_tokens": 5, "seed": 7}
    assert config["router_settings"]["fallbacks"] == [{"t": ["t/fallback-1"]}]
    assert set(export.skipped) == {"r", "t fallback python:rules:echo"}
    assert "python: rule" in export.skipped["r"] and "# left out r:" in text
    assert SECRET not in text


def test_the_exported_config_routes_through_litellm_router_with_a_fallback(tmp_path, fake_openai):
    import litellm

    with FakeOpenAI() as backup:
        write_litellm_config(_project(tmp_path, fake_openai, backup), tmp_path / "out.yaml")
        config = yaml.safe_load((tmp_path / "out.yaml").read_text())
        router = litellm.Router(model_list=config["model_list"], **{**config["router_settings"], "num_retries": 0})
        messages = [{"role": "user", "content": "yes from the proxy"}]

        first = asyncio.run(router.acompletion(model="t", messages=messages))
        assert first.choices[0].message.content == "yes" and fake_openai.count == 1 and backup.count == 0
        body = fake_openai.requests[0]
        assert body["model"] == "cheap-model" and body["max_tokens"] == 5 and body["temperature"] == 0.5

        fake_openai.fail("500", times=None)
        second = asyncio.run(router.acompletion(model="t", messages=messages))
        assert second.choices[0].message.content == "yes" and backup.count == 1
        assert backup.requests[0]["model"] == "strong-model" and backup.requests[0]["max_tokens"] == 5


def _local_project(tmp_path, api: FakeOpenAI):
    models = {"cheap": {"litellm": "openai/cheap-model", "api_base": api.base_url, "api_key_env": "TW_FAKE_KEY",
                        "price": {"input_per_mtok": 1.0}},
              "small": {"local": "smollm2-135m-instruct"}}
    write_project(tmp_path, models=models,
                  specs={"t": spec(candidates=["cheap", "small"], output={"choices": ["yes", "no"]})},
                  golden={"t": [{"id": "a", "vars": {"text": "yes"}, "expected": "yes"}]})
    registry = {"tasks": {"t": {"model": "openai/cheap-model", "fallbacks": ["local:smollm2-135m-instruct"]}}}
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump(registry))
    return load_project(tmp_path)


def test_a_dropped_local_fallback_says_how_to_serve_it(tmp_path, fake_openai):
    export = write_litellm_config(_local_project(tmp_path, fake_openai), tmp_path / "out.yaml")
    why = export.skipped["t fallback local:smollm2-135m-instruct"]
    assert "python -m llama_cpp.server --model <the .gguf of smollm2-135m-instruct> --model_alias small" in why
    assert "export again with --local-api-base http://127.0.0.1:8000/v1" in why


def test_local_api_base_exports_a_local_fallback_in_its_served_form(tmp_path, fake_openai):
    import litellm

    with FakeOpenAI(dialect="llama.cpp") as served:  # stands in for llama_cpp.server
        write_litellm_config(_local_project(tmp_path, fake_openai), tmp_path / "out.yaml", served.base_url)
        config = yaml.safe_load((tmp_path / "out.yaml").read_text())
        assert config["model_list"][1]["litellm_params"] == {
            "model": "openai/small", "api_base": served.base_url, "api_key": "none",
            "extra_body": {"grammar": 'root ::= "yes" | "no"'}}
        assert config["router_settings"]["fallbacks"] == [{"t": ["t/fallback-1"]}]
        fake_openai.fail("500", times=None)
        router = litellm.Router(model_list=config["model_list"], **{**config["router_settings"], "num_retries": 0})
        reply = asyncio.run(router.acompletion(model="t", messages=[{"role": "user", "content": "maybe"}]))
        assert reply.choices[0].message.content == "yes" and served.requests[0]["grammar"] == 'root ::= "yes" | "no"'


def _cascade_project(tmp_path, cheap: FakeOpenAI, dear: FakeOpenAI):
    models = {"cheap": {"litellm": "openai/cheap-model", "api_base": cheap.base_url, "api_key_env": "TW_FAKE_KEY"},
              "dear": {"litellm": "openai/dear-model", "api_base": dear.base_url, "api_key_env": "TW_FAKE_KEY"},
              "backup": {"litellm": "openai/backup-model", "api_base": dear.base_url, "api_key_env": "TW_FAKE_KEY"},
              "rule": {"python": "rules:echo"}}
    write_project(tmp_path, models=models, specs={"t": spec(candidates=list(models), output={"choices": ["yes", "no"]},
                                                            params={"temperature": 0, "max_tokens": 4})},
                  golden={"t": [{"id": "a", "vars": {"text": "yes"}, "expected": "yes"}]})
    entry = {"cascade": [{"model": "python:rules:echo", "defer": ["abstain"]},
                         {"model": "openai/cheap-model", "defer": ["contract", {"confidence": 0.9}]},
                         {"model": "openai/dear-model"}],
             "fallbacks": ["openai/backup-model"], "max_tokens": 4, "temperature": 0}
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"t": entry}}, sort_keys=False))
    return load_project(tmp_path)


def test_a_cascade_exports_its_callable_stages_and_says_litellm_cannot_run_it(tmp_path, fake_openai):
    with FakeOpenAI() as dear:
        export = write_litellm_config(_cascade_project(tmp_path, fake_openai, dear), tmp_path / "out.yaml")
    text = (tmp_path / "out.yaml").read_text()
    config = yaml.safe_load(text)
    assert [m["model_name"] for m in config["model_list"]] == ["t/stage-2", "t/stage-3", "t/fallback-1"]
    assert config["model_list"][0]["litellm_params"]["model"] == "openai/cheap-model"
    assert config["router_settings"]["fallbacks"] == [{"t/stage-3": ["t/fallback-1"]}]  # behind the last stage only
    assert set(export.skipped) == {"t", "t stage 1 python:rules:echo"}
    why = export.skipped["t"]
    assert why.startswith("a cascade: LiteLLM moves to a fallback on a provider error only and cannot pass a call on "
                          "when a stage answers (abstain, confidence, contract), so there is no 't' group; exported "
                          "its stages as t/stage-2, t/stage-3 for harness.Client or your code to call in order")
    assert "# left out t: a cascade" in text and SECRET not in text
