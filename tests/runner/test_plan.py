from harness import load_project
from harness.models import constraint, resolve_candidates
from harness.runner import plan_run
from tests.projfix import cases, spec, write_project

MODELS = {"rule": {"python": "rules:echo"}, "local": {"local": "smollm2-135m-instruct"},
          "api": {"litellm": "openai/gpt-4.1-mini"}}


def _task(tmp_path, golden=None, **kw):
    write_project(tmp_path, models=MODELS, specs={"t": spec(candidates=["rule", "local", "api"], **kw)},
                  golden={"t": golden} if golden is not None else None)
    project = load_project(tmp_path)
    return project, project.tasks["t"], resolve_candidates(project.config, list(MODELS), check_keys=False)


def test_local_choices_get_a_grammar_and_room_for_the_longest_label(tmp_path):
    labels = ("billing", "technical")  # the cases' expected labels must be among the choices
    _, task, cands = _task(tmp_path, golden=cases(4, labels), output={"choices": list(labels)},
                           params={"max_tokens": 4})
    extra = constraint(task, cands["local"])
    assert extra["extra_body"]["grammar"] == 'root ::= "billing" | "technical"'
    assert extra["max_tokens"] == len("technical") + 1


def test_local_json_schema_uses_response_format(tmp_path):
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    _, task, cands = _task(tmp_path, output={"json_schema": schema})
    assert constraint(task, cands["local"]) == {"extra_body": {"response_format": {"type": "json_object",
                                                                                  "schema": schema}}}


def test_python_and_free_text_get_no_constraint(tmp_path):
    _, task, cands = _task(tmp_path)
    assert constraint(task, cands["rule"]) == {} and constraint(task, cands["local"]) == {}


def test_call_key_depends_on_model_and_messages_only(tmp_path):
    project, task, cands = _task(tmp_path)
    plan = plan_run([task], cands)
    keys = {(it.cand.name, it.case.id): it.call_key for it in plan.items}
    assert keys[("rule", "c000")] != keys[("local", "c000")]  # another model
    assert keys[("rule", "c000")] != keys[("rule", "c001")]  # another message
    assert keys[("rule", "c000")] == keys[("rule", "c002")]  # the same messages: one cached call
    assert {(it.cand.name, it.case.id): it.call_key for it in plan_run([task], cands).items} == keys


def test_limit_and_shards_partition_the_cases(tmp_path):
    _, task, cands = _task(tmp_path)
    assert len(plan_run([task], {"rule": cands["rule"]}, limit=2).items) == 2
    shards = [{it.case.id for it in plan_run([task], {"rule": cands["rule"]}, shard=(i, 3)).items} for i in (1, 2, 3)]
    assert set().union(*shards) == {c.id for c in task.golden.cases}
    assert sum(len(s) for s in shards) == len(task.golden)


def test_python_candidates_ignore_the_prompt(tmp_path):
    _, task, cands = _task(tmp_path)
    before = {it.cand.name: it.call_key for it in plan_run([task], cands).items if it.case.id == "c000"}
    spec_before = {name: task.spec_hash(name) for name in ("rule", "local")}
    _, task, cands = _task(tmp_path, prompt={"system": "A new system prompt.", "user": "{{ text }}"})
    after = {it.cand.name: it.call_key for it in plan_run([task], cands).items if it.case.id == "c000"}
    assert after["rule"] == before["rule"] and task.spec_hash("rule") == spec_before["rule"]
    assert after["local"] != before["local"] and task.spec_hash("local") != spec_before["local"]


def test_only_a_confidence_stage_asks_for_log_probabilities_and_other_keys_stay_as_they_were(tmp_path):
    labels = ("billing", "technical")
    plain = {"output": {"choices": list(labels)}, "params": {"max_tokens": 4}}
    _, task, cands = _task(tmp_path / "a", golden=cases(4, labels), **plain)
    before = {name: constraint(task, cands[name]) for name in ("local", "api")}
    keys_before = {(it.cand.name, it.case.id): it.call_key for it in plan_run([task], cands).items}
    cascade = {"cascade": ["local", "api"], "defer": ["confidence"]}
    write_project(tmp_path / "b", models=MODELS, golden={"t": cases(4, labels)},
                  specs={"t": spec(candidates=["rule", "local", "api", cascade], **plain)})
    task = load_project(tmp_path / "b").tasks["t"]
    assert constraint(task, cands["local"]) == {**before["local"], "logprobs": True}
    assert constraint(task, cands["api"]) == before["api"]  # the last stage always answers: no signal
    keys = {(it.cand.name, it.case.id): it.call_key for it in plan_run([task], cands).items}
    assert all(keys[k] != keys_before[k] for k in keys if k[0] == "local")
    assert all(keys[k] == keys_before[k] for k in keys if k[0] != "local")
