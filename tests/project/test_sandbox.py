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
