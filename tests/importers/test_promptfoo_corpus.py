"""`tierwise import promptfoo` on real promptfoo suites (tests/data/promptfoo_corpus, MIT): one suite
per outcome and per fix of issue 26, plus small suites for the shapes the corpus shows once."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harness import load_project
from harness.errors import ConfigError, SpecError
from harness.importers import import_promptfoo
from harness.importers.promptfoo import NothingImported

CORPUS = Path(__file__).resolve().parent.parent / "data" / "promptfoo_corpus" / "examples"


def _spec(out: Path) -> dict:
    from ruamel.yaml import YAML

    (path,) = (out / "evals").glob("*.yaml")
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("suite", ["mistral/promptfooconfig.json-mode.yaml", "amazon-bedrock/promptfooconfig.yaml",
                                   "huggingface-similarity/promptfooconfig.yaml"])
def test_a_suite_with_mapped_providers_imports_and_validates(tmp_path, suite):
    report = import_promptfoo(CORPUS / suite, tmp_path / "out")
    assert report.tasks and report.candidates
    load_project(tmp_path / "out")


@pytest.mark.parametrize("suite, dropped", [
    ("python-provider/promptfooconfig.yaml", "file://provider.py"),
    ("http-provider-tls/promptfooconfig.yaml", "'http'"),
    ("golang-provider/promptfooconfig.yaml", "file://"),
])
def test_a_task_whose_provider_does_not_map_is_kept_and_validate_asks_for_a_candidate(tmp_path, suite, dropped):
    out = tmp_path / "out"
    report = import_promptfoo(CORPUS / suite, out)
    assert report.tasks and report.candidates == [] and report.cases > 0
    assert any(d.what.startswith("provider") and dropped in d.what for d in report.not_carried)
    spec = _spec(out)
    assert spec["candidates"] == [] and spec["graders"]
    with pytest.raises(SpecError, match=r"candidates: empty, .*fix: name one here"):
        load_project(out)


@pytest.mark.parametrize("suite, says", [
    ("redteam-chatbot/promptfooconfig.yaml", r"redteam: a promptfoo red-team configuration; red teaming is out of"),
    ("huggingface-hle/promptfooconfig.yaml", r"Hugging Face dataset \(huggingface://\).*offline; fix: download"),
    ("google-sheets/promptfooconfig.yaml", r"a Google Sheet.*fix: download it as CSV"),
    ("python-test-cases/promptfooconfig.yaml", r"nothing imported, no task could be made \(1 × a prompt variable "
                                               r"and no tests\)"),
    ("openai-chat-history/promptfooconfig.yaml", r"built by Nunjucks tags"),
    ("claude-vision/promptfooconfig.yaml", r"1 × an image or other non-text prompt"),
])
def test_a_suite_that_gives_no_task_is_refused_in_one_line_writing_nothing(tmp_path, suite, says):
    with pytest.raises(ConfigError, match=says) as info:
        import_promptfoo(CORPUS / suite, tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_tests_generator_with_a_function_name_is_listed_not_file_not_found(tmp_path):
    # file://test_cases.py:generate_simple_tests exists: it is a generator, not a missing file
    with pytest.raises(NothingImported) as info:
        import_promptfoo(CORPUS / "python-test-cases" / "promptfooconfig.yaml", tmp_path / "out")
    assert "not found" not in str(info.value)


def _suite(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Path:
    for name, body in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(body), encoding="utf-8")
    (tmp_path / "promptfooconfig.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path / "promptfooconfig.yaml"


def test_a_redteam_section_beside_tests_is_listed_and_the_tests_imported(tmp_path):
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers: [openai:gpt-4o-mini]
        redteam: {plugins: [harmful]}
        tests: [{vars: {x: hi}, assert: [{type: contains, value: hi}]}]
    """)
    report = import_promptfoo(config, tmp_path / "out")
    assert report.cases == 1
    assert [d.why for d in report.not_carried if d.what == "redteam"][0].startswith("red teaming is out of")


