"""tierwise.yaml: the catalog, the store and defaults, validated strictly."""

from __future__ import annotations

import pytest

from harness import load_project
from harness.errors import ConfigError
from tests.projfix import write_project


def test_unknown_catalog_key_in_config(tmp_path):
    write_project(tmp_path, config={"concurency": 4})
    with pytest.raises(ConfigError, match=r"tierwise\.yaml: concurency: unknown key 'concurency'; did you mean 'concurrency'\?; known: .*concurrency"):
        load_project(tmp_path)


def test_model_entry_needs_exactly_one_kind(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "x": {"litellm": "openai/x", "local": "y"}})
    with pytest.raises(ConfigError, match=r"tierwise\.yaml: models\.x: .*exactly one of litellm:, local:, python:"):
        load_project(tmp_path)


def test_api_key_in_config_is_refused(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "x": {"litellm": "openai/x", "api_key": "sk-1"}})
    with pytest.raises(ConfigError, match=r"api_key must not be written in tierwise\.yaml"):
        load_project(tmp_path)


def test_typo_beside_litellm_is_not_sent_as_a_call_option(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"},
                                    "x": {"litellm": "openai/x", "pric": {"per_call": 1}}})
    with pytest.raises(ConfigError, match=r"tierwise\.yaml: models\.x: .*unknown key 'pric'; did you mean 'price'\?"):
        load_project(tmp_path)
