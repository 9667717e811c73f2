"""`tierwise init`: a small, working project to start from."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

FILES = {
    "tierwise.yaml": """\
store: sqlite:///.tierwise/results.db
registry: registry.yaml
concurrency: 16
models:
  smollm2-135m: {local: smollm2-135m-instruct}
  gpt-4.1-mini: {litellm: openai/gpt-4.1-mini}
  yes-rule:     {python: "rules:always_yes"}
""",
    "rules.py": '''\
def always_yes(vars: dict) -> str:
    """A plain-Python candidate: sometimes a rule is good enough."""
    return "yes"
''',
    "evals/is_question.yaml": """\
task: is_question
description: Does the message ask a question?
golden_set: golden_sets/is_question.jsonl
prompt:
  system: "Answer yes if the message asks a question, otherwise no. One word."
  user: "{{ message }}"
output: {choices: [yes, no]}
params: {temperature: 0, max_tokens: 4}
graders:
  - {type: choice}
threshold: 0.9
confidence: 0.95
candidates: [yes-rule, smollm2-135m, gpt-4.1-mini]
""",
    "golden_sets/is_question.jsonl": """\
{"id": "q-1", "vars": {"message": "Where is my order?"}, "expected": "yes"}
{"id": "q-2", "vars": {"message": "Thanks, that fixed it."}, "expected": "no"}
{"id": "q-3", "vars": {"message": "Can I change my plan mid-month"}, "expected": "yes"}
{"id": "q-4", "vars": {"message": "I wonder whether you ship to Norway."}, "expected": "yes"}
""",
    "registry.yaml": "# Written by `tierwise recommend --write`; read by your application.\ntasks: {}\n",
    "reports/.gitignore": "*\n!.gitignore\n",
    ".gitignore": ".tierwise/\n",
}


def init_project(folder: str | Path) -> list[str]:
    """Write the scaffold; refuses to overwrite an existing file."""
    root = Path(folder)
    existing = [name for name in FILES if (root / name).exists()]
    if existing:
        raise ConfigError(f"{root / existing[0]}: already exists; fix: run `tierwise init` in an empty folder")
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(FILES)
