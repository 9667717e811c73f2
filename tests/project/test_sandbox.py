"""Prompts render in Jinja's immutable sandbox: every known escape is a validate error naming
the file and the place, and none of them runs anything."""

import sys

import pytest

from harness.cli import main
from tests.projfix import spec, write_project

ESCAPES = {
    "cycler_globals": "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
    "joiner_globals": "{{ joiner.__init__.__globals__.os.system('touch PWNED') }}",
    "namespace_init": "{{ namespace.__init__.__globals__ }}",
    "lipsum_globals": "{{ lipsum.__globals__['os'].system('touch PWNED') }}",
    "class_mro": "{{ text.__class__.__mro__[1].__subclasses__() }}",
    "item_dunder": "{{ text['__class__'] }}",
    "attr_filter": "{{ lipsum|attr('__globals__') }}",
    "attr_filter_computed": "{{ (lipsum|attr('_' ~ '_globals_' ~ '_'))['os'].system('touch PWNED') }}",
    "format_string": "{{ '{0.__class__.__mro__}'.format(text) }}",
    "format_filter_chain": "{{ ('{0.__init__.__globals__}').format(cycler) }}",
    "mutating_method": "{% set xs = [1] %}{{ xs.append(2) }}",
    "string_bomb": "{{ text * 100000000 }}",
    "self_globals": "{{ self.__init__.__globals__ }}",
}


@pytest.mark.parametrize("template", ESCAPES.values(), ids=list(ESCAPES))
def test_validate_refuses_each_known_jinja_escape(template, tmp_path, monkeypatch, capsys):
    write_project(tmp_path, specs={"t": spec(prompt={"system": "ok", "user": template})})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["tierwise", "validate", "--project", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert err.startswith("error: evals/t.yaml: prompt.user: ") and "sandbox" in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "PWNED").exists()


def test_escape_in_a_variant_names_the_variant(tmp_path, monkeypatch, capsys):
    prompt = {"user": "{{ text }}", "variants": {"rule": {"user": "{{ text|attr('__class__') }}"}}}
    write_project(tmp_path, specs={"t": spec(prompt=prompt)})
    monkeypatch.setattr(sys, "argv", ["tierwise", "validate", "--project", str(tmp_path)])
    with pytest.raises(SystemExit):
        main()
    assert "evals/t.yaml: prompt.variants.rule.user: " in capsys.readouterr().err


def test_ordinary_templates_still_render(tmp_path):
    from harness import load_project

    user = ("{% set ns = namespace(n=0) %}{% for w in text.split() %}{% set ns.n = ns.n + 1 %}{% endfor %}"
            "{{ text|upper }} {{ ns.n }} {{ '%s!'|format(text) }} {{ '-' * 3 }} {{ {'a': 1}.items()|list }}")
    project = load_project(write_project(tmp_path, specs={"t": spec(prompt={"user": user})}))
    messages = project.tasks["t"].render("rule", {"text": "yes sir"})
    assert messages[0]["content"] == "YES SIR 2 yes sir! --- [('a', 1)]"


# ---- the budget: work, time and size of one render (issue 22) -----------------------------------

BOMBS = {
    "nested_range": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ text }}",
    "nested_range_output": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}{{ text }}",
    "loop_over_product": "{% for i in range(1000) %}{% for j in range(1000) %}{{ text[:0] }}{% endfor %}{% endfor %}",
    "replace_growth": "{{ ('a' * 999999)|replace('a', 'aaaaaaa') }}{{ text }}",
    "replace_chain": "{{ ('a' * 999999)|replace('a', 'aa')|replace('a', 'aa')|replace('a', 'aa') }}{{ text }}",
    "join_of_repeats": "{{ ([text * 99999] * 999)|join }}",
    "center_width": "{{ text|center(999999999) }}",
    "ljust_method": "{{ text.ljust(999999999) }}",
    "format_width": "{{ '{:>999999999}'.format(text) }}",
    "percent_width": "{{ '%999999999s' % text }}",
    "percent_star": "{{ '%*s' % (999999999, text) }}",
    "format_filter_width": "{{ '%999999999s'|format(text) }}",
    "concat_doubling": "{% set ns = namespace(s=text * 99999) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "plus_doubling": "{% set ns = namespace(s=text * 99999) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "indent_prefix": "{{ ('\\n' * 999999)|indent(text * 10) }}",
    "recursive_macro": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(text) }}",
    "output_size": "{% for i in range(99999) %}{{ text * 99 }}{% endfor %}",
}


@pytest.mark.parametrize("template", BOMBS.values(), ids=list(BOMBS))
def test_validate_refuses_a_template_past_its_budget_within_a_second(template, tmp_path, monkeypatch, capsys):
    import time

    write_project(tmp_path, specs={"t": spec(prompt={"system": "ok", "user": template})})
    monkeypatch.setattr(sys, "argv", ["tierwise", "validate", "--project", str(tmp_path)])
    start, start_cpu = time.monotonic(), time.process_time()
    with pytest.raises(SystemExit) as exit_:
        main()
    elapsed, cpu = time.monotonic() - start, time.process_time() - start_cpu
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert err.startswith("error: evals/t.yaml: prompt") and err.count("\n") == 1, err
    assert "Traceback" not in err
    # about 0.3 s on an idle machine; CPU time, so that a loaded CI box does not fail it,
    # and a generous wall bound that a hang (10^10 iterations) could never meet
    assert cpu < 2 and elapsed < 20, f"took {cpu:.1f} s of CPU, {elapsed:.1f} s"


def test_budget_numbers_refuse_just_past_the_bound_and_allow_just_under():
    from jinja2.exceptions import SecurityError

    from harness.project._sandbox import MAX_CHARS, MAX_STEPS, prompt_env

    env = prompt_env()
    under = "{% for i in range(N) %}{% endfor %}ok".replace("N", str(MAX_STEPS - 1))
    assert env.from_string(under).render() == "ok"
    over = "{% for i in range(10) %}{% for j in range(N) %}{% endfor %}{% endfor %}".replace("N", str(MAX_STEPS // 10))
    with pytest.raises(SecurityError, match=f"more than {MAX_STEPS:,} loop iterations"):
        env.from_string(over).render()
    assert len(env.from_string("{{ x|replace('a', 'aa') }}").render(x="a" * (MAX_CHARS // 2))) == MAX_CHARS
    with pytest.raises(SecurityError, match=f"over {MAX_CHARS:,} characters"):
        env.from_string("{{ x|replace('a', 'aa') }}").render(x="a" * (MAX_CHARS // 2 + 1))


def test_each_render_gets_a_fresh_budget():
    from harness.project._sandbox import MAX_STEPS, prompt_env

    template = prompt_env().from_string("{% for i in range(N) %}{% endfor %}ok".replace("N", str(MAX_STEPS * 3 // 4)))
    assert [template.render() for _ in range(3)] == ["ok"] * 3
