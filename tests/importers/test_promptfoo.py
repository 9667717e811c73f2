"""`tierwise import promptfoo`: real promptfoo example configs (tests/data/promptfoo, MIT) and
small suites written here, imported into tmp_path and loaded as Tierwise projects."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.graders import Grade, _registry, grader, known_graders
from harness.importers import import_promptfoo
from harness.importers._promptfoo_asserts import assertion_from_string
from harness.importers.promptfoo import NothingImported
from harness.importers._promptfoo_providers import Unsupported, litellm_model

DATA = Path(__file__).resolve().parent.parent / "data" / "promptfoo"


@pytest.fixture
def judge_grader(monkeypatch):
    """A stand-in `llm_judge` while the real one does not exist, so imported rubric suites load.
    It takes the options the import writes (rubric, judge, pass_at); once the real grader lands,
    these tests load against it and fail if its options differ."""
    if "llm_judge" in known_graders():
        return
    monkeypatch.setattr(_registry, "_FACTORIES", dict(_registry._FACTORIES))
    monkeypatch.setattr(_registry, "_CANONICAL", dict(_registry._CANONICAL))
    monkeypatch.setattr(_registry, "_RECORDED_IF_SET", dict(_registry._RECORDED_IF_SET))

    @grader("llm_judge")
    def llm_judge(*, rubric: str | None = None, judge: str | None = None, pass_at: float = 0.5):
        return lambda output, case: Grade(0.0, False, "stand-in judge")


def load(out: Path):
    from harness import load_project

    return load_project(out)


def golden(out: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (out / "golden_sets" / f"{name}.jsonl").read_text().splitlines()]


def spec(out: Path, task: str) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load((out / "evals" / f"{task}.yaml").read_text())


def places(report) -> list[tuple[str, str]]:
    return [(d.file, d.place) for d in report.not_carried]


# ---- the real promptfoo examples -------------------------------------------------------------


def test_simple_test_one_task_per_prompt_and_one_case_per_test(tmp_path, judge_grader):
    report = import_promptfoo(DATA / "simple-test" / "promptfooconfig.yaml", tmp_path)
    assert report.tasks == ["simple_test_prompts_1", "simple_test_prompts_2"]
    assert report.cases == 5 and report.candidates == ["gpt-4.1-mini"]
    project = load(tmp_path)
    task = project.tasks["simple_test_prompts_1"]
    assert task.spec.prompt.user == "Rephrase this from English to Pirate: {{body}}"
    assert project.tasks["simple_test_prompts_2"].spec.prompt.user.startswith("Pretend you're a pirate")
    assert project.config.models["gpt-4.1-mini"].litellm == "openai/gpt-4.1-mini"
    assert [c.vars["body"] for c in task.golden.cases] == [
        "Yes", "I'm hungry", "Output the story of your life in JSON", "Hello world",
        "The quick brown fox jumps over the lazy dog"]


def test_simple_test_graders_keep_promptfoos_semantics(tmp_path, judge_grader):
    import_promptfoo(DATA / "simple-test" / "promptfooconfig.yaml", tmp_path)
    graders = spec(tmp_path, "simple_test_prompts_1")["graders"]
    assert graders == [
        {"type": "exact", "normalize": [], "expected_key": "equals"},           # equals: no trimming
        {"type": "contains", "normalize": ["lower"], "expected_key": "icontains"},
        {"type": "json", "mode": "whole", "expected_key": "is_json"},            # is-json: whole output
        {"type": "similarity", "normalize": [], "pass_at": 0.75, "expected_key": "similar"},
        {"type": "llm_judge", "rubric": "Is spoken like a pirate", "expected_key": "llm_rubric"},
    ]
    cases = golden(tmp_path, "simple_test")
    assert [c["expected"] for c in cases] == [
        {"equals": "Yarr"}, {"icontains": "grub"}, {"is_json": True}, {"similar": "Ahoy, world"},
        {"icontains": "arrr", "llm_rubric": True},  # the $ref'd template joins the icontains grader
    ]
    assert cases[0]["metadata"] == {"promptfoo": "promptfooconfig.yaml: tests[0]", "description": "Check for exact match"}


def test_simple_test_grades_like_promptfoo(tmp_path, judge_grader):
    import_promptfoo(DATA / "simple-test" / "promptfooconfig.yaml", tmp_path)
    from harness.graders import combine

    task = load(tmp_path).tasks["simple_test_prompts_1"]
    by_id = {c.id: c for c in task.golden.cases}

    def passed(case_id: str, output: str) -> bool:
        case = by_id[case_id]
        return combine(task.graders, [g.grade(output, case) for g in task.graders]).passed

    assert passed("pf-001", "Yarr") and not passed("pf-001", "Yarr ")  # equals is exact
    assert passed("pf-002", "Arr, I need me GRUB") and not passed("pf-002", "I'm starving")
    assert passed("pf-003", '{"life": "at sea"}') and not passed("pf-003", 'Here: {"life": 1}')


def test_simple_test_lists_the_javascript_and_inline_python_it_cannot_carry(tmp_path, judge_grader):
    report = import_promptfoo(DATA / "simple-test" / "promptfooconfig.yaml", tmp_path)
    assert places(report) == [("promptfooconfig.yaml", "tests[3].assert[0]"),
                              ("promptfooconfig.yaml", "tests[3].assert[1]")]
    js, py = report.not_carried
    assert js.what == "javascript assertion \"output.startsWith('Ahoy')\"" and "JavaScript" in js.why
    assert py.what == "python assertion 'max(0, len(output) - 300)'" and "inline Python" in py.why
    assert report.needs_judge == ["simple_test_prompts_1", "simple_test_prompts_2"]
    assert any("embeddings" in n for n in report.notes)  # `similar` is approximated, and says so


def test_simple_csv_reads_expected_columns_and_drops_the_nunjucks_only_prompt(tmp_path):
    report = import_promptfoo(DATA / "simple-csv" / "promptfooconfig.yaml", tmp_path)
    assert report.tasks == ["a_translator_built_with_llm_prompts_2"]
    assert places(report) == [("prompts.txt", "prompt 1 of 2")]
    assert "No filter named 'load'" in report.not_carried[0].why
    task = load(tmp_path).tasks["a_translator_built_with_llm_prompts_2"]
    assert [g.options for g in task.graders] == [{"value": None, "normalize": ["lower"]}]
    assert [(c.vars["language"], c.expected) for c in task.golden.cases] == [
        ("French", "bonjour"), ("French", "faim"), ("Pirate", "Ahoy"), ("Pirate", "grub")]
    assert task.golden.cases[0].vars["style_config"] == '{"tone":"formal","length":"brief"}'


def test_rubric_csv_keeps_every_default_rubric_rendered_per_case(tmp_path, judge_grader):
    report = import_promptfoo(DATA / "eval-customer-support-rubric" / "promptfooconfig.yaml", tmp_path)
    task = load(tmp_path).tasks["score_a_support_assistant_on_five_rubric"]
    assert [g.options for g in task.graders] == [
        {"rubric": None, "judge": "gpt-4.1-mini", "pass_at": 0.8, "expected_key": key}
        for key in ("correct", "resolved", "honest", "handoff", "language_fit")]
    assert project_models(tmp_path) == {"gpt-4.1-mini": "openai/gpt-4.1-mini",
                                        "echo": "promptfoo_echo:score_a_support_assistant_on_five_rubric"}
    first = task.golden.cases[0]
    assert "same language as the customer message (es), in a natural" in first.expected["language_fit"]
    assert "Me cobraron dos veces" in first.expected["correct"]  # {{customer_message}} rendered
    assert first.metadata == {"promptfoo": "tests.csv: row 2", "description": "ES refund ticket answered in Spanish",
                              "severity": "high"}
    assert places(report) == [("tests.csv", "row 5, __threshold"), ("tests.csv", "row 6, __threshold"),
                              ("tests.csv", "row 8, __threshold")]
    assert report.needs_judge == ["score_a_support_assistant_on_five_rubric"]


def test_rubric_echo_provider_answers_with_the_rendered_prompt(tmp_path, judge_grader):
    import_promptfoo(DATA / "eval-customer-support-rubric" / "promptfooconfig.yaml", tmp_path)
    project = load(tmp_path)
    import importlib

    module_name, func = project.config.models["echo"].python.split(":")
    echo = getattr(importlib.import_module(module_name), func)
    case = project.tasks["score_a_support_assistant_on_five_rubric"].golden.cases[2]
    assert echo(case.vars) == case.vars["reply"]


def test_json_output_lists_transforms_and_javascript_and_keeps_the_schema(tmp_path):
    report = import_promptfoo(DATA / "json-output" / "promptfooconfig.yaml", tmp_path)
    assert places(report) == [("promptfooconfig.yaml", "tests[0].assert[1]"),
                              ("promptfooconfig.yaml", "tests[1].options.transform"),
                              ("promptfooconfig.yaml", "tests[1].assert[1]"),
                              ("promptfooconfig.yaml", "tests[1].assert[2]")]
    assert "transform" in report.not_carried[3].why
    task = load(tmp_path).tasks["json_object_evals"]
    plain, with_schema = task.graders
    assert plain.options == {"schema": None, "fields": None, "mode": "whole", "expected_key": "is_json"}
    assert with_schema.options["schema"]["required"] == ["color", "countries"]
    good = '{"color": "purple", "countries": ["Brazil"]}'
    banana, passion = task.golden.cases
    assert with_schema.grade(good, passion).passed
    assert not with_schema.grade('{"color": "purple"}', passion).passed
    assert not with_schema.grade('{"color": "purple"}', banana).applies  # test 0 has no schema check


def project_models(out: Path) -> dict[str, str]:
    models = load(out).config.models
    return {n: m.litellm or m.python or m.local for n, m in models.items()}


# ---- suites written here: every mapping, strict mode, refusing to overwrite -------------------


SUITE = """
description: Capital cities
prompts:
  - id: file://chat.json
    label: chat
