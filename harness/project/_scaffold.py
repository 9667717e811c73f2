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
  question-rule: {python: "rules:asks_a_question"}      # plain Python: free, instant
  yes-rule:      {python: "rules:always_yes"}
  smollm2-135m:  {local: smollm2-135m-instruct}         # runs offline with pip install 'tierwise[local]'
  gpt-4.1-mini:  {litellm: openai/gpt-4.1-mini}         # runs when OPENAI_API_KEY is set
""",
    "rules.py": '''\
import re

QUESTION_WORDS = re.compile(r"^(who|what|when|where|why|how|which|can|could|do|does|did|is|are|will|would|should)\\b", re.I)


def asks_a_question(vars: dict) -> str:
    """A plain-Python candidate: sometimes a rule is good enough, and Tierwise proves when."""
    message = vars["message"].strip()
    return "yes" if message.endswith("?") or QUESTION_WORDS.match(message) else "no"


def always_yes(vars: dict) -> str:
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
threshold: 0.65
confidence: 0.95
candidates: [yes-rule, question-rule, smollm2-135m, gpt-4.1-mini]
""",
    "golden_sets/is_question.jsonl": """\
{"id": "q-01", "vars": {"message": "Where is my order?"}, "expected": "yes"}
{"id": "q-02", "vars": {"message": "Thanks, that fixed it."}, "expected": "no"}
{"id": "q-03", "vars": {"message": "Can I change my plan mid-month"}, "expected": "yes"}
{"id": "q-04", "vars": {"message": "I wonder whether you ship to Norway."}, "expected": "yes"}
{"id": "q-05", "vars": {"message": "Please cancel my subscription."}, "expected": "no"}
{"id": "q-06", "vars": {"message": "How do I reset my password?"}, "expected": "yes"}
{"id": "q-07", "vars": {"message": "The invoice arrived twice this month."}, "expected": "no"}
{"id": "q-08", "vars": {"message": "Is there a student discount?"}, "expected": "yes"}
{"id": "q-09", "vars": {"message": "Great service, thank you!"}, "expected": "no"}
{"id": "q-10", "vars": {"message": "Do you support SSO with Okta"}, "expected": "yes"}
{"id": "q-11", "vars": {"message": "My card was declined at checkout."}, "expected": "no"}
{"id": "q-12", "vars": {"message": "Which plan includes the API?"}, "expected": "yes"}
{"id": "q-13", "vars": {"message": "I need the receipt for March."}, "expected": "no"}
{"id": "q-14", "vars": {"message": "What happens to my data if I leave?"}, "expected": "yes"}
{"id": "q-15", "vars": {"message": "The app crashes when I upload a photo."}, "expected": "no"}
{"id": "q-16", "vars": {"message": "Could you extend my trial by a week"}, "expected": "yes"}
""",
    "registry.yaml": "# Written by `tierwise recommend --write`; read by your application.\ntasks: {}\n",
    "reports/.gitignore": "*\n!.gitignore\n",
    ".gitignore": ".tierwise/\n",
}

NEXT_STEPS = ("tierwise validate", "tierwise run", "tierwise recommend")


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
