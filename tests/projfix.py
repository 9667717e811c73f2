"""Build small projects on disk for tests (every path under tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def write_project(root: Path, *, models: dict[str, Any] | None = None, specs: dict[str, dict] | None = None,
                  golden: dict[str, list[dict]] | None = None, config: dict[str, Any] | None = None,
                  files: dict[str, str] | None = None) -> Path:
    """Write tierwise.yaml, evals/<task>.yaml and golden_sets/<task>.jsonl under root."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = {"store": "sqlite:///.tierwise/results.db", "models": models or {"rule": {"python": "rules:echo"}}}
    cfg.update(config or {})
    (root / "tierwise.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (root / "evals").mkdir(exist_ok=True)
    (root / "golden_sets").mkdir(exist_ok=True)
    if specs is None:
        specs = {"t": spec()}
    for name, data in specs.items():
        (root / "evals" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    if golden is None:
        golden = {"t": cases(6)}
    for name, rows in golden.items():
        (root / "golden_sets" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    files = {"rules.py": RULES, **(files or {})}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


RULES = '''
def echo(vars):
    return vars.get("text", "")

def upper(vars):
    return vars.get("text", "").upper()

def boom(vars):
    raise RuntimeError("rule exploded")
'''


def spec(task: str = "t", **overrides: Any) -> dict[str, Any]:
    data = {
        "task": task,
        "golden_set": f"golden_sets/{task}.jsonl",
        "prompt": {"system": "Answer with one word.", "user": "{{ text }}"},
        "graders": [{"type": "exact", "normalize": ["strip", "lower"]}],
        "threshold": 0.5,
        "candidates": ["rule"],
    }
    data.update(overrides)
    return data


def cases(n: int, labels: tuple[str, ...] = ("yes", "no")) -> list[dict[str, Any]]:
    """n cases whose expected label is also the text, so `echo` gets every one right."""
    return [{"id": f"c{i:03d}", "vars": {"text": labels[i % len(labels)]}, "expected": labels[i % len(labels)]}
            for i in range(n)]


def tierwise(monkeypatch, capsys, *args: str) -> tuple[int | None, str, str]:
    """Run the console script's entry point in-process; returns (exit code, stdout, stderr)."""
    import sys

    import pytest

    from harness.cli import main

    monkeypatch.setattr(sys, "argv", ["tierwise", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def run_cli_in_fresh_process(cwd, *args: str):
    """`tierwise run ARGS` in a fresh interpreter in `cwd`: (its stdout, its stderr, and whether it
    imported LiteLLM itself)."""
    import os
    import subprocess
    import sys

    code = ("import sys\nfrom harness.cli import main\nsys.argv = ['tierwise', 'run', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('litellm' in sys.modules, file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    return out.stdout, out.stderr, out.stderr.strip().splitlines()[-1] == "True"