providers:
  - id: anthropic:messages:claude-3-5-haiku-latest
    config: {temperature: 0, max_tokens: 20}
  - id: ollama:chat:llama3.2
    label: Local Llama
    config: {temperature: 0, max_tokens: 20, apiBaseUrl: "http://127.0.0.1:11434", num_ctx: 2048}
  - exec:./my_script.sh
defaultTest:
  vars: {style: terse}
  assert:
    - type: not-icontains
      value: as an ai
    - type: latency
      threshold: 3000
    - type: cost
      threshold: 0.001
tests:
  - file://more.yaml
  - file://more.jsonl
  - vars: {country: [France, Spain]}
    assert:
      - type: python
        value: file://check.py:is_capital
      - $ref: '#/assertionTemplates/startsUpper'
assertionTemplates:
  startsUpper: {type: regex, value: "^[A-Z]"}
"""


def write_suite(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "promptfooconfig.yaml").write_text(SUITE)
    (root / "chat.json").write_text(json.dumps([
        {"role": "system", "content": "Answer in one word ({{style}})."},
        {"role": "user", "content": "Capital of {{country}}?"}]))
    (root / "more.yaml").write_text(textwrap.dedent("""
        - vars: {country: Italy}
          assert:
            - {type: equals, value: Rome}
            - {type: levenshtein, value: Rome, threshold: 1}
        - vars: {country: Peru}
          assert:
            - {type: starts-with, value: Lim}
            - {type: contains-all, value: [L, m]}
    """))
    (root / "more.jsonl").write_text(json.dumps({"vars": {"country": "Chile"},
                                                 "assert": [{"type": "equals", "value": "Santiago"}]}) + "\n")
    (root / "check.py").write_text(textwrap.dedent("""
        CAPITALS = {"France": "Paris", "Spain": "Madrid"}

        def is_capital(output, context):
            want = CAPITALS[context["vars"]["country"]]
            return {"pass": output.strip() == want, "score": float(output.strip() == want), "reason": "checked " + want}
    """))
    return root / "promptfooconfig.yaml"


def test_written_suite_maps_every_supported_assertion(tmp_path):
    report = import_promptfoo(write_suite(tmp_path / "pf"), tmp_path / "out")
    task = load(tmp_path / "out").tasks["capital_cities"]
    assert task.spec.prompt.system == "Answer in one word ({{style}})."
    assert task.spec.max_p95_latency_ms == 3000
    assert task.params() == {"temperature": 0.0, "max_tokens": 20}
    assert [c.vars["country"] for c in task.golden.cases] == ["Italy", "Peru", "Chile", "France", "Spain"]
    assert all(c.vars["style"] == "terse" for c in task.golden.cases)  # defaultTest vars
    configs = [dict(g.options, type=g.name) for g in task.graders]
    assert {"type": "contains", "value": "as an ai", "normalize": ["lower"], "not": True} in configs
    assert {"type": "exact", "normalize": [], "expected_key": "equals"} in configs
    assert {"type": "similarity", "normalize": [], "pass_at": 0.8, "max_distance": 1, "expected_key": "levenshtein"} in configs
    assert {"type": "regex", "pattern": "^Lim", "flags": [], "full": False, "expected_key": "starts_with"} in configs
    assert {"type": "regex", "pattern": "^[A-Z]", "flags": [], "full": False, "expected_key": "regex"} in configs
    assert {"type": "contains_all", "values": ["L", "m"], "normalize": [], "expected_key": "contains_all"} in configs
    assert report.candidates == ["claude-3-5-haiku-latest", "local-llama"]
    assert project_models(tmp_path / "out") == {"claude-3-5-haiku-latest": "anthropic/claude-3-5-haiku-latest",
                                                "local-llama": "ollama_chat/llama3.2"}
    assert load(tmp_path / "out").config.models["local-llama"].call_options == {"api_base": "http://127.0.0.1:11434"}


def test_written_suite_lists_what_it_cannot_carry(tmp_path):
    report = import_promptfoo(write_suite(tmp_path / "pf"), tmp_path / "out")
    assert sorted((d.place, d.what) for d in report.not_carried) == [
        ("defaultTest.assert[2]", "cost assertion"),
        ("providers[1].config.num_ctx", "provider option 'num_ctx'"),
        ("providers[2]", "provider 'exec:./my_script.sh'"),
    ]


def test_written_suite_grades_through_the_python_file_and_skips_checks_a_case_lacks(tmp_path):
    import_promptfoo(write_suite(tmp_path / "pf"), tmp_path / "out")
    from harness.graders import combine

    task = load(tmp_path / "out").tasks["capital_cities"]
    cases = {c.vars["country"]: c for c in task.golden.cases}

    def grade(country: str, output: str):
        return combine(task.graders, [g.grade(output, cases[country]) for g in task.graders])

    assert grade("France", "Paris").passed
    assert not grade("France", "Lyon").passed and "checked Paris" in grade("France", "Lyon").reason
    assert grade("Italy", "Rome").passed and not grade("Italy", "Roma").passed  # equals fails, levenshtein 1 passes
    # not-icontains and levenshtein pass, equals fails; the python and regex checks are France's and Spain's
    assert grade("Italy", "Roma").score == pytest.approx(2 / 3)
    assert not grade("Chile", "As an AI, Santiago").passed  # the negated defaultTest check


def test_strict_refuses_and_writes_nothing(tmp_path):
    with pytest.raises(ConfigError, match=r"3 thing\(s\) cannot be carried over \(--strict\): promptfooconfig\.yaml: "
                                          r"providers\[1\]\.config\.num_ctx"):
        import_promptfoo(write_suite(tmp_path / "pf"), tmp_path / "out", strict=True)
    assert not (tmp_path / "out").exists()


def test_strict_passes_a_suite_that_carries_over_whole(tmp_path):
    (tmp_path / "promptfooconfig.yaml").write_text(textwrap.dedent("""
        prompts: ["Say {{word}}"]
        providers: [openai:gpt-4o-mini]
        tests:
          - vars: {word: hi}
            assert: [{type: icontains, value: hi}]
    """))
    report = import_promptfoo(tmp_path / "promptfooconfig.yaml", tmp_path / "out", strict=True)
    assert report.not_carried == [] and len(report.tasks) == 1
    assert str(report).endswith("everything was carried over")
    load(tmp_path / "out")


def test_assertion_templates_render_in_the_prompt_sandbox(tmp_path):
    # a suite is data: a template that reaches for Python internals is not carried, never evaluated
    (tmp_path / "promptfooconfig.yaml").write_text(textwrap.dedent("""
        prompts: ["Say {{word}}"]
        providers: [openai:gpt-4o-mini]
        tests:
          - vars: {word: hi}
            assert:
              - {type: icontains, value: "{{ word }}"}
              - {type: contains, value: "{{ word.__class__.__mro__ }}"}
    """))
    report = import_promptfoo(tmp_path / "promptfooconfig.yaml", tmp_path / "out")
    assert len(report.tasks) == 1 and len(report.not_carried) == 1
    assert "does not render here" in report.not_carried[0].why and "<class" not in str(report)
    (case,) = golden(tmp_path / "out", report.tasks[0])
    assert "hi" in json.dumps(case) and "__mro__" not in json.dumps(case.get("expected"))


def test_a_templated_assertion_value_keeps_its_trailing_newline_as_a_plain_one_does():
    from harness.importers._promptfoo_asserts import Renderer

    assert Renderer().render("{{ word }}\n", {"word": "hi"}) == "hi\n"  # as the prompts render (keep_trailing_newline)


def test_import_never_overwrites_a_project(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "tierwise.yaml").write_text("models: {}\n")
    with pytest.raises(ConfigError, match=r"tierwise\.yaml: already exists; fix: import into an empty folder"):
        import_promptfoo(DATA / "simple-csv" / "promptfooconfig.yaml", tmp_path / "out")


def test_a_missing_tests_file_names_the_file(tmp_path):
    (tmp_path / "promptfooconfig.yaml").write_text("prompts: [hi]\nproviders: [openai:gpt-4o]\ntests: file://nope.csv\n")
    with pytest.raises(ConfigError, match=r"^nope\.csv: file not found"):
        import_promptfoo(tmp_path / "promptfooconfig.yaml", tmp_path / "out")


def test_a_test_with_a_var_the_prompt_lacks_is_reported_not_written(tmp_path):
    (tmp_path / "promptfooconfig.yaml").write_text(textwrap.dedent("""
        prompts: ["Translate {{text}} to {{lang}}"]
        providers: [openai:gpt-4o-mini]
        tests:
          - vars: {text: hi}
            assert: [{type: contains, value: x}]
    """))
    with pytest.raises(NothingImported, match=r"nothing imported, no task could be made \(1 × a prompt variable a "
                       r"test does not give\); the first: .*uses 'lang', which promptfooconfig.yaml: tests\[0\] "
                       r"does not give"):
        import_promptfoo(tmp_path / "promptfooconfig.yaml", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---- the pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai:gpt-4o-mini", "openai/gpt-4o-mini"),
        ("openai:chat:gpt-4o-mini", "openai/gpt-4o-mini"),
        ("anthropic:messages:claude-3-5-sonnet-20241022", "anthropic/claude-3-5-sonnet-20241022"),
        ("ollama:chat:llama3.2", "ollama_chat/llama3.2"),
        ("ollama:llama3.2", "ollama/llama3.2"),
        ("bedrock:anthropic.claude-3-haiku-20240307-v1:0", "bedrock/anthropic.claude-3-haiku-20240307-v1:0"),
        ("vertex:gemini-1.5-pro", "vertex_ai/gemini-1.5-pro"),
        ("google:gemini-2.0-flash", "gemini/gemini-2.0-flash"),
        ("azure:chat:my-deployment", "azure/my-deployment"),
        ("mistral:mistral-large-latest", "mistral/mistral-large-latest"),
        ("litellm:groq/llama3-8b-8192", "groq/llama3-8b-8192"),
    ],
)
def test_provider_ids_become_litellm_model_strings(provider, model):
    assert litellm_model(provider) == model


@pytest.mark.parametrize("provider", ["exec:./run.sh", "http", "openai:embedding:text-embedding-3-small", "python:x.py"])
def test_providers_without_a_litellm_counterpart_are_refused(provider):
    with pytest.raises(Unsupported):
        litellm_model(provider)


@pytest.mark.parametrize(
    ("text", "assertion"),
    [
        ("icontains:bonjour", {"type": "icontains", "value": "bonjour"}),
        ("not-contains:sorry", {"type": "not-contains", "value": "sorry"}),
        ("contains-any:a, b,c", {"type": "contains-any", "value": ["a", "b", "c"]}),
        ("similar(0.9):Ahoy", {"type": "similar", "value": "Ahoy", "threshold": 0.9}),
        ("levenshtein(3):Rome", {"type": "levenshtein", "value": "Rome", "threshold": 3.0}),
        ("is-json", {"type": "is-json"}),
        ("grade:is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("javascript: output.length < 9", {"type": "javascript", "value": "output.length < 9"}),
        ("Paris", {"type": "equals", "value": "Paris"}),
    ],
)
def test_csv_expected_strings(text, assertion):
    assert assertion_from_string(text) == assertion


@pytest.mark.parametrize(
    ("text", "values"),
    [  # promptfoo's parseCommaSeparatedValues (src/util/parseCommaSeparatedValues.ts) gives the same
        ("foo, bar, baz", ["foo", "bar", "baz"]),
        ('"hello, world", foo', ["hello, world", "foo"]),
        ('foo,"bar,baz",quu', ["foo", "bar,baz", "quu"]),
        ("a,,b,", ["a", "b"]),
        ('"say ""hi""", b', ['say "hi"', "b"]),
        ('"a\\"b", c', ['a"b', "c"]),
        ('x"y, z', ['x"y', "z"]),
        ('"", a', ["", "a"]),
        ('"unclosed, a', '"unclosed, a'),          # malformed: left whole, refused by the mapping
        ('"a" b, c', '"a" b, c'),
    ],
)
def test_comma_separated_values_respect_quotes(text, values):
    from harness.importers._promptfoo_asserts import split_values

    assert split_values(text) == values


