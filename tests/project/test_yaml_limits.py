"""YAML alias bombs and oversized documents are refused at once, with the file named."""

import sys
import time

import pytest

from harness.cli import main
from harness.errors import ConfigError, SpecError
from harness.project._yaml import MAX_YAML_BYTES, read_yaml
from tests.projfix import write_project


def _bomb(levels: int) -> str:
    """`levels` levels of nine aliases each: about 1 KB of YAML, 9**levels values."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _validate(monkeypatch, capsys, root):
    monkeypatch.setattr(sys, "argv", ["tierwise", "validate", "--project", str(root)])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


def test_nine_level_bomb_in_a_spec_is_refused_in_well_under_a_second(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    bomb = _bomb(9)
    assert len(bomb) < 1200
    text = (tmp_path / "evals" / "t.yaml").read_text()
    schema = "".join("    " + line + "\n" for line in bomb.splitlines())
    (tmp_path / "evals" / "t.yaml").write_text(text + "output:\n  json_schema:\n" + schema)
    read_yaml(tmp_path / "tierwise.yaml", "tierwise.yaml", ConfigError)  # imports warmed up
    started = time.perf_counter()
    with pytest.raises(SpecError, match="its aliases"):
        read_yaml(tmp_path / "evals" / "t.yaml", "evals/t.yaml", SpecError)
    assert time.perf_counter() - started < 0.5  # about 60 ms on an idle machine
    code, err = _validate(monkeypatch, capsys, tmp_path)
    assert code == 2 and err.startswith("error: evals/t.yaml: its aliases (*name) expand to over 100,000 values")


def test_bomb_in_a_catalog_entry_is_refused(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    bomb = "".join("  " + line + "\n" for line in _bomb(9).splitlines())
    with (tmp_path / "tierwise.yaml").open("a") as f:
        f.write("volumes_doc:\n" + bomb)
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="its aliases"):
        read_yaml(tmp_path / "tierwise.yaml", "tierwise.yaml", ConfigError)
    assert time.perf_counter() - started < 0.5
    code, err = _validate(monkeypatch, capsys, tmp_path)
    assert code == 2 and err.startswith("error: tierwise.yaml: its aliases")


def test_a_few_aliases_stay_allowed(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("price: &p {input_per_mtok: 1.0}\na: {price: *p}\nb: {price: *p}\n")
    assert read_yaml(path, "x.yaml", ConfigError)["b"] == {"price": {"input_per_mtok": 1.0}}


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: &a [1, *a]\n")
    with pytest.raises(SpecError, match="x.yaml: its aliases"):
        read_yaml(path, "x.yaml", SpecError)


def test_oversized_document_is_refused_before_parsing(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: '" + "x" * (MAX_YAML_BYTES + 1) + "'\n")
    with pytest.raises(SpecError, match=r"x.yaml: .* bytes is over the .*-byte limit"):
        read_yaml(path, "x.yaml", SpecError)


def test_block_nesting_deeper_than_the_parser_is_one_error_without_aliases(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("".join(" " * i + "a:\n" for i in range(1500)) + " " * 1500 + "1\n")
    with pytest.raises(ConfigError, match=r"^deep.yaml: nested too deeply; fix: flatten"):
        read_yaml(path, "deep.yaml", ConfigError)


def test_flow_nesting_is_refused_before_the_parser_spends_seconds_on_it(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("x: " + "[" * 5000 + "]" * 5000)
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^deep.yaml: nested more than 200 levels deep in \[ \] or \{ \}"):
        read_yaml(path, "deep.yaml", ConfigError)
    assert time.perf_counter() - started < 0.5
    path.write_text("x: " + "[" * 150 + "]" * 150 + "\ny: '" + "]" * 1000 + "'\n")
    assert read_yaml(path, "deep.yaml", ConfigError)["y"] == "]" * 1000
