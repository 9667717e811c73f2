"""The catalog: strict call options, which key a model needs, and what `tierwise models` says."""

from __future__ import annotations

import pytest

from harness import load_project
from harness.errors import ConfigError
from harness.models import resolve_candidates
from harness.models import Provider, call_kwargs, provider
from tests.projfix import write_project


def _cands(tmp_path, models):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, **models})
    project = load_project(tmp_path)
    return resolve_candidates(project.config, list(project.config.models))


def test_an_unknown_call_option_is_refused_not_sent(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "x": {"litellm": "openai/x", "fooo": 1}})
    with pytest.raises(ConfigError, match=r"models\.x: .*unknown key 'fooo'; known call options: .*api_base.*"
                                          r"put any other under extra: \{fooo: …\}"):
        load_project(tmp_path)


def test_extra_options_are_passed_through_verbatim(tmp_path, monkeypatch):
    cands = _cands(tmp_path, {"x": {"litellm": "openai/x", "api_key": "none", "reasoning_effort": "low",
                                    "extra": {"fooo": 1}}})
    kwargs = call_kwargs(cands["x"], [], {"max_tokens": 3}, None, None, None)
    assert kwargs["fooo"] == 1 and kwargs["reasoning_effort"] == "low" and kwargs["max_tokens"] == 3


def test_an_api_key_in_the_catalog_is_refused_unless_none(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "x": {"litellm": "openai/x", "api_key": "sk-1"}})
    with pytest.raises(ConfigError, match="api_key must not be written in tierwise.yaml"):
        load_project(tmp_path)


def test_an_infinite_timeout_is_refused(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "x": {"litellm": "openai/x", "timeout_s": ".inf"}})
    (tmp_path / "tierwise.yaml").write_text((tmp_path / "tierwise.yaml").read_text().replace("'.inf'", ".inf"))
    with pytest.raises(ConfigError, match=r"models\.x\.timeout_s"):
        load_project(tmp_path)


def test_a_server_with_api_base_still_needs_a_key_unless_it_says_none(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cands = _cands(tmp_path, {"self_hosted": {"litellm": "openai/m", "api_base": "http://127.0.0.1:9/v1"},
                              "keyless": {"litellm": "openai/m", "api_base": "http://127.0.0.1:9/v1", "api_key": "none"},
                              "named": {"litellm": "openai/m", "api_key_env": "TW_NOT_SET"}})
    assert cands["self_hosted"].status == "skipped"
    assert "OPENAI_API_KEY is not set; for a server that needs no key, add api_key: none" in cands["self_hosted"].skip_reason
    assert cands["keyless"].status == "ready" and cands["keyless"].available
    assert cands["named"].status == "skipped" and cands["named"].skip_reason == "TW_NOT_SET is not set"


def test_models_command_shows_each_status_and_why(tmp_path, monkeypatch, capsys):
    import sys

    from harness.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    write_project(tmp_path, models={"rule": {"python": "rules:echo"},
                                    "self_hosted": {"litellm": "openai/m", "api_base": "http://127.0.0.1:9/v1"}})
    monkeypatch.setattr(sys, "argv", ["tierwise", "models", "--project", str(tmp_path)])
    with pytest.raises(SystemExit):
        main()
    out = capsys.readouterr().out
    assert "self_hosted" in out and "skipped" in out and "add api_key: none" in out
    assert "ready" in out  # the rule


def test_models_prices_a_served_per_hour_model_and_says_when_it_moves_with_load(tmp_path, capsys):
    from harness.commands import catalog_table

    write_project(tmp_path, models={
        "wall": {"litellm": "openai/m", "api_base": "http://127.0.0.1:9/v1", "api_key": "none",
                 "price": {"per_hour": 0.05}},
        "stated": {"litellm": "openai/m", "api_base": "http://127.0.0.1:9/v1", "api_key": "none",
                   "price": {"per_hour": 0.05, "output_tokens_per_s": 40, "prompt_tokens_per_s": 800}}})
    rows = {line.split()[0]: line for line in catalog_table(tmp_path).splitlines() if line.split()}
    assert "unpriced" not in rows["wall"] and "$0.05/hour of compute on wall time" in rows["wall"]
    assert "state price.output_tokens_per_s" in rows["wall"]
    assert "at 40 output / 800 prompt tokens a second (stated)" in rows["stated"]


class Metered(Provider):
    """A provider with a price list of its own, which lists the model `listed` and no other."""

    price_list = "Meter"

    def identity(self, entry):
        return {"kind": "metered", "ref": entry.ref}

    def list_price(self, cand):
        return (0.5, 2.0) if cand.entry.ref == "listed" else None


@pytest.fixture
def metered(monkeypatch):
    """Metered registered for one test: the registry is a process-wide one, which lists its kinds."""
    from harness.models import _provider

    monkeypatch.setattr(_provider, "_PROVIDERS", dict(_provider._PROVIDERS))
    provider("metered")(Metered)


def test_models_states_a_providers_list_price_or_its_absence_as_the_provider_answers(tmp_path, metered):
    from harness.commands import catalog_rows

    per_call = {"price": {"per_call": 0.01}}
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "a": {"metered": "listed"},
                                    "b": {"metered": "listed", **per_call}, "c": {"metered": "unlisted"},
                                    "d": {"metered": "unlisted", **per_call}, "e": {"python": "rules:echo", **per_call}})
    prices = {r["model"]: r["price"] for r in catalog_rows(load_project(tmp_path))}
    assert prices == {"rule": "free", "a": "$0.5 in / $2 out per Mtok (Meter)",
                      "b": "$0.5 in / $2 out per Mtok (Meter) + $0.01/call",
                      "c": "unpriced: add price: to tierwise.yaml", "d": "$0.01/call", "e": "$0.01/call"}