def test_contains_any_with_a_quoted_comma_keeps_the_value_whole(tmp_path):
    (tmp_path / "tests.csv").write_text('q,__expected\nhi,"contains-any:""hello, world"",bye"\n')
    (tmp_path / "promptfooconfig.yaml").write_text(textwrap.dedent("""
        prompts: ["Greet {{ q }}"]
        providers: [openai:gpt-4.1-mini]
        defaultTest:
          assert: [{type: icontains-all, value: '"a, b", c'}]
        tests: file://tests.csv
    """))
    report = import_promptfoo(tmp_path / "promptfooconfig.yaml", tmp_path / "out")
    graders = spec(tmp_path / "out", report.tasks[0])["graders"]
    assert {"type": "contains_all", "normalize": ["lower"], "values": ["a, b", "c"]} in graders
    assert {"type": "contains_any", "normalize": [], "values": ["hello, world", "bye"]} in graders


# ---- end to end: an imported suite runs ---------------------------------------------------------


def test_an_imported_echo_suite_runs_end_to_end(tmp_path):
    """Import, load, run (the echo candidate is a python function: no model, no network), read
    the stored results: the scores are promptfoo's verdicts on the same outputs."""
    import harness

    (tmp_path / "pf").mkdir()
    (tmp_path / "pf" / "promptfooconfig.yaml").write_text(textwrap.dedent("""
        description: Echo parity
        prompts: ["{{answer}}"]
        providers: [echo]
        defaultTest:
          assert: [{type: not-icontains, value: sorry}]
        tests:
          - vars: {answer: Paris}
            assert: [{type: equals, value: Paris}]
          - vars: {answer: "Sorry, Paris"}
            assert: [{type: equals, value: Paris}]
          - vars: {answer: "60"}
            assert: [{type: regex, value: "^\\\\d+$"}]
          - vars: {answer: 'Here: {"a": 1}'}
            assert: [{type: is-json}]
    """))
    report = import_promptfoo(tmp_path / "pf" / "promptfooconfig.yaml", tmp_path / "out", strict=True)
    assert report.tasks == ["echo_parity"] and report.candidates == ["echo"]
    project = harness.load_project(tmp_path / "out")
    harness.run(project, progress=False, argv=["run"])
    frame = harness.results(project).sort_values("case_id")
    assert list(frame["case_id"]) == ["pf-001", "pf-002", "pf-003", "pf-004"]
    assert list(frame["passed"]) == [True, False, True, False]  # "Sorry" fails not-icontains; no whole JSON
    assert list(frame["score"]) == [1.0, 0.0, 1.0, 0.5]  # case 4 still passes its not-icontains grader


