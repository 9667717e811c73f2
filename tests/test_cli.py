"""The command line: one-line errors with exit code 2, fast start, init, validate, models."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.projfix import tierwise, spec, write_project

REPO = Path(__file__).resolve().parents[1]




def test_bad_spec_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, specs={"t": spec(graders=[{"type": "containz"}])})
    code, out, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: evals/t.yaml: graders[0].type: unknown grader 'containz'")
    assert "Traceback" not in err


def test_run_refuses_bad_input_before_any_call(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, specs={"t": spec(prompt={"user": "{{ missing }}"})})
    code, _, err = tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path))
    assert code == 2 and "variable 'missing' is not provided by case 'c000'" in err
    assert not (tmp_path / ".tierwise").exists()


def test_missing_config_says_run_init(tmp_path, monkeypatch, capsys):
    code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2 and "tierwise init" in err


def test_init_scaffolds_a_project_that_validates_and_runs(tmp_path, monkeypatch, capsys):
    code, out, _ = tierwise(monkeypatch, capsys, "init", str(tmp_path))
    assert code in (0, None)
    assert out.rstrip().endswith(f"cd {tmp_path} && tierwise validate\n  tierwise run\n  tierwise recommend")
    code, out, _ = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert "ok: 1 tasks, 16 cases" in out
    code, out, err = tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path), "--models", "yes-rule")
    assert code in (0, None) and "is_question" in out and "yes-rule" in out


def test_init_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    tierwise(monkeypatch, capsys, "init", str(tmp_path))
    code, _, err = tierwise(monkeypatch, capsys, "init", str(tmp_path))
    assert code == 2 and "already exists" in err


def test_models_lists_availability(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "gpt": {"litellm": "openai/gpt-4.1-mini"}})
    code, out, _ = tierwise(monkeypatch, capsys, "models", "--project", str(tmp_path))
    assert "rule" in out and "ready" in out
    assert "skipped" in out and "OPENAI_API_KEY is not set" in out


def test_unknown_task_lists_known(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    code, _, err = tierwise(monkeypatch, capsys, "run", "nope", "--project", str(tmp_path))
    assert code == 2 and "unknown task 'nope'; known: t" in err


# What the commands that call no model must not import: LiteLLM alone takes seconds, the rest
# (the store, the statistics, the tables) belong to run, recommend and report.
HEAVY = ("litellm", "pandas", "scipy", "numpy", "sqlalchemy", "llama_cpp")
SPECS = ("pydantic", "jinja2", "jsonschema")  # what reading a project needs; --help reads none
EXAMPLE = ("tierwise.yaml", "registry.yaml", "registry.evidence.json", "evals", "golden_sets", "examples")
PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GOOGLE_API_KEY", "GEMINI_API_KEY")


def _imported_by(args: list[str], project: Path, env: dict[str, str] | None = None) -> tuple[int, list[str], str]:
    """Run the console script's entry point in a fresh interpreter; its exit code, the heavy
    modules loaded by then, and its output."""
    code = ("import json, sys\n"
            "from harness.cli import main\n"
            f"sys.argv = ['tierwise', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    status = exc.code or 0\n"
            f"print(json.dumps([status, [m for m in {HEAVY + SPECS!r} if m in sys.modules]]), file=sys.stderr)\n")
    environ = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEYS}
    environ.update(PYTHONPATH=str(REPO), **(env or {}))
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, env=environ)
    status, loaded = json.loads(out.stderr.strip().splitlines()[-1])
    return status, loaded, out.stdout


@pytest.mark.parametrize("args", [["--help"], ["validate"], ["models"], ["gate"]])
def test_commands_that_call_no_model_import_no_litellm_on_the_example(tmp_path, args):
    for name in EXAMPLE:  # the bundled example, copied: its API models, local models, rules and evidence
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, tmp_path / name)
    status, loaded, out = _imported_by(args, tmp_path)
    assert status == 0, out
    assert [m for m in loaded if m in HEAVY or args == ["--help"]] == []


@pytest.mark.parametrize("key", [None, "OPENAI_API_KEY"])
def test_models_prices_and_key_checks_import_no_litellm(tmp_path, key):
    models = {"rule": {"python": "rules:echo"}, "gpt": {"litellm": "openai/gpt-4.1-mini"},
              "haiku": {"litellm": "anthropic/claude-haiku-4-5"}, "flash": {"litellm": "gemini/gemini-2.5-flash-lite"}}
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    write_project(tmp_path, models=models,
                  specs={"t": spec(candidates=list(models), output={"json_schema": schema}, graders=[{"type": "json"}])},
                  golden={"t": [{"id": "a", "vars": {"text": "x"}, "expected": {"name": "x"}}]})
    for args in (["validate"], ["models"]):
        status, loaded, out = _imported_by(args, tmp_path, {key: "sk-test"} if key else None)
        assert status == 0 and [m for m in loaded if m in HEAVY] == [], out
    assert "$0.4 in / $1.6 out per Mtok (LiteLLM)" in out
    assert ("OPENAI_API_KEY is not set" in out) == (key is None)
    assert "GOOGLE_API_KEY or GEMINI_API_KEY is not set" in out


def test_validate_with_a_self_hosted_schema_candidate_imports_no_litellm(tmp_path):
    """A JSON-schema task with a self-hosted candidate (a model LiteLLM's map does not know)
    took validate 9.4 s: the schema-support lookup fell through to `import litellm`."""
    models = {"srv": {"litellm": "openai/qwen-1.5b", "api_base": "http://127.0.0.1:9/v1", "api_key": "none"},
              "vllm": {"litellm": "hosted_vllm/qwen", "api_key": "none", "structured": "auto"}}
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    write_project(tmp_path, models=models,
                  specs={"t": spec(candidates=list(models), output={"json_schema": schema}, graders=[{"type": "json"}])},
                  golden={"t": [{"id": "a", "vars": {"text": "x"}, "expected": {"name": "x"}}]})
    status, loaded, out = _imported_by(["validate"], tmp_path)
    assert status == 0 and [m for m in loaded if m in HEAVY] == [], out


def test_validate_renders_every_prompt(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, specs={"t": spec(prompt={"user": "{{ text | round }}"})})
    code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2 and "evals/t.yaml: prompt: cannot render case 'c000'" in err


def test_validate_imports_python_candidates(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, files={"rules.py": "1 / 0\n"})
    code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2 and "models.rule.python: importing 'rules' failed: ZeroDivisionError" in err


@pytest.mark.parametrize("text, message", [
    ("- a\n", "registry.yaml: must be a mapping with a tasks: key, got a list"),
    ("task: {}\n", "registry.yaml: task: unknown key; known: tasks"),
    ("tasks:\n  t: {model: x, fallbacks: [{a: 1}]}\n", "registry.yaml: tasks.t.fallbacks: must be a list of model strings"),
])
def test_malformed_registry_is_bad_input(tmp_path, monkeypatch, capsys, text, message):
    write_project(tmp_path)
    (tmp_path / "registry.yaml").write_text(text)
    code, _, err = tierwise(monkeypatch, capsys, "gate", "--project", str(tmp_path))
    assert code == 2 and message in err


def test_report_into_a_file_path_is_bad_input(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    (tmp_path / "afile").write_text("")
    code, _, err = tierwise(monkeypatch, capsys, "report", "--project", str(tmp_path), "--out", str(tmp_path / "afile" / "x"))
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_init_sample_runs_offline_and_a_rule_qualifies(tmp_path, monkeypatch, capsys):
    tierwise(monkeypatch, capsys, "init", str(tmp_path))
    code, out, _ = tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path), "--models",
                             "question-rule,yes-rule")
    assert code in (0, None)
    code, out, _ = tierwise(monkeypatch, capsys, "recommend", "--project", str(tmp_path))
    assert "recommend:  python:rules:asks_a_question  [question-rule]" in out


def test_every_grader_is_documented():
    from harness.graders import known_graders

    text = (REPO / "docs" / "graders.md").read_text()
    missing = [name for name in known_graders() if f"`{name}`" not in text]
    assert not missing, f"docs/graders.md does not describe {missing}"


def test_recommend_against_a_model_projects_its_spend_everywhere(tmp_path, monkeypatch, capsys):
    tierwise(monkeypatch, capsys, "init", str(tmp_path))
    tierwise(monkeypatch, capsys, "run", "--project", str(tmp_path), "--models", "question-rule,yes-rule")
    code, out, _ = tierwise(monkeypatch, capsys, "recommend", "--project", str(tmp_path), "--against", "yes-rule")
    assert code in (0, None) and "against yes-rule" in out
    code, _, err = tierwise(monkeypatch, capsys, "recommend", "--project", str(tmp_path), "--against", "nope")
    assert code == 2 and "'nope' is not in tierwise.yaml's models" in err


def test_models_lists_the_catalog_whatever_a_labels_file_holds(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, specs={"t": spec(judge={"labels": "golden_sets/t.labels.jsonl"})},
                  files={"golden_sets/t.labels.jsonl": '{"case": "c000", "verdict": "pass", "oops": 1}\n'})
    code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2 and "unknown key 'oops'" in err
    code, out, _ = tierwise(monkeypatch, capsys, "models", "--project", str(tmp_path))
    assert code in (0, None) and "rule" in out and "ready" in out
