"""`plugins:` in tierwise.yaml: a model kind registered by a module in the project folder is known
to a fresh `tierwise` process (the CLI imports nothing of the user's otherwise), and every bad
entry is one located line with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.projfix import spec, tierwise, write_project

REPO = Path(__file__).resolve().parents[2]

PLUGIN = '''
from harness.models import CallResult, Provider, provider


@provider("shout_plugin")
class Shout(Provider):
    """Answers with the case's text in capitals: a model kind that lives in the user's project."""

    def identity(self, entry):
        return {"kind": "shout_plugin", "ref": entry.ref}

    def resolve(self, cand, config, check_keys):
        pass

    async def call(self, cand, messages, params, extra, *, retries, backoff_base_s, variables, api_base, api_key):
        return CallResult(output=variables["text"].upper(), finish_reason="stop", attempts=1, latency_ms=1.0,
                          prompt_tokens=3, completion_tokens=1)
'''


def _project(root: Path, plugins) -> None:
    write_project(root, models={"shout": {"shout_plugin": "v1"}}, config={"plugins": plugins},
                  files={"my_kinds.py": PLUGIN},
                  golden={"t": [{"id": f"c{i}", "vars": {"text": f"x{i}"}, "expected": f"X{i}"} for i in range(5)]},
                  specs={"t": spec(candidates=["shout"], threshold=0.5)})


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HOME": str(root)}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args, "--project", str(root)], cwd=root,
                          capture_output=True, text=True, env=env, timeout=120)


def test_a_fresh_cli_process_runs_a_model_kind_its_plugin_registers(tmp_path):
    _project(tmp_path, ["my_kinds"])
    assert _cli(tmp_path, "validate").returncode == 0
    done = _cli(tmp_path, "run")
    assert done.returncode == 0, done.stderr
    assert "5 called" in done.stdout and "0 errors" in done.stdout


def test_without_the_plugin_the_kind_is_unknown_and_the_error_lists_the_known(tmp_path):
    _project(tmp_path, [])
    done = _cli(tmp_path, "validate")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'shout_plugin' is not a registered provider" in done.stderr and "listed under plugins: in tierwise.yaml" in done.stderr


@pytest.mark.parametrize("plugins, says", [
    ("my_kinds", "plugins: must be a list of module names, e.g. [my_kinds]; got str"),
    (["../evil"], "plugins[0]: '../evil' is not a module name; fix: a dotted Python module name"),
    (["nowhere_kinds"], "plugins[0]: no module 'nowhere_kinds' in"),
    (["broken_kinds"], "plugins[0]: importing broken_kinds failed: ZeroDivisionError: division by zero; "
                       "fix: the error is in broken_kinds's code"),
    (["needs_kinds"], "plugins[0]: importing needs_kinds failed: No module named 'not_installed_anywhere'"),
    ([f"m{i}" for i in range(51)], "plugins: 51 modules; at most 50"),
])
def test_a_bad_plugins_entry_is_one_located_line_and_exit_2(tmp_path, monkeypatch, capsys, plugins, says):
    _project(tmp_path, plugins)
    (tmp_path / "broken_kinds.py").write_text("1 / 0\n")
    (tmp_path / "needs_kinds.py").write_text("import not_installed_anywhere\n")
    code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: tierwise.yaml: ") and says in err, err


def test_a_secret_in_a_plugins_import_error_is_redacted(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-plugin-secret-123456789")
    _project(tmp_path, ["leaky_kinds"])
    (tmp_path / "leaky_kinds.py").write_text("import os\nraise RuntimeError('key ' + os.environ['OPENAI_API_KEY'])\n")
    code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2 and "sk-plugin-secret-123456789" not in err and "RuntimeError" in err