def test_a_long_description_becomes_a_task_name_cut_after_a_whole_word(tmp_path):
    (tmp_path / "pf").mkdir()
    (tmp_path / "pf" / "promptfooconfig.yaml").write_text(textwrap.dedent("""
        description: Customer support replies stay polite and accurate under pressure
        prompts:
          - {raw: "{{q}}", label: "Answer the customer politely, citing the refund policy"}
          - {raw: "Q: {{q}}", label: "Answer the customer politely, citing the shipping policy"}
        providers: [echo]
        tests:
          - vars: {q: hi}
            assert: [{type: equals, value: hi}]
    """))
    report = import_promptfoo(tmp_path / "pf" / "promptfooconfig.yaml", tmp_path / "out")
    # the description's first 40 characters end in "acc", the label's first 30 in "ci": each is cut after a word
    assert report.tasks == ["customer_support_replies_stay_polite_and_answer_the_customer_politely",
                            "customer_support_replies_stay_polite_and_answer_the_customer_politely_2"]


def test_naming_the_expected_keys_of_many_graders_is_linear():
    """30,000 tests with a regex each are 30,000 graders named `regex`: naming their
    expected_keys took 94 s of CPU (a scan from regex_2 for each, and a list lookup);
    it is a dict and set lookup each now (benchmarks/import_scale.py has the whole import)."""
    import time

    from harness.importers.promptfoo import _expected

    n, graders = 300_000, 30_000
    built = [({"type": "exact"}, {j: f"a{j}" for j in range(n)}, True, "equals")]
    built += [({"type": "regex", "pattern": f"^a{g}"}, {g * 10: True}, False, "regex") for g in range(graders)]
    started = time.process_time()
    configs, expected = _expected(built, n)
    assert time.process_time() - started < 3
    assert [c["expected_key"] for c in configs[1:4]] == ["regex", "regex_2", "regex_3"]
    assert configs[-1]["expected_key"] == f"regex_{graders}"
    assert expected[10] == {"equals": "a10", "regex_2": True} and expected[11] == {"equals": "a11"}
