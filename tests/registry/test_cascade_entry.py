"""A cascade in registry.yaml and its evidence: the format written, read strictly, and recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness import load_project
from harness.commands import recommend
from harness.errors import RegistryError
from harness.registry import read_registry, update_registry, write_registry
from tests.cascadefix import cascade_project


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """The cascade project after `recommend --write`, its store deleted (a fresh CI checkout)."""
    root = cascade_project(tmp_path_factory.mktemp("cascade-registry") / "p")
    project = load_project(root)
    write_registry(project, recommend(project))
    shutil.rmtree(root / ".tierwise")
    return root


def _evidence(root: Path) -> dict:
    return json.loads((root / "registry.evidence.json").read_text())


# the format ------------------------------------------------------------------------------------

def test_recommend_writes_each_stage_on_a_line_with_its_signals_and_the_chosen_threshold(written):
    text = (written / "registry.yaml").read_text()
    assert ("  c:\n    cascade:\n"
            "      - {model: openai/cheap, defer: [contract, {confidence: 0.5}]}\n"
            "      - {model: python:rules:echo}\n    fallbacks: []\n    max_tokens: 8\n") in text
    assert ("  t:\n    cascade:\n      - {model: python:rules:half, defer: [abstain]}\n"
            "      - {model: python:rules:echo}\n    fallbacks: [python:rules:echo_too]\n") in text
    # a model's entry beside them is written exactly as before
    assert "  u:\n    model: python:rules:echo\n    fallbacks: []\n    max_tokens: 8\n    temperature: 0.0\n" in text
    assert read_registry(written / "registry.yaml")["c"]["cascade"][0]["defer"] == ["contract", {"confidence": 0.5}]


def test_a_model_entry_becomes_a_cascade_where_model_stood_keeping_comments_and_other_entries(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("# our registry\ntasks:\n  t:\n    model: python:rules:echo  # was the rule\n"
                    "    fallbacks: []\n    max_tokens: 8\n  u:\n    model: openai/x\n")
    entry = {"cascade": [{"model": "python:rules:half", "defer": ["abstain"]}, {"model": "python:rules:echo"}],
             "fallbacks": [], "max_tokens": 8}
    assert update_registry(path, {"t": entry})
    text = path.read_text()
    assert text.startswith("# our registry\ntasks:\n  t:\n    cascade:\n      - {model: python:rules:half")
    assert "model: python:rules:echo  #" not in text and "  u:\n    model: openai/x\n" in text
    assert read_registry(path)["t"] == entry
    assert not update_registry(path, {"t": entry})  # written once: the same entry changes nothing


@pytest.mark.parametrize("entry, message", [
    ({"model": "a", "cascade": [{"model": "a"}, {"model": "b"}]}, r"tasks\.t: has both model: and cascade:"),
    ({"cascade": [{"model": "a"}]}, r"tasks\.t\.cascade: must list at least two stages"),
    ({"cascade": ["a", "b"]}, r"tasks\.t\.cascade\[0\]: a stage is a mapping with model:"),
    ({"cascade": [{"model": "a"}, {"model": "b"}]}, r"tasks\.t\.cascade\[0\]\.defer: a stage before the last"),
    ({"cascade": [{"model": "a", "defer": ["abstain"]}, {"model": "b", "defer": ["abstain"]}]},
     r"tasks\.t\.cascade\[1\]\.defer: the last stage always answers"),
    ({"cascade": [{"model": "a", "defer": ["confidence"]}, {"model": "b"}]},
     r"tasks\.t\.cascade\[0\]\.defer\[0\]: unknown signal 'confidence'; known: abstain, contract, \{confidence: T\}"),
    ({"cascade": [{"model": "a", "defer": [{"confidence": 1.5}]}, {"model": "b"}]},
     r"defer\[0\]\.confidence: must be the threshold in \[0, 1\]"),
    ({"cascade": [{"model": "a", "defer": [{"agreement": 3, "of": 2}]}, {"model": "b"}]},
     r"agreement: m of: k must be whole numbers with 2 <= m <= k"),
    ({"cascade": [{"model": "a", "defer": [{"check": "checks.fn"}]}, {"model": "b"}]},
     r"defer\[0\]\.check: must be python:module:function"),
    ({"cascade": [{"model": "a", "defer": ["abstain", "abstain"]}, {"model": "b"}]}, r"lists a signal twice"),
    ({"cascade": [{"model": "a", "defer": ["abstain"], "grid": [0.5]}, {"model": "b"}]},
     r"cascade\[0\]\.grid: unknown key; known: model, defer"),
])
def test_a_malformed_cascade_entry_is_one_line_naming_the_place(tmp_path, entry, message):
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"tasks": {"t": entry}}))
    with pytest.raises(RegistryError, match=message):
        read_registry(path)


# the evidence ----------------------------------------------------------------------------------

def test_the_evidence_records_stages_signals_threshold_deferral_and_the_bound(written):
    record = _evidence(written)["tasks"]["c"]
    c = record["cascade"]
    assert (record["model"], record["target"], record["n"], record["lower"]) == \
        ("ladder", "openai/cheap > python:rules:echo", 40, pytest.approx(0.911903, abs=1e-6))
    assert record["family"] == ["big", "cheap", "ladder"] and record["threshold"] == 0.8
    assert c["threshold"] == 0.5 and c["grid"][-2:] == [0.5, 0.0] and c["certified"] == [True] * 10 + [False]
    assert [(s["model"], s["defer"], s["seen"], s["answered"]) for s in c["stages"]] == \
        [("cheap", ["contract", {"confidence": 0.5}], 40, 20), ("big", [], 20, 20)]
    assert c["deferral_rate"] == 0.5 and c["deferral_interval"] == [pytest.approx(0.338018), pytest.approx(0.661982)]
    assert set(record["run_ids"]) == {r for s in c["stages"] for r in s["run_ids"]}
