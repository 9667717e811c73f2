"""The files `tierwise import promptfoo` writes besides specs and golden sets: the YAML it dumps,
the project file, and the Python modules for promptfoo's echo provider and Python assertions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._promptfoo_read import Prompt


def dump_yaml(data: Any) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 110
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = False
    buffer = StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


# Characters JSON allows unescaped that some line readers (Python's str.splitlines(), editors)
# take for line ends; written as \u escapes so that one case stays on one line everywhere.
_LINE_ENDS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def jsonl(rows: list[dict[str, Any]]) -> str:
    """One JSON object a line, UTF-8 text kept readable, line-end characters escaped."""
    out = []
    for row in rows:
        line = json.dumps(row, ensure_ascii=False)
        for char, escaped in _LINE_ENDS.items():
            line = line.replace(char, escaped)
        out.append(line + "\n")
    return "".join(out)


def spec_header(config: Path, prompt: Prompt, has_candidates: bool = True) -> str:
    head = (f"# Imported by `tierwise import promptfoo` from {config.name} ({prompt.file}: {prompt.place}).\n"
            f"# threshold is Tierwise's own quality bar (promptfoo has none): set it for this task.\n")
    if not has_candidates:
        head += ("# candidates: is empty: none of the suite's providers maps to a model Tierwise can call. Add one to\n"
                 "# tierwise.yaml models: (e.g. my-model: {litellm: openai/gpt-4o-mini}) and name it below.\n")
    return head


def project_yaml(config: Path, models: dict[str, dict[str, Any]]) -> str:
    head = (f"# Tierwise project imported from the promptfoo suite {config.name}.\n"
            "store: sqlite:///.tierwise/results.db\nregistry: registry.yaml\n")
    return head + dump_yaml({"models": models})


def echo_module(config: Path, functions: dict[str, str]) -> str:
    lines = [f'"""Written by `tierwise import promptfoo` from {config.name}: promptfoo\'s `echo` provider, which',
             'answers with the rendered prompt itself. One python candidate per task."""', "",
             "from harness.project import prompt_env", "",
             "_ENV = prompt_env()  # Tierwise's prompt sandbox, as the suite's prompts render everywhere else",
             "", "",
             "def _echo(prompt: dict, variables: dict) -> str:",
             "    parts = [prompt[role] for role in (\"system\", \"user\") if prompt[role] is not None]",
             "    return \"\\n\\n\".join(_ENV.from_string(p).render(**variables) for p in parts)", ""]
    for name, prompt in functions.items():
        lines += ["", f"def {name}(variables: dict) -> str:", f"    return _echo({prompt}, variables)", ""]
    return "\n".join(lines)


def graders_module(config: Path, out_dir: Path, files: dict[str, list[str]]) -> str:
    lines = [f'"""Written by `tierwise import promptfoo` from {config.name}: runs the suite\'s Python assertion',
             "files as Tierwise python graders. promptfoo calls get_assert(output, context) with the test's vars in",
             "context; it may return a bool, a score, or a dict with pass, score and reason.\"\"\"", "",
             "import importlib.util", "from pathlib import Path", "",
             "_HERE = Path(__file__).resolve().parent", "_LOADED = {}", "", "",
             "def _function(relative_path: str, name: str):",
             "    if relative_path not in _LOADED:",
             "        path = (_HERE / relative_path).resolve()",
             "        spec = importlib.util.spec_from_file_location(path.stem, path)",
             "        module = importlib.util.module_from_spec(spec)",
             "        spec.loader.exec_module(module)",
             "        _LOADED[relative_path] = module",
             "    return getattr(_LOADED[relative_path], name)", "", "",
             "def _run(relative_path: str, name: str, output: str, case) -> object:",
             "    context = {\"vars\": dict(case.vars), \"test\": {\"vars\": dict(case.vars), \"metadata\": dict(case.metadata)}}",
             "    result = _function(relative_path, name)(output, context)",
             "    if isinstance(result, dict):",
             "        passed = bool(result.get(\"pass\", result.get(\"score\", 0) > 0))",
             "        score = float(result.get(\"score\", 1.0 if passed else 0.0))",
             "        return {\"score\": score, \"passed\": passed, \"reason\": str(result.get(\"reason\", \"\"))}",
             "    return result", ""]
    root = config.resolve().parent
    for function, (path, func) in files.items():
        name = function.split(":", 1)[1]
        relative = os.path.relpath(root / path, out_dir.resolve())
        lines += ["", f"def {name}(output: str, case) -> object:",
                  f"    return _run({relative!r}, {func!r}, output, case)", ""]
    return "\n".join(lines)
