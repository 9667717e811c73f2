"""One fingerprint everywhere: what changes a model's answers or their scores makes its
evidence stale in `tierwise gate` (and its stored results not current in the runner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from harness import load_project
from harness.commands import gate, recommend
from harness.decide import registry_options
from harness.decide.stats import clopper_pearson_lower
from harness.models import candidate_identity
from harness.registry import (
    TaskEvidence,
    update_registry,
    write_evidence,
    write_registry,
)
from harness.runner import results, run
from tests.projfix import cases, spec, write_project

GRADER = '''
def starts_right(output, case):
    return output.strip().lower() == str(case.expected).lower()
'''


def _verdict(root: Path, task: str = "t"):
    return next(t for t in gate(load_project(root)).tasks if t.task == task)


def _set_model(root: Path, name: str, entry: dict) -> None:
    path = root / "tierwise.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][name] = entry
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _record_by_hand(root: Path, model: str) -> None:
    """Evidence for `model` as recommend --write records it, without calling the model: the gate
    needs no model and no store, only the fingerprints of what was measured."""
    project = load_project(root)
    task, entry = project.tasks["t"], project.config.models[model]
    record = TaskEvidence(model=model, target=entry.target, spec_hash=task.spec_hash(model),
                          identity=candidate_identity(entry), n=len(task.golden), mean=1.0,
                          lower=round(clopper_pearson_lower(len(task.golden), len(task.golden), 0.95), 6),
                          method="exact", cost_per_call=0.0, run_ids=["0123456789ab"], params={"max_tokens": 8},
                          golden_set=task.spec.golden_set,
                          golden_hash=task.golden.sha256, threshold=task.spec.threshold,
                          confidence=task.spec.confidence)
    write_evidence(project.registry_path, {"t": record})
    options = registry_options(entry)
    update_registry(project.registry_path, {"t": {"model": entry.target, "fallbacks": [], "max_tokens": 8,
                                                  **({"options": {entry.target: options}} if options else {})}})


def test_an_edited_custom_grader_makes_the_evidence_stale(tmp_path):
    graders = [{"type": "python", "function": "my_graders:starts_right"}]
    write_project(tmp_path, specs={"t": spec(graders=graders, params={"max_tokens": 8})}, golden={"t": cases(12)},
                  files={"my_graders.py": GRADER})
    project = load_project(tmp_path)
    run(project, progress=False)
    write_registry(project, recommend(project))
    assert _verdict(tmp_path).status == "pass"

    (tmp_path / "my_graders.py").write_text(GRADER.replace("== str", "!= str"))
    verdict = _verdict(tmp_path)
    assert verdict.status == "stale"
    assert "evals/t.yaml changed since the evidence for rule" in verdict.message
    assert len(results(load_project(tmp_path))) == 0  # the runner regrades: nothing stored is current


def test_a_changed_catalog_call_option_makes_the_evidence_stale(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"},
                                    "api": {"litellm": "openai/gpt-4.1-mini", "api_base": "http://127.0.0.1:9/v1",
                                            "reasoning_effort": "low"}},
                  specs={"t": spec(candidates=["rule", "api"], params={"max_tokens": 8})})
    _record_by_hand(tmp_path, "api")
    assert _verdict(tmp_path).status == "pass"

    _set_model(tmp_path, "api", {"litellm": "openai/gpt-4.1-mini", "api_base": "http://127.0.0.1:9/v1",
                                 "reasoning_effort": "high"})
    verdict = _verdict(tmp_path)
    assert verdict.status == "stale"
    assert "tierwise.yaml models.api changed since the evidence (call options changed: reasoning_effort 'low' → " \
           "'high')" in verdict.message

    _set_model(tmp_path, "api", {"litellm": "openai/gpt-4.1-mini", "api_base": "http://127.0.0.1:8/v1",
                                 "reasoning_effort": "low"})
    assert "api_base 'http://127.0.0.1:9/v1' → 'http://127.0.0.1:8/v1'" in _verdict(tmp_path).message


def test_a_swapped_local_weights_file_makes_the_evidence_stale(tmp_path):
    weights = tmp_path / "weights" / "model.gguf"
    weights.parent.mkdir()
    weights.write_bytes(b"GGUF one model")
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "mine": {"local": str(weights)}},
                  specs={"t": spec(candidates=["rule", "mine"], params={"max_tokens": 8})})
    _record_by_hand(tmp_path, "mine")
    assert _verdict(tmp_path).status == "pass"

    weights.write_bytes(b"GGUF another model, same name")
    verdict = _verdict(tmp_path)
    assert verdict.status == "stale"
    assert "tierwise.yaml models.mine changed since the evidence (weights file changed" in verdict.message

    shutil.rmtree(weights.parent)
    assert f"weights file {weights} not found" in _verdict(tmp_path).message


def test_a_key_variable_is_not_part_of_the_identity(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"},
                                    "api": {"litellm": "openai/x", "api_base": "http://127.0.0.1:9/v1",
                                            "api_key_env": "ONE_KEY"}},
                  specs={"t": spec(candidates=["rule", "api"], params={"max_tokens": 8})})
    _record_by_hand(tmp_path, "api")
    _set_model(tmp_path, "api", {"litellm": "openai/x", "api_base": "http://127.0.0.1:9/v1", "api_key_env": "OTHER"})
    assert _verdict(tmp_path).status == "pass", _verdict(tmp_path).line  # which key pays does not change answers