def test_provider_options_with_a_counterpart_are_carried(tmp_path):
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers:
          - id: bedrock:anthropic.claude-3-haiku-20240307-v1:0
            config: {region: us-west-2, max_output_tokens: 64, top_k: 5,
                     thinking: {type: enabled, budget_tokens: 1024}}
          - id: openai:gpt-5-mini
            config: {max_output_tokens: 64, reasoning_effort: low, extra_body: {store: false}}
        tests: [{vars: {x: hi}, assert: [{type: contains, value: hi}]}]
    """)
    report = import_promptfoo(config, tmp_path / "out")
    bedrock, openai = report.models.values()
    assert bedrock["aws_region_name"] == "us-west-2" and bedrock["top_k"] == 5
    assert bedrock["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert openai["reasoning_effort"] == "low" and openai["extra_body"] == {"store": False}
    assert _spec(tmp_path / "out")["params"] == {"max_tokens": 64}
    assert not [d for d in report.not_carried if "provider option" in d.what]
    load_project(tmp_path / "out")


@pytest.mark.parametrize("response_format, file", [
    ({"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object", "required": ["a"]}}}, None),
    ("file://format.json", {"type": "json_schema", "name": "p", "schema": {"type": "object", "required": ["a"]}}),
])
def test_a_response_format_becomes_the_tasks_output_schema(tmp_path, response_format, file):
    files = {"format.json": json.dumps(file)} if file else {}
    config = _suite(tmp_path, f"""
        prompts: ["Give JSON about {{{{x}}}}"]
        providers: [{{id: openai:gpt-4o-mini, config: {{response_format: {json.dumps(response_format)}}}}}]
        tests: [{{vars: {{x: hi}}, assert: [{{type: is-json}}]}}]
    """, files)
    import_promptfoo(config, tmp_path / "out")
    assert _spec(tmp_path / "out")["output"] == {"json_schema": {"type": "object", "required": ["a"]}}
    assert "response_format" not in (tmp_path / "out" / "tierwise.yaml").read_text()
    load_project(tmp_path / "out")


def test_vars_files_named_by_a_glob_in_a_test_file_are_merged(tmp_path):
    config = _suite(tmp_path, """
        prompts: ["Write {{content_type}} about {{topic}}"]
        providers: [openai:gpt-4o-mini]
        tests: [file://tests/*.yaml]
    """, {"tests/t.yaml": """
        - vars: ../vars/vars_*.yaml
          assert: [{type: icontains, value: bananas}]
    """, "vars/vars_a.yaml": "topic: bananas\n", "vars/vars_b.yaml": "content_type: musings\n"})
    report = import_promptfoo(config, tmp_path / "out")
    case = json.loads((tmp_path / "out" / "golden_sets" / f"{report.tasks[0]}.jsonl").read_text())
    assert case["vars"] == {"topic": "bananas", "content_type": "musings"}


def test_tests_path_with_config_is_read_as_a_test_file(tmp_path):
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers: [openai:gpt-4o-mini]
        tests: {path: file://cases.csv, config: {}}
    """, {"cases.csv": "x,__expected\nhi,contains:hi\nyo,contains:yo\n"})
    assert import_promptfoo(config, tmp_path / "out").cases == 2


def test_tests_path_config_options_are_listed_not_dropped_silently(tmp_path):
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers: [openai:gpt-4o-mini]
        tests: [{path: file://cases.csv, config: {count: 5}}]
    """, {"cases.csv": "x,__expected\nhi,contains:hi\n"})
    report = import_promptfoo(config, tmp_path / "out")
    assert [(d.place, d.what) for d in report.not_carried] == [("tests[0].config", "tests config")]


def test_u0085_in_a_case_is_written_escaped_and_read_back_whole(tmp_path):
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers: [openai:gpt-4o-mini]
        tests: [{vars: {x: "a\\x85b\\u2028c"}, assert: [{type: contains, value: a}]}]
    """)
    report = import_promptfoo(config, tmp_path / "out")
    text = (tmp_path / "out" / "golden_sets" / f"{report.tasks[0]}.jsonl").read_text(encoding="utf-8")
    assert "\\u0085" in text and "\x85" not in text and "\u2028" not in text
    assert load_project(tmp_path / "out").tasks[report.tasks[0]].golden.cases[0].vars["x"] == "a\x85b\u2028c"


def test_many_tests_dropped_for_one_reason_are_grouped_in_the_report(tmp_path):
    tests = [{"vars": {"x": str(i)}, "assert": [{"type": "contains", "value": "1"},
                                                 {"type": "javascript", "value": "output.length > 1"}]}
             for i in range(50)]
    (tmp_path / "tests.json").write_text(json.dumps(tests))
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers: [openai:gpt-4o-mini]
        tests: file://tests.json
    """)
    lines = import_promptfoo(config, tmp_path / "out").lines()
    assert sum("javascript assertion" in line for line in lines) == 3
    assert "  tests.json: ... and 47 more with the same reason ([3].assert[1] to [49].assert[1])" in lines


def test_a_line_separator_inside_a_jsonl_tests_file_stays_in_its_test(tmp_path):
    line = json.dumps({"vars": {"x": "a\u2028b\x85c"}, "assert": [{"type": "contains", "value": "a"}]}, ensure_ascii=False)
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers: [openai:gpt-4o-mini]
        tests: file://tests.jsonl
    """, {"tests.jsonl": line + "\n"})
    report = import_promptfoo(config, tmp_path / "out")
    assert report.cases == 1
    assert load_project(tmp_path / "out").tasks[report.tasks[0]].golden.cases[0].vars["x"] == "a\u2028b\x85c"


def test_a_provider_file_gives_its_providers_and_their_places(tmp_path):
    config = _suite(tmp_path, """
        prompts: ["Say {{x}}"]
        providers: [file://providers.yaml]
        tests: [{vars: {x: hi}, assert: [{type: contains, value: hi}]}]
    """, {"providers.yaml": """
        - id: openai:gpt-4o-mini
          config: {temperature: 0, seed: 7}
        - id: anthropic:messages:claude-3-5-haiku-latest
          config: {temperature: 0, seed: 7, frobnicate: 1}
    """})
    report = import_promptfoo(config, tmp_path / "out")
    assert [m["litellm"] for m in report.models.values()] == ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]
    assert _spec(tmp_path / "out")["params"] == {"temperature": 0, "seed": 7}
    (skipped,) = [d for d in report.not_carried if "frobnicate" in d.what]
    assert (skipped.file, skipped.place) == ("providers.yaml", "providers[0] (providers.yaml[1]).config.frobnicate")
    load_project(tmp_path / "out")
