"""`cascades: suggest`: the cascades the ladder suggests, fixed from the spec, decided, written and
gated as a listed cascade is (every path under tmp_path; python rules only, no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness import load_project, run
from harness.commands import gate, recommend
from harness.decide import Decision
from harness.errors import SpecError
from harness.registry import write_registry
from tests.cascadefix import RULES as CASCADE_RULES  # half abstains on "no", echo answers
from tests.projfix import cases, spec, tierwise, write_project

CHOICES = {"choices": ["yes", "no"]}

RULES = CASCADE_RULES + '''
def yes(vars):
    return "yes"

def yes_too(vars):
    return "yes"
'''

MODELS = {"rule": {"python": "rules:half", "price": {"per_call": 0}},
          "mid": {"python": "rules:yes", "price": {"per_call": 0.001}},
          "big": {"python": "rules:echo", "price": {"per_call": 0.002}},
          "weak": {"python": "rules:yes_too", "price": {"per_call": 0.003}}}


def _api(name: str) -> dict:
    """A model that loading the spec never calls."""
    return {"litellm": f"openai/{name}", "api_base": "http://127.0.0.1:9/v1", "api_key": "none"}


def _load(tmp_path: Path, models: dict, **overrides) -> object:
    write_project(tmp_path, models=models, specs={"t": spec("t", **overrides)}, golden={"t": cases(6)},
                  files={"rules.py": RULES})
    return load_project(tmp_path).tasks["t"]


def _stages(task) -> list[tuple[str, list[str]]]:
    return [(c.label, [str(s) for s in c.signals(0)]) for c in task.spec.suggested_cascades]


# the suggestion, from the spec -------------------------------------------------------------------


def test_a_cheap_rule_and_two_models_suggest_every_cheaper_candidate_in_front_of_each_dearer_one(tmp_path):
    task = _load(tmp_path, {"rule": MODELS["rule"], "small": _api("small"), "large": _api("large")},
                 cascades="suggest", output=CHOICES, candidates=["rule", "small", "large"])
    assert _stages(task) == [("rule>small", ["abstain", "contract"]), ("rule>large", ["abstain", "contract"]),
                             ("small>large", ["contract"])]
    assert task.spec.family_size == 6  # three models, three cascades


def test_without_an_output_contract_only_the_rule_can_defer(tmp_path):
    task = _load(tmp_path, {"rule": MODELS["rule"], "small": _api("small"), "large": _api("large")},
                 cascades="suggest", candidates=["rule", "small", "large"])
    assert _stages(task) == [("rule>small", ["abstain"]), ("rule>large", ["abstain"])]


def test_no_suggestion_without_the_key_and_a_listed_cascade_is_not_suggested_again(tmp_path):
    models = {"rule": MODELS["rule"], "small": _api("small"), "large": _api("large")}
    assert _load(tmp_path, models, candidates=["rule", "small", "large"]).spec.suggested_cascades == []
    task = _load(tmp_path, models, cascades="suggest", candidates=["rule", "small", "large",
                                                                     {"cascade": ["rule", "large"], "defer": ["abstain"]}])
    assert [c.label for c in task.spec.cascades] == ["rule>large", "rule>small"]


def test_a_suggested_cascade_asks_no_model_for_log_probabilities(tmp_path):
    task = _load(tmp_path, {"rule": MODELS["rule"], "small": _api("small"), "large": _api("large")},
                 cascades="suggest", output=CHOICES, candidates=["rule", "small", "large"])
    assert all(not c.confidence_models and c.thresholds == () for c in task.spec.cascades)


def test_a_ladder_that_would_suggest_more_than_the_cap_is_refused_with_the_fix(tmp_path):
    models = {f"m{i}": _api(f"m{i}") for i in range(8)}  # 8 * 7 / 2 = 28 pairs, all able to break the contract
    with pytest.raises(SpecError, match=r"evals/t.yaml: cascades: suggest: the ladder of 8 candidates suggests 28 "
                                        r"cascades, more than 20 .*fix: list fewer candidates"):
        _load(tmp_path, models, cascades="suggest", output=CHOICES, candidates=list(models))


def test_a_misspelt_mode_is_an_error(tmp_path):
    with pytest.raises(SpecError, match=r"evals/t.yaml: cascades: .*'listed' or 'suggest'"):
        _load(tmp_path, MODELS, cascades="sugest", candidates=["rule", "big"])


# the decision ------------------------------------------------------------------------------------


def _decided(root: Path, specs: dict) -> tuple[object, dict[str, Decision]]:
    write_project(root, models=MODELS, specs=specs, golden={t: cases(40) for t in specs}, files={"rules.py": RULES})
    project = load_project(root)
    run(project, progress=False)
    rec = recommend(project)
    return project, {d.task: d for d in rec.decisions}


def test_the_cascades_in_front_of_the_qualifying_model_are_tried_and_every_suggestion_counts(tmp_path):
    _, decisions = _decided(tmp_path, {"q": spec("q", threshold=0.8, output=CHOICES, cascades="suggest",
                                                 candidates=["rule", "mid", "big"])})
    d = decisions["q"]
    assert d.suggested_cascades == {"suggested": 3, "tried": ["rule>big", "mid>big"]}  # big qualifies, mid does not
    assert d.family == ["rule", "mid", "big", "rule>mid", "rule>big", "mid>big"]
    assert "over 6 policies (3 models, 3 cascades, 1 untested)" in d.procedure  # rule>mid: counted, not tried
    assert d.recommended == "rule>big" and d.entry["cascade"][0]["defer"] == ["abstain", "contract"]


def test_with_no_qualifying_model_the_cascades_in_front_of_the_dearest_are_tried(tmp_path):
    _, decisions = _decided(tmp_path, {"n": spec("n", threshold=0.8, output=CHOICES, cascades="suggest",
                                                 candidates=["rule", "mid", "weak"])})
    d = decisions["n"]
    assert d.suggested_cascades == {"suggested": 3, "tried": ["rule>weak", "mid>weak"]}
    assert d.status == "no_qualifier"


def test_the_untried_suggestions_make_the_levels_stricter(tmp_path):
    """The family is fixed by the spec: a suggestion that is not tried still lowers each level."""
    _, decisions = _decided(tmp_path, {
        "s": spec("s", threshold=0.8, output=CHOICES, cascades="suggest", candidates=["rule", "mid", "big"]),
        "l": spec("l", threshold=0.8, output=CHOICES, candidates=["rule", "mid", "big"])})
    level = {t: next(c.level for c in d.candidates if c.model == "big") for t, d in decisions.items()}
    assert level["l"] == pytest.approx(0.05 / 3)  # Holm over 3: big has the smallest p-value
    assert level["s"] == pytest.approx(0.05 / 6)  # over 6: rule>mid, never tried, is counted all the same


def test_recommend_says_how_many_cascades_it_tried(tmp_path, monkeypatch, capsys):
    _decided(tmp_path, {"q": spec("q", threshold=0.8, output=CHOICES, cascades="suggest",
                                  candidates=["rule", "mid", "big"])})
    monkeypatch.chdir(tmp_path)
    code, out, _ = tierwise(monkeypatch, capsys, "recommend")
    assert code == 0
    assert ("  suggested:  tried 2 of the 3 cascades the ladder suggests: rule>big, mid>big (each cheaper candidate "
            "in front of each qualifying one, else the dearest; all 3 count in the family)") in out.splitlines()
    document = json.loads(tierwise(monkeypatch, capsys, "recommend", "--json")[1])
    assert document["tasks"][0]["suggested_cascades"] == {"suggested": 3, "tried": ["rule>big", "mid>big"]}


def test_an_adaptive_run_records_a_family_that_counts_the_suggestions(tmp_path):
    write_project(tmp_path, models=MODELS, specs={"q": spec("q", threshold=0.8, output=CHOICES, cascades="suggest",
                                                            adaptive=True, candidates=["rule", "mid", "big"])},
                  golden={"q": cases(40)}, files={"rules.py": RULES})
    from harness.store import Store

    project = load_project(tmp_path)
    run(project, progress=False)
    with Store(project.store_url(None)) as db:
        info = json.loads(db.runs()[-1]["info"])
    assert info["adaptive"]["q"]["family_size"] == 6


# the same entry, evidence identity and gate as the cascade listed by hand ------------------------


def _entry_and_identity(root: Path, candidates: list, **overrides) -> tuple[dict, dict]:
    project, _ = _decided(root, {"t": spec("t", threshold=0.8, output=CHOICES, candidates=candidates, **overrides)})
    write_registry(project, recommend(project))
    entry = yaml.safe_load((root / "registry.yaml").read_text())["tasks"]["t"]
    evidence = json.loads((root / "registry.evidence.json").read_text())["tasks"]["t"]
    return entry, {k: v for k, v in evidence.items() if k not in ("run_ids", "runs", "digest", "created_at",
                                                                   "recorded_at", "price_map_version")}


def test_a_suggested_cascade_that_certifies_writes_the_entry_of_the_same_cascade_listed_by_hand(tmp_path):
    suggested = _entry_and_identity(tmp_path / "s", ["rule", "big"], cascades="suggest")
    listed = _entry_and_identity(tmp_path / "l", ["rule", "big", {"cascade": ["rule", "big"],
                                                                  "defer": ["abstain", "contract"]}])
    assert suggested[0]["cascade"][0] == {"model": "python:rules:half", "defer": ["abstain", "contract"]}
    assert suggested[0] == listed[0]
    for record in (suggested[1], listed[1]):  # the stages' runs are each project's own
        for stage in record["cascade"]["stages"]:
            stage.pop("run_ids")
    assert suggested[1]["cascade"] == listed[1]["cascade"]
    assert suggested[1]["family"] == listed[1]["family"] == ["rule", "big", "rule>big"]


def test_the_gate_accepts_a_suggested_cascades_entry(tmp_path):
    _entry_and_identity(tmp_path, ["rule", "big"], cascades="suggest")
    result = gate(load_project(tmp_path))
    assert result.ok, result.text()
    assert "PASS t: cascade rule>big" in result.text()
