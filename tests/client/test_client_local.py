"""The client against a real bundled GGUF model through llama.cpp, started on first need."""

from __future__ import annotations

import pytest
import yaml

from harness import Client
from tests.projfix import spec, write_project
from tests.conftest import require_module

pytestmark = pytest.mark.slow


def test_a_local_target_starts_llama_cpp_lazily_and_answers_within_the_contract(tmp_path):
    require_module("llama_cpp", "needs llama_cpp: pip install -e '.[local]'")
    models = {"small": {"local": "smollm2-135m-instruct", "price": {"per_hour": 3600.0}}}
    write_project(tmp_path, models=models, specs={"t": spec(candidates=["small"], output={"choices": ["yes", "no"]},
                                                            params={"temperature": 0, "max_tokens": 2})})
    (tmp_path / "registry.yaml").write_text(yaml.safe_dump(
        {"tasks": {"t": {"model": "local:smollm2-135m-instruct", "fallbacks": []}}}))
    with Client(tmp_path, ledger=False) as client:
        assert client._server is None  # nothing started until a local model is called
        reply = client.complete("t", text="Is water wet? Answer yes or no.")
        assert client._server is not None
    assert reply.ok and reply.parsed in {"yes", "no"} and reply.model == "small"
    # priced by its tokens at its rate: $1 per second of machine time those tokens take (models/_pricing.py)
    first = reply.attempts[0]
    seconds = 98_362_432 / 491_400_064 * (first.completion_tokens / 16 + first.prompt_tokens / 150)
    assert reply.cost == pytest.approx(seconds, rel=1e-6)
