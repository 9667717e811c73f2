"""Hostile promptfoo suites (issue 22): each ends in one clean line naming the file and place
(exit 2, no traceback, nothing written) or in a correct import, within seconds.

Each entry is the suite's files, relative to its folder `suite/` (so `../secret.txt` is a file
beside that folder, outside it); a Symlink value makes a link instead of a file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import TierwiseError
from harness.importers import import_promptfoo

ROOT = Path(__file__).resolve().parents[2]
SECRET = "root:x:0:0:secret-marker"


@dataclass(frozen=True)
class Symlink:
    target: str


def _suite(body: str) -> str:
    return textwrap.dedent(body).lstrip()


PLAIN = _suite("""
    prompts: ["Say {{ x }}"]
    providers: [openai:gpt-4.1-mini]
    tests:
      - vars: {x: hi}
        assert: [{type: equals, value: hi}]
""")


def _config(**replace: str) -> str:
    """PLAIN with some of its lines replaced: key -> the new text of that block."""
    parts = {"prompts": '["Say {{ x }}"]', "providers": "[openai:gpt-4.1-mini]",
             "tests": "\n  - vars: {x: hi}\n    assert: [{type: equals, value: hi}]"}
    parts.update(replace)
    return "".join(f"{k}: {v}\n" for k, v in parts.items() if v is not None)


def _bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _ref_bomb(levels: int) -> str:
    lines = ["x0: [a, b, c, d, e, f, g, h, i, j]"]
    for i in range(1, levels):
        ref = "{$ref: '#/x%d'}" % (i - 1)
        lines.append(f"x{i}: [{', '.join([ref] * 10)}]")
    return "\n".join(lines) + "\n"


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


OUT = "../secret.txt"
CSV_HEAD = "x,__expected\n"

# name -> (files, what the one-line error must say)
ERRORS: dict[str, tuple[dict[str, object], str]] = {
    # 1. paths that leave the config's folder
    "prompt_parent_path": ({"promptfooconfig.yaml": _config(prompts="[file://../secret.txt]")},
                           r"prompts\[0\]: prompt file '\.\./secret\.txt' is outside the config's folder"),
    "prompt_absolute_path": ({"promptfooconfig.yaml": _config(prompts="[file:///etc/passwd]")},
                             r"prompts\[0\]: prompt file '/etc/passwd' is outside"),
    "var_parent_path": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: file://../secret.txt}")},
                        r"tests\[0\]\.vars\.x: var file '\.\./secret\.txt' is outside"),
    "var_absolute_path": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: 'file:///etc/passwd'}")},
                          r"tests\[0\]\.vars\.x: var file '/etc/passwd' is outside"),
    "tests_file_parent": ({"promptfooconfig.yaml": _config(tests="file://../tests.yaml"),
                           "../tests.yaml": "- vars: {x: hi}\n"}, r"tests: tests file '\.\./tests\.yaml' is outside"),
    "tests_csv_parent": ({"promptfooconfig.yaml": _config(tests="[file://../tests.csv]"),
                          "../tests.csv": CSV_HEAD + "hi,hi\n"}, r"tests\[0\]: tests file '\.\./tests\.csv' is outside"),
    "csv_cell_outside": ({"promptfooconfig.yaml": _config(tests="file://tests.csv"),
                          "tests.csv": CSV_HEAD + "file://../secret.txt,hi\n"},
                         r"tests\.csv: row 2\.vars\.x: var file '\.\./secret\.txt' is outside"),
    "default_test_file_outside": ({"promptfooconfig.yaml": PLAIN + "defaultTest: file://../default.yaml\n",
                                   "../default.yaml": "vars: {y: 1}\n"}, r"defaultTest: file '\.\./default\.yaml' is outside"),
    "default_test_var_outside": ({"promptfooconfig.yaml": PLAIN + "defaultTest: {vars: {y: 'file:///etc/passwd'}}\n"},
                                 r"tests\[0\]\.vars\.y: var file '/etc/passwd' is outside"),
    "symlinked_prompt_outside": ({"promptfooconfig.yaml": _config(prompts="[file://prompt.txt]"),
                                  "prompt.txt": Symlink(OUT)}, r"prompt file 'prompt\.txt' is outside"),
    "symlinked_folder_outside": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: file://data/secret.txt}"),
                                  "data": Symlink("..")}, r"var file 'data/secret\.txt' is outside"),
    "python_assert_outside": ({"promptfooconfig.yaml": _config(
        tests="\n  - vars: {x: hi}\n    assert: [{type: python, value: 'file://../grader.py'}]")},
        r"tests\[0\]\.assert\[0\]: python assertion file '\.\./grader\.py' is outside"),
    "csv_python_expected_outside": ({"promptfooconfig.yaml": _config(tests="file://tests.csv"),
                                     "tests.csv": CSV_HEAD + "hi,python:file://../grader.py\n"},
                                    r"python assertion file '\.\./grader\.py' is outside"),
    "tests_file_var_outside": ({"promptfooconfig.yaml": _config(tests="file://tests.yaml"),
                                "tests.yaml": "- vars: {x: 'file:///etc/passwd'}\n"},
                               r"tests\.yaml: \[0\]\.vars\.x: var file '/etc/passwd' is outside"),
    "path_with_nul_byte": ({"promptfooconfig.yaml": _config(tests='\n  - vars: {x: "file://a\\0b.txt"}')},
                           r"tests\[0\]\.vars\.x: var file 'a\\x00b\.txt' cannot be read"),
    "symlink_loop": ({"promptfooconfig.yaml": _config(prompts="[file://loop.txt]"), "loop.txt": Symlink("loop.txt")},
                     r"prompts\[0\]: prompt file 'loop\.txt' cannot be read"),
    "path_name_too_long": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: file://" + "a" * 300 + ".txt}")},
                           r"tests\[0\]\.vars\.x: var file 'a+' cannot be read"),
    # 5. files that are not UTF-8
    "config_not_utf8": ({"promptfooconfig.yaml": PLAIN.encode("utf-16")}, r"promptfooconfig\.yaml: not UTF-8"),
    "prompt_file_not_utf8": ({"promptfooconfig.yaml": _config(prompts="[file://p.txt]"), "p.txt": b"Say \xff{{ x }}"},
                             r"p\.txt: not UTF-8 \(byte 4\)"),
    "csv_not_utf8": ({"promptfooconfig.yaml": _config(tests="file://t.csv"), "t.csv": CSV_HEAD.encode() + b"\xe9t\xe9,hi\n"},
                     r"t\.csv: not UTF-8"),
    "var_file_not_utf8": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: file://v.txt}"), "v.txt": b"\x80"},
                          r"v\.txt: not UTF-8"),
    "tests_yaml_not_utf8": ({"promptfooconfig.yaml": _config(tests="file://t.yaml"), "t.yaml": b"- vars: {x: \xff}\n"},
                            r"t\.yaml: not UTF-8"),
    "jsonl_not_utf8": ({"promptfooconfig.yaml": _config(tests="file://t.jsonl"), "t.jsonl": b'{"vars": {"x": "\xff"}}\n'},
                       r"t\.jsonl: not UTF-8"),
    # 5. wrong shapes
    "csv_threshold_abc": ({"promptfooconfig.yaml": _config(tests="file://t.csv"), "t.csv": "x,__threshold\nhi,abc\n"},
                          r"t\.csv: row 2, __threshold: 'abc' is not a number"),
    "csv_threshold_nan": ({"promptfooconfig.yaml": _config(tests="file://t.csv"), "t.csv": "x,__threshold\nhi,nan\n"},
                          r"t\.csv: row 2, __threshold: 'nan' is not a number"),
    "vars_as_list": ({"promptfooconfig.yaml": _config(tests="\n  - vars: [a, b]")}, r"tests\[0\]\.vars: must be a mapping"),
    "default_vars_as_list": ({"promptfooconfig.yaml": PLAIN + "defaultTest: {vars: [a]}\n"},
                             r"defaultTest\.vars: must be a mapping, got a list"),
    "provider_config_as_list": ({"promptfooconfig.yaml": _config(providers="[{id: openai:gpt-4.1-mini, config: [1, 2]}]")},
                                r"providers\[0\]\.config: must be a mapping"),
    "provider_body_config_as_list": ({"promptfooconfig.yaml": _config(providers="[{openai:gpt-4.1-mini: {config: [1]}}]")},
                                     r"providers\[0\]\.openai:gpt-4\.1-mini\.config: must be a mapping"),
    "provider_label_as_list": ({"promptfooconfig.yaml": _config(providers="[{id: openai:gpt-4.1-mini, label: [1]}]")},
                               r"providers\[0\]\.label: must be text"),
    "prompt_label_as_mapping": ({"promptfooconfig.yaml": _config(prompts="[{raw: hi, label: {a: 1}}]")},
                                r"prompts\[0\]\.label: must be text"),
    "options_as_list": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    options: [1]")},
                        r"tests\[0\]\.options: must be a mapping"),
    "metadata_as_text": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    metadata: hello")},
                         r"tests\[0\]\.metadata: must be a mapping, got text"),
    "assert_as_mapping": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    assert: {type: equals}")},
                          r"tests\[0\]\.assert: must be a list, got a mapping"),
    "default_assert_as_text": ({"promptfooconfig.yaml": PLAIN + "defaultTest: {assert: equals}\n"},
                               r"defaultTest\.assert: must be a list, got text"),
    "description_as_mapping": ({"promptfooconfig.yaml": PLAIN + "description: {a: 1}\n"}, r"description: must be text"),
    "config_is_a_list": ({"promptfooconfig.yaml": "- a\n- b\n"}, r"a promptfoo config must be a mapping"),
    "config_is_empty": ({"promptfooconfig.yaml": ""}, r"a promptfoo config must be a mapping"),
    "tests_is_a_number": ({"promptfooconfig.yaml": _config(tests="5")}, r"tests: must be a list of tests"),
    "test_is_a_number": ({"promptfooconfig.yaml": _config(tests="[5]")}, r"tests\[0\]: a test must be a mapping"),
    "test_is_plain_text": ({"promptfooconfig.yaml": _config(tests="[hello]")}, r"neither a test nor a file:// reference"),
    "prompts_missing": ({"promptfooconfig.yaml": _config(prompts=None)}, r"prompts: missing"),
    "prompts_a_number": ({"promptfooconfig.yaml": _config(prompts="5")}, r"prompts: must be a list"),
    "prompt_a_number": ({"promptfooconfig.yaml": _config(prompts="[5]")}, r"prompts\[0\]: a prompt must be text"),
    "default_test_a_list": ({"promptfooconfig.yaml": PLAIN + "defaultTest: [a]\n"}, r"defaultTest: must be a mapping"),
    "default_test_file_missing": ({"promptfooconfig.yaml": PLAIN + "defaultTest: file://nope.yaml\n"},
                                  r"nope\.yaml: file not found"),
    "prompt_file_missing": ({"promptfooconfig.yaml": _config(prompts="[file://nope.txt]")}, r"prompt file nope\.txt not found"),
    "tests_file_missing": ({"promptfooconfig.yaml": _config(tests="file://nope.csv")}, r"nope\.csv: file not found"),
    "tests_file_a_folder": ({"promptfooconfig.yaml": _config(tests="file://sub"), "sub/x.txt": "x"}, r"sub: file not found"),
    "tests_file_not_tests": ({"promptfooconfig.yaml": _config(tests="file://t.yaml"), "t.yaml": "hello\n"},
                             r"t\.yaml: must be a list of tests"),
    "jsonl_line_a_list": ({"promptfooconfig.yaml": _config(tests="file://t.jsonl"), "t.jsonl": "[1]\n"},
                          r"t\.jsonl: must be a list of tests"),
    "invalid_yaml": ({"promptfooconfig.yaml": "prompts: [\n"}, r"promptfooconfig\.yaml:2:1: invalid YAML"),
    "invalid_json_tests": ({"promptfooconfig.yaml": _config(tests="file://t.json"), "t.json": "{"},
                           r"t\.json:1:2: invalid JSON"),
    "invalid_jsonl_line": ({"promptfooconfig.yaml": _config(tests="file://t.jsonl"), "t.jsonl": '{"vars": {}}\n{oops\n'},
                           r"t\.jsonl:2: invalid JSON"),
    "csv_field_over_128k": ({"promptfooconfig.yaml": _config(tests="file://t.csv"),
                             "t.csv": CSV_HEAD + '"' + "a" * 200_000 + '",hi\n'}, r"t\.csv: line \d+: not valid CSV"),
    "binary_value": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: !!binary aGVsbG8=}")},
                     r"holds binary data"),
    "python_object_tag": ({"promptfooconfig.yaml": PLAIN + "x: !!python/object/apply:os.system [touch PWNED]\n"},
                          r"invalid YAML"),
    # 2. resource bounds
    "yaml_alias_bomb": ({"promptfooconfig.yaml": PLAIN + _bomb(9)}, r"its aliases \(\*name\) expand to over 100,000"),
    "recursive_alias": ({"promptfooconfig.yaml": PLAIN + "loop: &a [*a]\n"}, r"its aliases \(\*name\) expand"),
    "deep_nesting_past_the_parser": ({"promptfooconfig.yaml": PLAIN + "x: " + _nested(5000) + "\n"},
                                     r"nested more than 200 levels deep in \[ \] or \{ \}"),
    "deep_nesting_json": ({"promptfooconfig.yaml": _config(tests="file://t.json"), "t.json": _nested(100_000)},
                          r"t\.json: nested too deeply"),
    "nesting_past_100_levels": ({"promptfooconfig.yaml": _config(tests="\n  - vars: {x: " + _nested(150) + "}")},
                                r"nested more than 100 levels deep"),
    "ref_bomb": ({"promptfooconfig.yaml": PLAIN + _ref_bomb(7)}, r"its \$refs expand to over 100,000 values"),
    "ref_cycle": ({"promptfooconfig.yaml": PLAIN + "a: {$ref: '#/a'}\n"}, r"nested more than 100 levels deep \(a \$ref cycle\?\)"),
    "ref_to_nothing": ({"promptfooconfig.yaml": PLAIN + "a: {$ref: '#/nope'}\n"}, r"a: \$ref '#/nope' points at nothing"),
    "var_product": ({"promptfooconfig.yaml": _config(
        tests="\n  - vars: {" + ", ".join(f"v{i}: [{', '.join(map(str, range(10)))}]" for i in range(8)) + "}")},
        r"tests\[0\]\.vars: its list-valued vars \(v0, .*v7\) make 10 x .* = 100,000,000 combinations, over the 10,000"),
    "yaml_over_5mb": ({"promptfooconfig.yaml": PLAIN + "pad: '" + "a" * (5 * 1024 * 1024) + "'\n"},
                      r"over the 5,242,880-byte limit"),
    # issue 26's new readers (test globs, vars files and globs, provider files, response_format
    # files) keep the same bounds: every path inside the folder, globs capped, files bounded
    "tests_glob_parent": ({"promptfooconfig.yaml": _config(tests="file://../*.txt")},
                          r"tests: tests glob '\.\./\*\.txt' in folder '\.\.' is outside"),
    "tests_glob_absolute": ({"promptfooconfig.yaml": _config(tests="file:///etc/pass*")},
                            r"tests: tests glob '/etc/pass\*' in folder '/etc' is outside"),
    "tests_glob_symlinked_file_outside": ({"promptfooconfig.yaml": _config(tests="file://tests/*.yaml"),
                                           "tests/a.yaml": Symlink("../../t.yaml"), "../t.yaml": "- vars: {x: hi}\n"},
                                          r"tests: tests file 'tests/a\.yaml' is outside"),
    "tests_glob_symlinked_folder_outside": ({"promptfooconfig.yaml": _config(tests="file://data/**/*.txt"),
                                             "data": Symlink("..")}, r"tests glob 'data/\*\*/\*\.txt' in folder 'data' is outside"),
    "tests_glob_symlink_loop_not_followed": ({"promptfooconfig.yaml": _config(tests="file://tests/**/*.yaml"),
                                              "tests/loop": Symlink("."), "tests/x.txt": "x"},
                                             r"tests: tests glob 'tests/\*\*/\*\.yaml' names no file"),
    "tests_glob_over_1000_files": ({"promptfooconfig.yaml": _config(tests="file://many/*.yaml"),
                                    **{f"many/{i:04d}.yaml": "- vars: {x: hi}\n" for i in range(1001)}},
                                   r"tests glob 'many/\*\.yaml' names over 1,000 files; fix: narrow the glob"),
    "tests_glob_backtracking_pattern": ({"promptfooconfig.yaml": _config(tests="file://tests/" + "*a" * 40 + "b"),
                                         "tests/" + "a" * 200: "x"}, r"names no file"),
    "vars_file_parent": ({"promptfooconfig.yaml": _config(tests="\n  - vars: ../secret.txt")},
                         r"tests\[0\]\.vars: vars file '\.\./secret\.txt' is outside"),
    "vars_glob_parent": ({"promptfooconfig.yaml": _config(tests="\n  - vars: [../*.txt]")},
                         r"tests\[0\]\.vars: vars glob '\.\./\*\.txt' in folder '\.\.' is outside"),
    "vars_glob_in_a_tests_file_leaving_the_folder": (
        {"promptfooconfig.yaml": _config(tests="file://tests/t.yaml"), "tests/t.yaml": "- vars: ../../*.txt\n"},
        r"tests/t\.yaml: \[0\]\.vars: vars glob '\.\./\*\.txt' in folder '\.\.' is outside"),
    "vars_file_alias_bomb": ({"promptfooconfig.yaml": _config(tests="\n  - vars: v.yaml"), "v.yaml": _bomb(9)},
                             r"v\.yaml: .*its aliases \(\*name\) expand to over 100,000"),
    "vars_file_a_list": ({"promptfooconfig.yaml": _config(tests="\n  - vars: v.yaml"), "v.yaml": "[1, 2]\n"},
                         r"v\.yaml: a vars file must be a mapping \(name: value\), got a list"),
    "vars_over_100_paths": ({"promptfooconfig.yaml": _config(tests="\n  - vars: [" + ", ".join(["v.yaml"] * 101) + "]"),
                             "v.yaml": "x: hi\n"}, r"tests\[0\]\.vars: names 101 vars files, over the 100 limit"),
    "provider_file_parent": ({"promptfooconfig.yaml": _config(providers="[file://../p.yaml]"),
                              "../p.yaml": "- openai:gpt-4.1-mini\n"},
                             r"providers\[0\]: provider file '\.\./p\.yaml' is outside"),
    "provider_file_alias_bomb": ({"promptfooconfig.yaml": _config(providers="[file://p.yaml]"), "p.yaml": _bomb(9)},
                                 r"p\.yaml: .*its aliases \(\*name\) expand to over 100,000"),
    "provider_file_nested_too_deep": ({"promptfooconfig.yaml": _config(providers="[file://p.json]"),
                                       "p.json": _nested(150)}, r"p\.json: nested more than 100 levels deep"),
    "provider_files_over_1000_providers": ({"promptfooconfig.yaml": _config(providers="[" + ", ".join(["file://p.yaml"] * 30) + "]"),
                                            "p.yaml": "".join(f"- openai:m{i}\n" for i in range(50))},
                                           r"providers\[20\]: the suite names over 1,000 providers"),
    "tests_files_over_a_million_tests": ({"promptfooconfig.yaml": _config(tests="[" + ", ".join(["file://t.json"] * 150) + "]"),
                                          "t.json": "[" + ", ".join(["{}"] * 7000) + "]"},
                                         r"tests\[142\]: the suite names over 1,000,000 tests"),
    "response_format_file_parent": (
        {"promptfooconfig.yaml": _config(providers="[{id: openai:gpt-4.1-mini, config: {response_format: file://../f.json}}]"),
         "../f.json": "{}"},
        r"providers\[0\]\.config\.response_format: response_format file '\.\./f\.json' is outside"),
    "response_format_in_a_provider_file_leaving_the_folder": (
        {"promptfooconfig.yaml": _config(providers="[file://p.yaml]"),
         "p.yaml": "- {id: openai:gpt-4.1-mini, config: {response_format: file://../f.json}}\n", "../f.json": "{}"},
        r"p\.yaml: providers\[0\] \(p\.yaml\[0\]\)\.config\.response_format: response_format file '\.\./f\.json' is outside"),
}


def _write(folder: Path, files: dict[str, object]) -> Path:
    suite = folder / "suite"
    suite.mkdir()
    for name, content in files.items():
        path = suite / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Symlink):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for name in ("secret.txt", "grader.py"):
        (folder / name).write_text(SECRET)
    return suite / "promptfooconfig.yaml"


@pytest.mark.parametrize("name", list(ERRORS))
def test_hostile_suite_is_one_located_error_in_process(name, tmp_path):
    files, message = ERRORS[name]
    config = _write(tmp_path, files)
    started = time.process_time()
    with pytest.raises(TierwiseError) as error:
        import_promptfoo(config, tmp_path / "out")
    assert time.process_time() - started < 10  # CPU time: a loaded machine does not fail it
    text = str(error.value)
    assert "\n" not in text and text.split(":")[0].strip(), text
    assert any(text.startswith(f) for f in [n.lstrip("./") for n in files] + ["promptfooconfig.yaml", "sub", "nope"]), text
    assert __import__("re").search(message, text), text
    assert not (tmp_path / "out").exists() and SECRET not in text


@pytest.mark.parametrize("name", list(ERRORS))
def test_hostile_suite_through_the_cli_exits_2_with_one_line(name, tmp_path, monkeypatch, capsys):
    files, _ = ERRORS[name]
    config = _write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["tierwise", "import", "promptfoo", str(config), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", ["var_parent_path", "config_not_utf8", "csv_threshold_abc", "provider_config_as_list",
                                  "recursive_alias", "var_product"])
def test_hostile_suite_in_a_real_process_exits_2_with_one_line(name, tmp_path):
    config = _write(tmp_path, ERRORS[name][0])
    done = subprocess.run([sys.executable, "-m", "harness.cli", "import", "promptfoo", str(config), "--out",
                           str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


# ---- hostile input that imports, correctly ---------------------------------------------------------

# name -> (files, (file, place fragment, why fragment) that the report must list)
LISTED: dict[str, tuple[dict[str, object], tuple[str, str, str]]] = {
    "assertion_template_nested_loops": (
        {"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    assert: [{type: equals, value: hi}, {type: contains, "
                                         "value: '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                                         "{% endfor %}'}]")},
        ("promptfooconfig.yaml", "tests[0].assert[1]", "more than 100,000 loop iterations")),
    "assertion_template_replace_bomb": (
        {"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    assert: [{type: equals, value: hi}, {type: contains, "
                                         "value: \"{{ ('a' * 999999)|replace('a', 'aaaaaaa') }}\"}]")},
        ("promptfooconfig.yaml", "tests[0].assert[1]", "over 4,000,000 characters")),
    "assertion_template_division_by_zero": (
        {"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    assert: [{type: equals, value: hi}, "
                                         "{type: contains, value: '{{ 1 / 0 }}'}]")},
        ("promptfooconfig.yaml", "tests[0].assert[1]", "ZeroDivisionError")),
    "similar_threshold_text": (
        {"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    assert: [{type: equals, value: hi}, "
                                         "{type: similar, value: hi, threshold: abc}]")},
        ("promptfooconfig.yaml", "tests[0].assert[1]", "threshold 'abc' is not a number")),
    "contains_any_unclosed_quote": (
        {"promptfooconfig.yaml": _config(tests="\n  - vars: {x: hi}\n    assert: [{type: equals, value: hi}, "
                                         "{type: contains-any, value: '\"hello, world'}]")},
        ("promptfooconfig.yaml", "tests[0].assert[1]", "unclosed quote")),
    "provider_body_a_list": (
        {"promptfooconfig.yaml": _config(providers="[openai:gpt-4.1-mini, {x: [1]}]")},
        ("promptfooconfig.yaml", "providers[1]", "not a provider id")),
    "var_file_outside_with_allow_outside": (
        {"promptfooconfig.yaml": _config(tests="\n  - vars: {x: file://../secret.txt}\n    assert: [{type: equals, value: hi}]")},
        ("promptfooconfig.yaml", "tests[0].vars.x", "because of --allow-outside")),
    "vars_glob_outside_with_allow_outside": (
        {"promptfooconfig.yaml": _config(tests="\n  - vars: ../*.yaml\n    assert: [{type: equals, value: hi}]"),
         "../v.yaml": "x: hi\n"},
        ("promptfooconfig.yaml", "tests[0].vars", "because of --allow-outside")),
    "tests_glob_outside_with_allow_outside": (
        {"promptfooconfig.yaml": _config(tests="file://../t*.yaml"),
         "../t1.yaml": "- vars: {x: hi}\n  assert: [{type: equals, value: hi}]\n"},
        ("promptfooconfig.yaml", "tests", "because of --allow-outside")),
    "provider_file_outside_with_allow_outside": (
        {"promptfooconfig.yaml": _config(providers="[file://../p.yaml]"), "../p.yaml": "- openai:gpt-4.1-mini\n"},
        ("promptfooconfig.yaml", "providers[0]", "because of --allow-outside")),
}


@pytest.mark.parametrize("name", list(LISTED))
def test_hostile_suite_that_imports_lists_what_it_did_not_carry(name, tmp_path):
    files, (file, place, why) = LISTED[name]
    config = _write(tmp_path, files)
    started = time.process_time()
    report = import_promptfoo(config, tmp_path / "out", allow_outside="allow_outside" in name)
    assert time.process_time() - started < 10  # CPU time: a loaded machine does not fail it
    assert any(d.file == file and place in d.place and why in d.why for d in report.not_carried), report.not_carried
    assert len(report.tasks) == 1 and "everything was carried over" not in str(report)


def test_allow_outside_reads_the_file_and_says_so(tmp_path):
    config = _write(tmp_path, LISTED["var_file_outside_with_allow_outside"][0])
    import_promptfoo(config, tmp_path / "out", allow_outside=True)
    assert SECRET in (tmp_path / "out" / "golden_sets" / "suite.jsonl").read_text()


def test_a_file_inside_through_a_symlink_inside_is_read(tmp_path):
    config = _write(tmp_path, {"promptfooconfig.yaml": _config(prompts="[file://link.txt]"),
                               "prompts/p.txt": "Say {{ x }}", "link.txt": Symlink("prompts/p.txt")})
    report = import_promptfoo(config, tmp_path / "out")
    assert report.tasks and not report.not_carried


def test_assertion_templates_share_one_budget_across_the_import(tmp_path, monkeypatch):
    from harness.importers import _promptfoo_asserts

    monkeypatch.setattr(_promptfoo_asserts, "MAX_IMPORT_TEMPLATE_STEPS", 250_000)
    loop = "{% for i in range(60000) %}{% endfor %}{{ x }}"
    tests = "".join(f"\n  - vars: {{x: v{i}}}\n    assert: [{{type: contains, value: '{loop}'}}]" for i in range(10))
    config = _write(tmp_path, {"promptfooconfig.yaml": _config(tests=tests)})
    with pytest.raises(TierwiseError, match=r"promptfooconfig\.yaml: tests\[4\]\.assert\[0\]: the suite's assertion "
                                            r"templates went past the import's budget .*250,000"):
        import_promptfoo(config, tmp_path / "out")


def test_the_same_assertion_template_is_compiled_once(tmp_path):
    from harness.importers._promptfoo_asserts import Renderer

    renderer = Renderer()
    assert [renderer.render("{{ x }}!", {"x": i}) for i in range(3)] == ["0!", "1!", "2!"]
    assert len(renderer.templates) == 1


# ---- the bounds of issue 26's globs and files ------------------------------------------------------


def test_a_glob_looks_at_a_bounded_number_of_entries(tmp_path, monkeypatch):
    from harness.importers import _promptfoo_files

    monkeypatch.setattr(_promptfoo_files, "MAX_GLOB_ENTRIES", 50)
    config = _write(tmp_path, {"promptfooconfig.yaml": _config(tests="file://many/*.yaml"),
                               **{f"many/{i}.txt": "x" for i in range(60)}})
    with pytest.raises(TierwiseError, match=r"^promptfooconfig\.yaml: tests: tests glob 'many/\*\.yaml' looks at over "
                                            r"50 files and folders; fix: narrow the glob$"):
        import_promptfoo(config, tmp_path / "out")


def test_the_files_of_one_import_add_up_to_a_bounded_size(tmp_path, monkeypatch):
    from harness.importers import _promptfoo_files

    monkeypatch.setattr(_promptfoo_files, "MAX_TOTAL_BYTES", 2_000)
    big = "- vars: {x: hi}\n  assert: [{type: equals, value: hi}]\n" * 15  # about 800 bytes a file
    config = _write(tmp_path, {"promptfooconfig.yaml": _config(tests="file://t/*.yaml"),
                               **{f"t/{i}.yaml": big for i in range(3)}})
    with pytest.raises(TierwiseError, match=r"^t/2\.yaml: the suite's files add up to over 2,000 bytes"):
        import_promptfoo(config, tmp_path / "out")


def test_a_glob_spans_folders_with_double_star_in_name_order_without_dotfiles(tmp_path):
    test = "- vars: {{x: {}}}\n  assert: [{{type: equals, value: hi}}]\n"
    config = _write(tmp_path, {"promptfooconfig.yaml": _config(tests="file://t/**/*.yaml"),
                               "t/b.yaml": test.format("b"), "t/a.yaml": test.format("a"),
                               "t/sub/c.yaml": test.format("c"), "t/.hidden.yaml": test.format("h"),
                               "t/.git/d.yaml": test.format("d"), "t/e.txt": "not a test"})
    report = import_promptfoo(config, tmp_path / "out")
    lines = (tmp_path / "out" / "golden_sets" / f"{report.tasks[0]}.jsonl").read_text().splitlines()
    assert [__import__("json").loads(line)["vars"]["x"] for line in lines] == ["a", "b", "c"]


def test_a_vars_glob_named_by_every_test_is_walked_and_read_once(tmp_path, monkeypatch):
    import json
    import os

    from harness.importers import _promptfoo_files

    walks, scandir = [], os.scandir
    monkeypatch.setattr(_promptfoo_files.os, "scandir", lambda path: walks.append(path) or scandir(path))
    tests = [{"vars": "../vars/*.yaml", "assert": [{"type": "equals", "value": "hi"}]}] * 2000
    config = _write(tmp_path, {"promptfooconfig.yaml": _config(tests="file://t/tests.json"),
                               "t/tests.json": json.dumps(tests), "vars/a.yaml": "x: hi\n"})
    assert import_promptfoo(config, tmp_path / "out").cases == 2000
    assert len([p for p in walks if str(p).startswith(str(tmp_path))]) == 1
