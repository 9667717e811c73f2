"""`tierwise gate`: registry entries against recorded evidence, on a checkout without a store."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import load_project
from harness.commands import gate, recommend
from harness.errors import RegistryError, TierwiseError
from harness.registry import write_junit
from harness.registry import write_registry as write
from harness.runner import run
from tests.projfix import tierwise, cases, spec, write_project
from tests.conftest import require, require_module

REPO = Path(__file__).resolve().parents[2]
MODELS = {"rule": {"python": "rules:echo"}, "upper": {"python": "rules:upper"}, "boom": {"python": "rules:boom"}}
RULES = ["date-rule", "triage-keywords", "sentiment-lexicon"]


def _backed(root: Path) -> Path:
    """A project whose registry is written by recommend --write from real runs; then its store is deleted."""
    specs = {"t": spec("t", candidates=["rule", "upper"], params={"temperature": 0, "max_tokens": 8}),
             "u": spec("u", candidates=["rule"], params={"temperature": 0, "max_tokens": 4})}
    write_project(root, models=MODELS, specs=specs, golden={"t": cases(12), "u": cases(12)})
    project = load_project(root)
    run(project, progress=False)
    write(project, recommend(project))
    shutil.rmtree(root / ".tierwise")  # a fresh checkout has no results database
    return root


@pytest.fixture(scope="module")
def backed_template(tmp_path_factory) -> Path:
    return _backed(tmp_path_factory.mktemp("backed") / "p")


@pytest.fixture
def proj(tmp_path, backed_template) -> Path:
    root = tmp_path / "p"
    shutil.copytree(backed_template, root)
    return root


def _gate(root: Path, **kw):
    return gate(load_project(root), **kw)


def _line(result, task: str) -> str:
    return next(t.line for t in result.tasks if t.task == task)




def _edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _edit_registry(root: Path, task: str, **values) -> None:
    _edit_yaml(root / "registry.yaml", lambda d: d["tasks"][task].update(values))


def _edit_spec(root: Path, task: str, change) -> None:
    _edit_yaml(root / "evals" / f"{task}.yaml", change)


def _edit_golden(root: Path, task: str, change) -> None:
    path = root / "golden_sets" / f"{task}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    change(rows)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


# passing -------------------------------------------------------------------------------------

def test_backed_registry_passes_without_a_store(proj, monkeypatch, capsys):
    assert not (proj / ".tierwise").exists()
    code, out, _ = tierwise(monkeypatch, capsys, "gate", "--project", str(proj))
    assert code == 0, out
    # two candidates tested together (Holm): the first at 97.5%, the second at 95%
    assert re.search(r"^PASS t: rule, lower 0\.735 ≥ 0\.50 \(n=12\); fallbacks upper 0\.779$", out, re.M)
    assert re.search(r"^PASS u: rule, lower 0\.779 ≥ 0\.50 \(n=12\)$", out, re.M)
    assert out.rstrip().endswith("gate passed: 2 registry.yaml entries: 2 passed, 0 failed, 0 stale")
    assert not (proj / ".tierwise").exists()


@pytest.fixture(scope="module")
def example_template(tmp_path_factory) -> Path:
    """The bundled example, copied as a fresh clone would have it, evaluated with its rule
    candidates (no keys, no local models needed), registry written, store deleted."""
    root = tmp_path_factory.mktemp("example") / "p"
    root.mkdir()
    for name in ("evals", "golden_sets", "examples"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "tierwise.yaml", root)
    project = load_project(root)
    run(project, models=RULES, progress=False)
    write(project, recommend(project))
    shutil.rmtree(root / ".tierwise")
    return root


def test_bundled_example_passes_on_fresh_clone_after_recommend_write(example_template, monkeypatch, capsys):
    code, out, _ = tierwise(monkeypatch, capsys, "gate", "--project", str(example_template))
    assert code == 0, out
    passed = re.findall(r"^PASS (\w+): ([\w-]+), lower ([\d.]+) ≥ ([\d.]+) \(n=(\d+)\)$", out, flags=re.M)
    assert passed, out
    assert ("date_extraction", "date-rule") in {(t, m) for t, m, *_ in passed}
    assert all(float(lower) >= float(threshold) for *_, lower, threshold, _ in passed)


def test_bundled_example_fails_when_a_threshold_is_raised_above_its_evidence(example_template, tmp_path):
    root = shutil.copytree(example_template, tmp_path / "p")
    path = root / "evals" / "date_extraction.yaml"
    path.write_text(re.sub(r"^threshold: .*$", "threshold: 0.99", path.read_text(), flags=re.M))
    result = _gate(root)
    assert result.exit_code == 1
    line = _line(result, "date_extraction")
    assert re.fullmatch(r"FAIL date_extraction: date-rule lower 0\.\d+ < threshold 0\.99 \(n=\d+, recorded at "
                        r"threshold 0\.90\); fix: tierwise run date_extraction && tierwise recommend date_extraction "
                        r"--write", line), line


@pytest.mark.requires((REPO / "registry.yaml").exists(), "no registry.yaml committed in the repository")
def test_committed_example_registry_passes(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    for name in ("evals", "golden_sets", "examples"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("tierwise.yaml", "registry.yaml", "registry.evidence.json"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, root)
    result = _gate(root)
    assert result.ok, result.text()


def test_gate_needs_no_litellm_and_no_store(proj):
    code = ("import sys; from harness import load_project; from harness.commands import gate; "
            f"r = gate(load_project({str(proj)!r})); "
            "print(r.exit_code, 'litellm' in sys.modules, 'pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.split() == ["0", "False", "False"], done.stderr
    assert not (proj / ".tierwise").exists()


# failing, one line per task ------------------------------------------------------------------

def test_hand_edited_model_outside_the_catalog_has_no_evidence(proj, monkeypatch, capsys):
    _edit_registry(proj, "t", model="openai/gpt-4o")
    code, out, _ = tierwise(monkeypatch, capsys, "gate", "--project", str(proj))
    assert code == 1
    assert ("FAIL t: registry model openai/gpt-4o has no evidence (the evidence is for python:rules:echo); "
            "fix: add openai/gpt-4o to tierwise.yaml models: and to candidates: in evals/t.yaml, "
            "then tierwise run t && tierwise recommend t --write") in out
    assert "PASS u:" in out
    assert "gate failed: 2 registry.yaml entries: 1 passed, 1 failed, 0 stale" in out


def test_hand_edited_model_from_the_catalog_names_the_run_that_backs_it(proj):
    _edit_registry(proj, "u", model="python:rules:upper")
    _edit_spec(proj, "u", lambda d: d.update(candidates=["rule", "upper"]))
    line = _line(_gate(proj), "u")
    assert line.startswith("FAIL u: registry model python:rules:upper has no evidence "
                           "(the evidence is for python:rules:echo)")
    assert line.endswith("fix: tierwise run u --models upper && tierwise recommend u --write")


def test_entry_without_evidence_record(proj):
    doc = json.loads((proj / "registry.evidence.json").read_text())
    del doc["tasks"]["u"]
    (proj / "registry.evidence.json").write_text(json.dumps(doc))
    assert _line(_gate(proj), "u") == ("FAIL u: registry model python:rules:echo has no evidence; "
                                       "fix: tierwise run u --models rule && tierwise recommend u --write")


def test_golden_case_changed_after_the_evidence_is_stale(proj):
    _edit_golden(proj, "u", lambda rows: rows[0].update(vars={"text": "no"}, expected="no"))
    result = _gate(proj)
    assert result.exit_code == 1
    assert _line(result, "u") == ("STALE u: stale evidence: golden_sets/u.jsonl changed since the evidence "
                                  "(cases edited); fix: tierwise run u && tierwise recommend u --write")
    assert _line(result, "t").startswith("PASS t:")


def test_golden_case_added_after_the_evidence_is_stale(proj):
    _edit_golden(proj, "u", lambda rows: rows.append({"id": "new", "vars": {"text": "yes"}, "expected": "yes"}))
    assert "golden_sets/u.jsonl changed since the evidence (12 → 13 cases)" in _line(_gate(proj), "u")


@pytest.fixture(scope="module")
def api_template(tmp_path_factory) -> Path:
    """Evidence for an LLM candidate (through LiteLLM to a loopback server) beside a python: rule."""
    from tests.fake_openai import FakeOpenAI

    root = tmp_path_factory.mktemp("api") / "p"
    with FakeOpenAI() as server:
        models = {**MODELS, "api": {"litellm": "openai/fake-model", "api_base": server.base_url,
                                    "api_key_env": "TW_GATE_FAKE_KEY",
                                    "price": {"input_per_mtok": 1.0, "output_per_mtok": 1.0}}}
        specs = {"v": spec("v", candidates=["api"], params={"temperature": 0, "max_tokens": 4}),
                 "w": spec("w", candidates=["rule", "api"], params={"temperature": 0, "max_tokens": 4})}
        write_project(root, models=models, specs=specs, golden={"v": cases(12), "w": cases(12)})
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TW_GATE_FAKE_KEY", "sk-test")
            project = load_project(root)
            run(project, progress=False)
            write(project, recommend(project))
    shutil.rmtree(root / ".tierwise")
    return root


@pytest.fixture
def api_proj(tmp_path, api_template) -> Path:
    root = tmp_path / "p"
    shutil.copytree(api_template, root)
    return root


def test_prompt_changed_after_the_evidence_is_stale(api_proj):
    assert _line(_gate(api_proj), "v").startswith("PASS v: api")
    _edit_spec(api_proj, "v", lambda d: d["prompt"].update(system="Answer yes or no."))
    assert _line(_gate(api_proj), "v") == (
        "STALE v: stale evidence: evals/v.yaml changed since the evidence for api (prompt, output, params or "
        "graders); fix: tierwise run v && tierwise recommend v --write")


def test_prompt_variant_of_a_fallback_makes_its_evidence_stale(api_proj):
    assert _line(_gate(api_proj), "w").startswith("PASS w: rule")
    _edit_spec(api_proj, "w", lambda d: d["prompt"].update(variants={"api": {"system": "Shout it."}}))
    assert "fallback evals/w.yaml changed since the evidence for api" in _line(_gate(api_proj), "w")


def test_prompt_change_leaves_a_python_rules_evidence_current(proj):
    # A python: candidate is called with the case vars, never the prompt.
    _edit_spec(proj, "u", lambda d: d["prompt"].update(system="Answer yes or no."))
    assert _line(_gate(proj), "u").startswith("PASS u: rule")


def test_threshold_raised_above_the_evidence_fails(proj):
    _edit_spec(proj, "u", lambda d: d.update(threshold=0.9))
    assert _line(_gate(proj), "u") == (
        "FAIL u: rule lower 0.779 < threshold 0.90 (n=12, recorded at threshold 0.50); "
        "fix: tierwise run u && tierwise recommend u --write")


def test_confidence_changed_is_stale(proj):
    _edit_spec(proj, "u", lambda d: d.update(confidence=0.99))
    assert "confidence changed from 0.95 to 0.99 in evals/u.yaml" in _line(_gate(proj), "u")


@pytest.mark.parametrize(("key", "value", "measured"), [("temperature", 0.7, "0"), ("max_tokens", 64, "4")])
def test_registry_param_hand_edited_fails(proj, key, value, measured):
    _edit_registry(proj, "u", **{key: value})
    line = _line(_gate(proj), "u")
    assert line.startswith(f"FAIL u: registry {key} {value} but the evidence was measured with {key} {measured}; "
                           f"fix: set {key}: {measured} back in registry.yaml")


@pytest.mark.parametrize(("key", "value", "change"), [("temperature", 0.7, "0 → 0.7"), ("max_tokens", 64, "4 → 64")])
def test_spec_param_changed_is_stale(proj, key, value, change):
    _edit_spec(proj, "u", lambda d: d["params"].update({key: value}))
    assert f"evals/u.yaml changed since the evidence for rule (params.{key} {change})" in _line(_gate(proj), "u")


def test_fallback_without_evidence_fails(proj):
    _edit_registry(proj, "t", fallbacks=["python:rules:upper", "python:rules:boom"])
    line = _line(_gate(proj), "t")
    assert line.startswith("FAIL t: fallback python:rules:boom has no evidence")


def test_catalog_entry_repointed_is_stale(proj):
    _edit_yaml(proj / "tierwise.yaml", lambda d: d["models"].update(rule={"python": "rules:upper"}))
    assert ("tierwise.yaml models.rule now points to python:rules:upper, the evidence is for python:rules:echo"
            in _line(_gate(proj), "u"))


def test_registry_task_without_a_spec_fails(proj):
    (proj / "evals" / "u.yaml").unlink()
    assert _line(_gate(proj), "u") == ("FAIL u: registry entry has no eval spec (no evals/*.yaml defines this task); "
                                       "fix: restore its spec in evals/, or remove tasks.u from registry.yaml")


def test_missing_evidence_file_fails_every_entry(proj, monkeypatch, capsys):
    (proj / "registry.evidence.json").unlink()
    code, out, _ = tierwise(monkeypatch, capsys, "gate", "--project", str(proj))
    assert code == 1
    assert ("FAIL t: no evidence: registry.evidence.json: evidence file not found; "
            "fix: tierwise run t && tierwise recommend t --write, and commit registry.evidence.json") in out
    assert "FAIL u: no evidence: registry.evidence.json: evidence file not found" in out


@pytest.mark.parametrize(("text", "says"), [
    ("{not json", "registry.evidence.json: malformed evidence (Expecting property name"),
    ('{"version": 99, "tasks": {}}', "registry.evidence.json: not a Tierwise evidence file"),
])
def test_malformed_evidence_file_fails(proj, text, says):
    (proj / "registry.evidence.json").write_text(text)
    result = _gate(proj)
    assert result.exit_code == 1
    assert _line(result, "t").startswith(f"FAIL t: no evidence: {says}")


def test_malformed_evidence_record_fails(proj):
    doc = json.loads((proj / "registry.evidence.json").read_text())
    del doc["tasks"]["u"]["spec_hash"]
    (proj / "registry.evidence.json").write_text(json.dumps(doc))
    assert _line(_gate(proj), "u").startswith("FAIL u: evidence for u is malformed (missing spec_hash)")


# bad input: exit 2 ---------------------------------------------------------------------------

def test_missing_registry_is_bad_input(proj, monkeypatch, capsys):
    (proj / "registry.yaml").unlink()
    code, _, err = tierwise(monkeypatch, capsys, "gate", "--project", str(proj))
    assert code == 2
    assert err.startswith("error: registry.yaml: not found; fix: `tierwise run` then `tierwise recommend --write`")


def test_invalid_registry_yaml_is_bad_input(proj):
    (proj / "registry.yaml").write_text("tasks: [unclosed\n")
    with pytest.raises(RegistryError, match=r"^registry\.yaml:2: invalid YAML"):
        _gate(proj)


# --base --------------------------------------------------------------------------------------

def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                    *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(proj) -> Path:
    require(shutil.which("git"), "git is not installed")
    _git(proj, "init", "-q")
    _git(proj, "add", "-A")
    _git(proj, "commit", "-qm", "backed registry")
    return proj


def test_base_lists_changed_entries_first(repo, monkeypatch, capsys):
    _edit_golden(repo, "u", lambda rows: rows[0].update(vars={"text": "no"}, expected="no"))
    _edit_registry(repo, "u", temperature=0.5)
    code, out, _ = tierwise(monkeypatch, capsys, "gate", "--base", "HEAD", "--project", str(repo))
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == "changed against HEAD: u (entry changed: temperature, golden_sets/u.jsonl changed)"
    assert lines[1].startswith("FAIL u [changed]: registry temperature 0.5 but the evidence was measured with "
                               "temperature 0; golden_sets/u.jsonl changed since the evidence (cases edited)")
    assert lines[2].startswith("PASS t:")
    assert lines[-1] == "gate failed: 2 registry.yaml entries: 1 passed, 1 failed, 0 stale (1 changed against HEAD)"


def test_base_reports_unchanged_stale_entries_and_removed_ones(repo):
    _edit_golden(repo, "t", lambda rows: rows.pop())
    _git(repo, "commit", "-qam", "golden set edited without re-running")
    _edit_yaml(repo / "registry.yaml", lambda d: d["tasks"].pop("u"))
    result = _gate(repo, base="HEAD")
    assert result.removed == ["u"]
    assert result.lines()[0] == "changed against HEAD: no registry entries; removed: u"
    assert _line(result, "t").startswith("STALE t: stale evidence: golden_sets/t.jsonl changed since the evidence")
    assert result.exit_code == 1


def test_base_entry_added_since_ref(repo):
    _git(repo, "rm", "-q", "--cached", "registry.yaml", "registry.evidence.json")
    _git(repo, "commit", "-qm", "registry not yet committed")
    result = _gate(repo, base="HEAD")
    assert [t.changes for t in result.tasks] == [["added"], ["added"]] and result.ok


def test_bad_base_ref_is_bad_input(repo, monkeypatch, capsys):
    code, out, err = tierwise(monkeypatch, capsys, "gate", "--base", "no-such-branch", "--project", str(repo))
    assert code == 2 and out == ""
    assert err.startswith("error: --base no-such-branch: unknown git ref; fix: pass a branch, tag or commit")


def test_base_outside_a_git_repository_is_bad_input(proj):
    require(shutil.which("git"), "git is not installed")
    with pytest.raises(TierwiseError, match=r"is not inside a git repository; fix: run the gate in a checkout"):
        _gate(proj, base="HEAD")


# --rerun -------------------------------------------------------------------------------------

def test_rerun_judges_fresh_results_instead_of_stale_evidence(proj):
    _edit_golden(proj, "u", lambda rows: rows.append({"id": "new", "vars": {"text": "yes"}, "expected": "yes"}))
    assert _gate(proj).exit_code == 1
    result = _gate(proj, rerun=True)
    assert result.ok, result.text()
    assert _line(result, "u") == "PASS u: rule, lower 0.794 ≥ 0.50 (n=13), re-evaluated"
    assert _line(result, "t") == "PASS t: rule, lower 0.735 ≥ 0.50 (n=12), re-evaluated; fallbacks upper 0.779"


def test_rerun_fails_when_the_model_no_longer_qualifies(proj):
    _edit_golden(proj, "u", lambda rows: [r.update(expected="maybe") for r in rows])
    line = _line(_gate(proj, rerun=True), "u")
    assert line.startswith("FAIL u: re-evaluated: rule does not qualify (lower bound 0.000 < 0.5")


def test_rerun_with_base_only_reevaluates_changed_tasks(repo):
    _edit_golden(repo, "u", lambda rows: rows.append({"id": "new", "vars": {"text": "yes"}, "expected": "yes"}))
    result = _gate(repo, base="HEAD", rerun=True)
    assert result.ok, result.text()
    assert {t.task: t.rerun for t in result.tasks} == {"u": True, "t": False}


# JUnit ---------------------------------------------------------------------------------------

def test_junit_file_is_valid_with_one_case_per_entry(proj, tmp_path, monkeypatch, capsys):
    junitparser = require_module("junitparser", "needs junitparser: pip install -e '.[dev]'")
    _edit_registry(proj, "t", model="openai/gpt-4o")
    out_file = tmp_path / "out" / "gate.xml"
    code, _, _ = tierwise(monkeypatch, capsys, "gate", "--junit", str(out_file), "--project", str(proj))
    assert code == 1
    xml = junitparser.JUnitXml.fromfile(str(out_file))
    suite = next(iter(xml))
    assert suite.name == "tierwise gate" and suite.tests == 2 and suite.failures == 1
    by_name = {case.name: case for case in suite}
    assert set(by_name) == {"t", "u"} and by_name["t"].classname == "tierwise.gate"
    assert by_name["u"].is_passed
    (failure,) = by_name["t"].result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message.startswith("registry model openai/gpt-4o has no evidence")
    assert "fix: add openai/gpt-4o to tierwise.yaml" in failure.text


def test_junit_for_a_passing_gate(proj, tmp_path):
    path = tmp_path / "gate.xml"
    write_junit(_gate(proj), path)
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "0"
    assert [c.get("name") for c in suite.iter("testcase")] == ["t", "u"]
    assert suite.find("testcase/failure") is None


def test_gate_base_without_git_is_an_environment_failure_with_exit_3(proj, monkeypatch):
    from harness.errors import EnvironmentFailure
    from harness.registry import _git

    monkeypatch.setattr(_git.shutil, "which", lambda name: None)
    with pytest.raises(EnvironmentFailure, match=r"--base needs git, which is not installed here") as info:
        _gate(proj, base="HEAD")
    assert info.value.exit_code == 3
