"""The Qwen2.5-Coder ladder models, for real, through the normal run path (a few focused cases each)."""

import importlib.util
import json

import pytest

from harness import load_project, results, run
from harness.models import _weights
from tests.projfix import spec, write_project

MODELS = {"qwen05": "qwen2.5-coder-0.5b-instruct", "qwen15": "qwen2.5-coder-1.5b-instruct"}

_missing = [w.model for w in _weights.CHUNKED.values() if _weights.problem(w)]
pytestmark = [pytest.mark.slow,
              pytest.mark.requires(importlib.util.find_spec("llama_cpp") and not _missing,
                                   f"needs pip install -e '.[local]' (llama_cpp, or weights missing: {_missing})")]

REVIEWS = [
    ("I love this app, it works perfectly.", "positive"),
    ("Terrible. It crashed and lost my data.", "negative"),
    ("Great value and fast delivery!", "positive"),
    ("Worst purchase I have made this year.", "negative"),
    ("Not bad at all for the price.", "positive"),
    ("The screen cracked on day two and support never answered.", "negative"),
]
PEOPLE = [("Anna lives in Oslo.", {"name": "Anna", "city": "Oslo"}),
          ("Ben moved to Lyon last spring.", {"name": "Ben", "city": "Lyon"}),
          ("Our new colleague Priya works from Madrid.", {"name": "Priya", "city": "Madrid"})]
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "city": {"type": "string"}},
          "required": ["name", "city"], "additionalProperties": False}


def _project(tmp_path, alias):
    models = {alias: {"local": MODELS[alias], "price": {"per_hour": 0.05}}}
    specs = {
        "sentiment": spec("sentiment", candidates=[alias], prompt={"system": "Classify the sentiment of the review. "
                                                                "Answer with one word: positive or negative.",
                                                      "user": "{{ text }}"},
                          output={"choices": ["positive", "negative"]}, params={"temperature": 0, "max_tokens": 4},
                          graders=[{"type": "choice"}]),
        "person": spec("person", candidates=[alias], prompt={"system": "Extract the person's name and city as JSON.",
                                                   "user": "{{ text }}"},
                       output={"json_schema": SCHEMA}, params={"temperature": 0, "max_tokens": 48},
                       graders=[{"type": "json"}]),
    }
    golden = {"sentiment": [{"id": f"r{i}", "vars": {"text": t}, "expected": label} for i, (t, label) in enumerate(REVIEWS)],
              "person": [{"id": f"p{i}", "vars": {"text": t}, "expected": doc} for i, (t, doc) in enumerate(PEOPLE)]}
    write_project(tmp_path, models=models, specs=specs, golden=golden)
    return load_project(tmp_path)


@pytest.mark.parametrize("alias", sorted(MODELS))
def test_ladder_model_labels_and_extracts_through_a_run(tmp_path, alias):
    project = _project(tmp_path, alias)
    out = run(project, progress=False)
    assert out.counts.errors == 0 and out.counts.called == len(REVIEWS) + len(PEOPLE)
    frame = results(project)
    labels = frame[frame["task"] == "sentiment"]
    assert set(labels["output"]) <= {"positive", "negative"}  # the grammar allows nothing else
    # Instruction-tuned models, unlike the 135M/270M ones, get these plain cases right.
    assert labels["passed"].sum() >= len(REVIEWS) - 1, labels[["case_id", "output"]].to_string()
    people = frame[frame["task"] == "person"]
    for text in people["output"]:
        assert set(json.loads(text)) == {"name", "city"}  # the schema's grammar holds
    assert people["passed"].sum() >= len(PEOPLE) - 1, people[["case_id", "output"]].to_string()
    assert frame["prompt_tokens"].gt(0).all() and frame["latency_ms"].gt(0).all()
