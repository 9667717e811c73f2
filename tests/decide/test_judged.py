"""Judge agreement with people and the prediction-powered bound: pinned to hand-computed values,
to scikit-learn's kappa and to the ppi-python package's intervals, and simulated."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from harness import load_project, recommend, run
from harness.decide import agreement, cohen_kappa, corrected_lower_bound, ppi_lower_bound
from harness.decide import stats
from tests.projfix import spec, write_project
from tests.conftest import require_module

# ---- agreement ----------------------------------------------------------------------------------

A = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0]
B = [1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0]


def test_kappa_by_hand():
    # observed 9/12; chance 8/12*7/12 + 4/12*5/12 = 76/144; kappa = (108-76)/(144-76) = 32/68 = 8/17
    assert cohen_kappa(A, B) == pytest.approx(8 / 17)


@pytest.mark.parametrize("judge, human, expected", [
    (A, B, 0.47058823529411764),                                   # sklearn.metrics.cohen_kappa_score
    ([1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 1], 0.1428571428571429),
    ([1, 0, 1, 0], [1, 0, 1, 0], 1.0),
    ([1, 0, 1, 0], [0, 1, 0, 1], -1.0),
])
def test_kappa_matches_scikit_learn(judge, human, expected):
    assert cohen_kappa(judge, human) == pytest.approx(expected, abs=1e-12)


def test_kappa_is_undefined_when_both_raters_pass_everything():
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    assert cohen_kappa([1, 1, 1], [1, 0, 1]) == 0.0  # a constant judge agrees only by chance


def test_agreement_confusion_and_accuracy():
    a = agreement(A, B)
    assert (a.n, a.accuracy) == (12, 0.75)
    assert (a.both_pass, a.judge_pass_human_fail, a.judge_fail_human_pass, a.both_fail) == (6, 2, 1, 3)


# ---- PPI ----------------------------------------------------------------------------------------

Y = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1.0]
YHAT = [1, 1, 1, 1, 0, 1, 1, 0, 0, 1.0]
YTIL = [1.0] * 22 + [0.0] * 8


@pytest.mark.parametrize("lam, lower", [
    (1.0, 0.46547702),   # ppi_py.ppi_mean_ci(Y, YHAT, YTIL, alpha=0.05, alternative="larger", lam=1.0)
    (0.0, 0.46163806),   # ... lam=0.0 (the human labels alone, by the CLT)
])
def test_ppi_bound_matches_ppi_python(lam, lower):
    assert ppi_lower_bound(Y, YHAT, YTIL, 0.95, lam=lam).lower == pytest.approx(lower, abs=1e-7)


def test_ppi_plus_plus_tuned_lambda_matches_ppi_python():
    # ppi_py.ppi._calc_lam_glm gives lam 0.40344827586206905; ppi_mean_ci(..., lam=that) 0.50150238
    bound = ppi_lower_bound(Y, YHAT, YTIL, 0.95)
    assert bound.lam == pytest.approx(0.40344827586206905, abs=1e-12)
    assert bound.lower == pytest.approx(0.50150238, abs=1e-7)


def test_ppi_on_continuous_scores_matches_ppi_python():
    yc = [0.63, 0.9, 0.78, 0.23, 0.3, 0.87, 0.01, 0.82, 0.8, 0.47, 0.3, 0.28, 0.25, 0.45, 0.5]
    yhc = [0.77, 0.63, 0.69, 0.0, 0.04, 0.5, 0.0, 0.57, 0.85, 0.5, 0.26, 0.0, 0.14, 0.44, 0.52]
    ytc = [0.5, 0.25, 0.01, 0.19, 0.69, 0.2, 0.37, 0.0, 0.83, 0.15, 0.27, 0.88, 0.51, 0.85, 0.64, 0.74, 0.09,
           0.54, 0.51, 0.87, 0.36, 0.6, 0.06, 0.39, 0.32, 0.15, 0.82, 0.38, 0.98, 0.59, 0.61, 0.64, 0.68, 0.15,
           0.44, 0.24, 0.4, 0.1, 0.97, 0.22]
    tuned = ppi_lower_bound(yc, yhc, ytc, 0.90)
    assert tuned.lam == pytest.approx(0.595804556811225, abs=1e-12)
    assert tuned.lower == pytest.approx(0.48212107, abs=1e-7)
    assert ppi_lower_bound(yc, yhc, ytc, 0.90, lam=1.0).lower == pytest.approx(0.49193294, abs=1e-7)


def test_ppi_live_against_the_library_when_installed():
    ppi_py = require_module("ppi_py", "needs ppi-python: pip install -e '.[dev]'")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 25).astype(float)
    yhat = np.where(rng.random(25) < 0.8, y, 1 - y)
    ytil = rng.integers(0, 2, 120).astype(float)
    for lam in (1.0, 0.3):
        lib = ppi_py.ppi_mean_ci(y, yhat, ytil, alpha=0.05, alternative="larger", lam=lam)[0][0]
        assert ppi_lower_bound(y, yhat, ytil, 0.95, lam=lam).lower == pytest.approx(max(0.0, lib), abs=1e-10)


def test_a_constant_judge_gets_no_weight():
    assert ppi_lower_bound(Y, [1.0] * 10, [1.0] * 50, 0.95).lam == 0.0


def test_too_few_labels_vouch_for_nothing():
    assert ppi_lower_bound([1.0], [1.0], [1.0] * 50, 0.95).lower == 0.0


def _judged_sample(rng, true_p, lenient, harsh, n_cases, n_labels):
    """Human verdicts y, a judge that passes `lenient` of the failures and fails `harsh` of the
    passes, and a random labelled subset."""
    y = (rng.random(n_cases) < true_p).astype(float)
    noise = rng.random(n_cases)
    yhat = np.where(y == 1, noise > harsh, noise < lenient).astype(float)
    labelled = rng.choice(n_cases, n_labels, replace=False)
    rest = np.setdiff1d(np.arange(n_cases), labelled)
    return y[labelled], yhat[labelled], yhat[rest], yhat


@pytest.mark.parametrize("true_p, lenient, harsh, labels", [
    (0.75, 0.30, 0.05, 20),   # a lenient judge
    (0.90, 0.50, 0.02, 20),   # a very lenient judge, a strong model
    (0.60, 0.10, 0.20, 20),   # a harsh judge
])
def test_corrected_bound_keeps_its_promise_by_simulation(true_p, lenient, harsh, labels):
    rng = np.random.default_rng(11)
    reps, misses, plain = 1000, 0, 0
    for _ in range(reps):
        y, yhat, ytil, every = _judged_sample(rng, true_p, lenient, harsh, 200, labels)
        misses += corrected_lower_bound(y, yhat, ytil, 0.95).lower > true_p
        plain += stats.lower_bound(every, 0.95).lower > true_p
    assert misses / reps <= 0.05
    if lenient > harsh:
        assert plain / reps > 0.25  # the judge's grades alone overstate the rate


def test_clt_ppi_covers_less_than_promised_at_twenty_labels():
    """Why decisions use the exact correction: the CLT estimator (ppi-python's) at 20 labels,
    lenient judge, misses the true rate far more often than 5% (measured 0.10 to 0.18)."""
    rng = np.random.default_rng(11)
    reps, misses = 1000, 0
    for _ in range(reps):
        y, yhat, ytil, _ = _judged_sample(rng, 0.75, 0.30, 0.05, 200, 20)
        misses += ppi_lower_bound(y, yhat, ytil, 0.95).lower > 0.75
    assert misses / reps > 0.08


def test_a_judge_that_passes_everything_cannot_qualify_a_weak_candidate_by_simulation():
    """True rate 0.6, threshold 0.8, a judge that passes every output, 30 human verdicts among 300
    cases: the corrected bound never clears the threshold; the plain one always does."""
    rng = np.random.default_rng(5)
    reps, qualified, plain = 1000, 0, 0
    for _ in range(reps):
        y, yhat, ytil, every = _judged_sample(rng, 0.6, 1.0, 0.0, 300, 30)
        qualified += corrected_lower_bound(y, yhat, ytil, 0.95).lower >= 0.8
        plain += stats.lower_bound(every, 0.95).lower >= 0.8
    assert qualified == 0 and plain == reps


def test_corrected_bound_by_hand():
    # 10 labels, the judge passed two outputs people failed: over-grading 2/10; 40 judge scores, 30 pass.
    y = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1]
    yhat = [1, 1, 1, 1, 1, 1, 1, 1, 0, 1]
    ytil = [1] * 21 + [0] * 9
    b = corrected_lower_bound(y, yhat, ytil, 0.90)
    judge_low = stats.clopper_pearson_lower(30, 40, 0.95)         # 30 of 40 judge passes, at 0.95
    over_high = 1 - stats.clopper_pearson_lower(8, 10, 0.95)      # 2 of 10 over-graded, upper at 0.95
    assert b.lower == pytest.approx(judge_low - over_high)
    assert b.estimate == pytest.approx(30 / 40 - 2 / 10)


# ---- end to end: labels, agreement, min_agreement, the corrected bound in the decision ----------

JUDGES = '''
import json

def passes_all(v):
    return json.dumps({"reason": "looks fine", "verdict": "pass"})

def strict(v):
    verdict = "pass" if v["output"].startswith("good") else "fail"
    return json.dumps({"reason": "checked", "verdict": verdict})
'''


def _project(tmp_path, judge: str, labels: list[dict] | None, min_agreement: float | None = None,
             measure: str = "accuracy", n: int = 40, threshold: float = 0.2):
    # The rule answers "good …" on 60% of the cases and "bad …" on the rest.
    golden = [{"id": f"c{i:03d}", "vars": {"text": f"{'good' if i % 5 < 3 else 'bad'} reply {i}"},
               "expected": f"good reply {i}"} for i in range(n)]
    policy = {}
    if labels is not None:
        policy["labels"] = "golden_sets/t.labels.jsonl"
    if min_agreement is not None:
        policy.update(min_agreement=min_agreement, agreement=measure)
    files = {"judges.py": JUDGES}
    if labels is not None:
        files["golden_sets/t.labels.jsonl"] = "".join(json.dumps(x) + "\n" for x in labels)
    extra = {"judge": policy} if policy else {}
    write_project(tmp_path, models={"rule": {"python": "rules:echo", "price": {"per_call": 0.0}},
                                    "judge": {"python": f"judges:{judge}"}},
                  specs={"t": spec(candidates=["rule"], threshold=threshold, confidence=0.95,
                                   graders=[{"type": "llm_judge", "rubric": "Is it good?", "judge": "judge"}],
                                   **extra)},
                  golden={"t": golden}, files=files)
    return load_project(tmp_path)


def _labels(n: int = 40, every: int = 2) -> list[dict]:
    """Honest verdicts on every `every`-th case: pass where the reply is good."""
    out = []
    for i in range(0, n, every):
        good = i % 5 < 3
        out.append({"case": f"c{i:03d}", "output": f"{'good' if good else 'bad'} reply {i}",
                    "verdict": "pass" if good else "fail"})
    return out


def test_lenient_judge_qualifies_alone_but_not_against_human_verdicts(tmp_path):
    project = _project(tmp_path / "a", "passes_all", None, threshold=0.5)
    run(project, progress=False)
    alone = recommend(project).decisions[0]
    assert alone.recommended == "rule"  # the judge says 40/40

    threshold_spec = _project(tmp_path / "b", "passes_all", _labels(), threshold=0.5)
    run(threshold_spec, progress=False)
    d = recommend(threshold_spec).decisions[0]
    c = d.candidates[0]
    assert c.plain_lower > 0.9 and c.human_labels == 20
    assert c.lower < 0.5 and c.method == "judge corrected, exact, 20 human verdicts"
    assert d.judge_agreement["accuracy"] == pytest.approx(12 / 20)
    assert d.judge_agreement["confusion"]["judge_pass_human_fail"] == 8


def test_min_agreement_refuses_judge_evidence_below_the_bar(tmp_path):
    project = _project(tmp_path, "passes_all", _labels(), min_agreement=0.8)
    run(project, progress=False)
    c = recommend(project).decisions[0].candidates[0]
    assert not c.qualifies and c.why_not.startswith("judge agreement (accuracy) 0.60 < min_agreement 0.8")


def test_min_agreement_without_labels_says_how_to_measure(tmp_path):
    project = _project(tmp_path, "strict", None, min_agreement=0.8)
    run(project, progress=False)
    c = recommend(project).decisions[0].candidates[0]
    assert "not measured (judge.min_agreement 0.8 in evals/t.yaml); add human verdicts to judge.labels" in c.why_not


def test_an_accurate_judge_passes_the_agreement_bar_and_keeps_a_tight_bound(tmp_path):
    project = _project(tmp_path, "strict", _labels(), min_agreement=0.8, measure="kappa")
    run(project, progress=False)
    d = recommend(project).decisions[0]
    assert d.judge_agreement["kappa"] == 1.0 and d.recommended == "rule"
    c = d.candidates[0]
    assert c.plain_lower > c.lower > 0.2  # 20 labels vouch for a judge within ~17%


# ---- the gate: min_agreement is checked against the recorded evidence ----------------------------


def test_gate_enforces_min_agreement_from_recorded_evidence(tmp_path):
    import shutil

    from harness.commands import gate
    from harness.fingerprint import evidence_digest
    from harness.registry import write_registry

    project = _project(tmp_path, "strict", _labels(), min_agreement=0.8)
    run(project, progress=False)
    write_registry(project, recommend(project))
    evidence = json.loads((tmp_path / "registry.evidence.json").read_text())["tasks"]["t"]
    assert evidence["judge_agreement"]["accuracy"] == 1.0 and evidence["human_labels"] == 20
    assert evidence["plain_lower"] > evidence["lower"]
    shutil.rmtree(tmp_path / ".tierwise")
    assert gate(load_project(tmp_path)).ok

    def recorded(doc):  # as recommend --write would have written it: with its digest
        doc["tasks"]["t"]["digest"] = evidence_digest(doc["tasks"]["t"])
        return json.dumps(doc)

    path = tmp_path / "registry.evidence.json"  # as if a weaker judge had been recorded
    doc = json.loads(path.read_text())
    doc["tasks"]["t"]["judge_agreement"]["accuracy"] = 0.7
    path.write_text(recorded(doc))
    result = gate(load_project(tmp_path))
    assert not result.ok and "judge agreement (accuracy) 0.70 < min_agreement 0.8" in result.text()
    del doc["tasks"]["t"]["judge_agreement"]
    path.write_text(recorded(doc))
    assert "agreement with people is not measured (judge.min_agreement 0.8" in gate(load_project(tmp_path)).text()


def test_gate_calls_evidence_stale_when_the_human_verdicts_change(tmp_path):
    from harness.commands import gate
    from harness.registry import write_registry

    project = _project(tmp_path, "strict", _labels())
    run(project, progress=False)
    write_registry(project, recommend(project))
    labels = tmp_path / "golden_sets" / "t.labels.jsonl"
    labels.write_text(labels.read_text().replace('"verdict": "pass"', '"verdict": "fail"', 1))
    assert "t.labels.jsonl (human verdicts) changed since the evidence" in gate(load_project(tmp_path)).text()


# ---- labels from zero: a declared labels file may be missing or empty ----------------------------


def _declared(tmp_path, judge="passes_all", content=None, threshold=0.5):
    """A judged task whose judge.labels is declared; the file holds `content` (None: absent)."""
    _project(tmp_path, judge, [], threshold=threshold)  # writes an empty labels file
    labels = tmp_path / "golden_sets" / "t.labels.jsonl"
    if content is None:
        labels.unlink()
    else:
        labels.write_text(content)
    return load_project(tmp_path)


@pytest.mark.parametrize("content, state", [(None, "does not exist yet"), ("", "is empty")])
def test_a_missing_or_empty_labels_file_loads_and_keeps_judge_evidence_from_qualifying(tmp_path, content, state,
                                                                                         monkeypatch, capsys):
    from tests.projfix import tierwise

    project = _declared(tmp_path, content=content)
    code, out, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code in (0, None), err
    run(project, progress=False)
    c = recommend(project).decisions[0].candidates[0]
    assert not c.qualifies
    assert c.why_not == (f"judge evidence cannot qualify before people judge some outputs: golden_sets/t.labels.jsonl "
                         f"{state}; fix: `tierwise labels t --template`, fill in the verdicts, then recommend again")


def test_the_labels_template_round_trip_from_zero_labels(tmp_path, monkeypatch, capsys):
    from tests.projfix import tierwise

    project = _declared(tmp_path, judge="strict", content=None, threshold=0.2)
    run(project, progress=False)
    code, out, _ = tierwise(monkeypatch, capsys, "labels", "t", "--template", "--project", str(tmp_path))
    assert code in (0, None) and "40 outputs to judge added (40 waiting, 0 verdicts so far)" in out
    path = tmp_path / "golden_sets" / "t.labels.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0] == {"case": "c000", "model": "rule", "output": "good reply 0", "verdict": None, "note": ""}
    waiting = load_project(tmp_path)
    assert waiting.tasks["t"].labels.todo == 40
    assert "40 outputs waiting for a verdict" in recommend(waiting).decisions[0].candidates[0].why_not
    for x in lines[:20]:  # a person judges the first twenty
        x["verdict"] = "pass" if x["output"].startswith("good") else "fail"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    again = load_project(tmp_path)
    d = recommend(again).decisions[0]
    assert d.recommended == "rule" and d.candidates[0].human_labels == 20
    assert d.candidates[0].human_mean == pytest.approx(12 / 20)
    code, out, _ = tierwise(monkeypatch, capsys, "labels", "t", "--template", "--project", str(tmp_path))
    assert "nothing new to label (20 verdicts, 20 waiting)" in out


def test_labels_template_without_a_declared_file_names_the_fix(tmp_path, monkeypatch, capsys):
    from tests.projfix import tierwise

    _project(tmp_path, "strict", None)
    code, _, err = tierwise(monkeypatch, capsys, "labels", "t", "--template", "--project", str(tmp_path))
    assert code == 2 and "evals/t.yaml: judge.labels is not set; fix: add judge: {labels:" in err


def test_best_evaluated_never_contradicts_the_human_verdicts(tmp_path):
    """The judge passes everything; people failed every output of `good` (a lenient judge's
    favourite, with the higher plain bound) and passed most of `other`'s: the advice names
    the one people preferred, with their verdicts."""
    from harness.decide import CandidateResult, best_evaluated

    judge_fav = CandidateResult(model="qwen-0.5b", target="x", provider="local", available=True, n=8, lower=0.7, mean=0.9, human_labels=8, human_mean=0.0)
    people_fav = CandidateResult(model="qwen-1.5b", target="y", provider="local", available=True, n=8, lower=0.5, mean=0.8, human_labels=8,
                                 human_mean=5 / 8)
    assert best_evaluated([judge_fav, people_fav]) is people_fav
    unlabelled = CandidateResult(model="rule", target="z", provider="python", available=True, n=8, lower=0.9, mean=0.95)
    assert best_evaluated([judge_fav, unlabelled]) is unlabelled  # no verdicts to compare with


def test_report_shows_per_model_human_pass_rates_and_each_outputs_human_verdict(tmp_path):
    from harness.report import build_report

    project = _project(tmp_path, "strict", _labels(every=4))
    run(project, progress=False)
    files = build_report(project, recommend(project), tmp_path / "reports")
    assert "rule: people passed 6 of 10 labelled outputs (60%)" in files.markdown.read_text()
    html = files.html.read_text()
    data = json.loads(re.search(r'<script type="application/json" id="cases-data">(.*?)</script>', html, re.S).group(1))
    humans = {case[1]: case[7][0][7] for case in data["cases"]}
    assert humans["c000"] == 1.0 and humans["c004"] == 0.0 and humans["c001"] is None


def test_the_labels_template_writes_no_key_even_one_learned_after_the_output_was_stored(tmp_path, monkeypatch, capsys):
    from tests.projfix import tierwise

    project = _declared(tmp_path, judge="strict", content=None, threshold=0.2)
    run(project, progress=False)
    # the rule's outputs ("good reply 0", …) hold "reply 0"; make that a key value only now
    monkeypatch.setenv("LATE_SERVICE_TOKEN", "good reply 0")
    tierwise(monkeypatch, capsys, "labels", "t", "--template", "--project", str(tmp_path))
    text = (tmp_path / "golden_sets" / "t.labels.jsonl").read_text()
    assert "good reply 0\"" not in text and "<LATE_SERVICE_TOKEN>" in text
