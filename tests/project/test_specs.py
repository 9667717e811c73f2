import pytest

from harness import load_project
from harness.errors import GraderError, SpecError
from tests.projfix import spec, write_project


def test_valid_project_loads(tmp_path):
    project = load_project(write_project(tmp_path))
    assert list(project.tasks) == ["t"]
    assert len(project.tasks["t"].golden) == 6


def test_unknown_key_names_file_place_and_known_keys(tmp_path):
    write_project(tmp_path, specs={"t": spec(treshold=0.9)})
    with pytest.raises(SpecError, match=r"^evals/t\.yaml: treshold: unknown key 'treshold'; did you mean 'threshold'\?; known: .*threshold"):
        load_project(tmp_path)


def test_a_key_far_from_every_known_one_gets_no_guess(tmp_path):
    write_project(tmp_path, specs={"t": spec(zzzz=1)})
    with pytest.raises(SpecError) as exc:
        load_project(tmp_path)
    assert "did you mean" not in str(exc.value) and "unknown key 'zzzz'; known:" in str(exc.value)


def test_nested_unknown_key_is_located(tmp_path):
    write_project(tmp_path, specs={"t": spec(prompt={"user": "{{ text }}", "sytem": "x"})})
    with pytest.raises(SpecError, match=r"evals/t\.yaml: prompt\.sytem: unknown key 'sytem'; did you mean 'system'\?; known: system, user, variants"):
        load_project(tmp_path)


def test_unknown_grader_lists_known_ones(tmp_path):
    write_project(tmp_path, specs={"t": spec(graders=[{"type": "exact"}, {"type": "containz"}])})
    with pytest.raises(GraderError, match=r"evals/t\.yaml: graders\[1\]\.type: unknown grader 'containz'; known: .*contains"):
        load_project(tmp_path)


def test_task_with_no_graders_is_refused(tmp_path):
    write_project(tmp_path, specs={"t": spec(graders=[])})
    with pytest.raises(GraderError, match=r"evals/t\.yaml: graders: a task needs at least one grader"):
        load_project(tmp_path)


def test_unknown_candidate_lists_catalog(tmp_path):
    write_project(tmp_path, specs={"t": spec(candidates=["rule", "gpt-5-ultra"])})
    with pytest.raises(SpecError, match=r"evals/t\.yaml: candidates\[1\]: unknown model 'gpt-5-ultra'; known: rule"):
        load_project(tmp_path)


def test_empty_candidates_name_the_file_and_the_fix(tmp_path):
    # what `tierwise import promptfoo` writes when no provider of the suite maps
    write_project(tmp_path, specs={"t": spec(candidates=[])})
    with pytest.raises(SpecError, match=r"evals/t\.yaml: candidates: empty, .*known models: rule; "
                                        r"fix: name one here \(candidates: \[NAME\]\)"):
        load_project(tmp_path)


def test_variant_for_unknown_model_is_refused(tmp_path):
    write_project(tmp_path, specs={"t": spec(prompt={"user": "{{ text }}", "variants": {"nope": {"system": "x"}}})})
    with pytest.raises(SpecError, match=r"prompt\.variants\.nope: unknown model 'nope'"):
        load_project(tmp_path)


def test_missing_golden_set_is_named(tmp_path):
    write_project(tmp_path, specs={"t": spec(golden_set="golden_sets/missing.jsonl")})
    with pytest.raises(SpecError, match=r"evals/t\.yaml: golden_set: golden_sets/missing\.jsonl does not exist"):
        load_project(tmp_path)


def test_template_variable_no_case_provides(tmp_path):
    write_project(tmp_path, specs={"t": spec(prompt={"user": "{{ text }} in {{ lang }}"})})
    with pytest.raises(SpecError, match=r"evals/t\.yaml: prompt\.user: variable 'lang' is not provided by case 'c000' "
                                        r"\(golden_sets/t\.jsonl:1\)"):
        load_project(tmp_path)


def test_template_syntax_error_is_located(tmp_path):
    write_project(tmp_path, specs={"t": spec(prompt={"user": "{{ text "})})
    with pytest.raises(SpecError, match=r"prompt\.user: template syntax error"):
        load_project(tmp_path)


def test_yes_no_labels_stay_strings(tmp_path):
    (tmp_path / "evals").mkdir(parents=True)
    write_project(tmp_path, specs={})
    (tmp_path / "evals" / "t.yaml").write_text(
        "task: t\ngolden_set: golden_sets/t.jsonl\nprompt: {user: '{{ text }}'}\n"
        "output: {choices: [yes, no]}\ngraders: [{type: choice}]\nthreshold: 0.5\ncandidates: [rule]\n")
    project = load_project(tmp_path)
    assert project.tasks["t"].spec.output.choices == ["yes", "no"]


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    write_project(tmp_path)
    (tmp_path / "evals" / "t.yaml").write_text("task: t\nprompt: {user: [\n")
    with pytest.raises(SpecError, match=r"^evals/t\.yaml:\d+:\d+: invalid YAML"):
        load_project(tmp_path)


def test_prompt_variant_overrides_only_its_model(tmp_path):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "other": {"python": "rules:upper"}},
                  specs={"t": spec(candidates=["rule", "other"],
                                   prompt={"system": "S", "user": "{{ text }}", "variants": {"other": {"system": "V"}}})})
    task = load_project(tmp_path).tasks["t"]
    assert task.render("rule", {"text": "a"})[0]["content"] == "S"
    assert task.render("other", {"text": "a"})[0]["content"] == "V"
    # python: candidates are sent the vars, not the prompt: editing the variant leaves their hash alone
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "other": {"python": "rules:upper"}},
                  specs={"t": spec(candidates=["rule", "other"],
                                   prompt={"system": "S", "user": "{{ text }}", "variants": {"other": {"system": "W"}}})})
    edited = load_project(tmp_path).tasks["t"]
    assert edited.render("other", {"text": "a"})[0]["content"] == "W"
    assert edited.spec_hash("other") == task.spec_hash("other")




@pytest.mark.parametrize("source", ["Answer with one word.", "Réponds « oui »\n\n", "{ not a tag }", "tab\tend\n"])
def test_a_prompt_without_jinja_syntax_renders_as_jinja_would(tmp_path, source):
    from harness.project import prompt_env

    write_project(tmp_path, specs={"t": spec(prompt={"system": source, "user": "{{ text }}"})})
    messages = load_project(tmp_path).tasks["t"].render("rule", {"text": "yes"})
    assert messages[0] == {"role": "system", "content": prompt_env().from_string(source).render(text="yes")}
