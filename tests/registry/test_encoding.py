"""Every file Tierwise reads: UTF-8 with or without a byte order mark; anything else is one
clear error naming the file, never a UnicodeDecodeError traceback."""

import json

import pytest

from harness import load_project
from harness.errors import RegistryError
from harness.registry import read_registry, update_registry
from tests.projfix import tierwise as _tierwise, cases, write_project

BOM = b"\xef\xbb\xbf"




def test_gate_on_a_latin1_registry_names_the_file(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    (tmp_path / "registry.yaml").write_bytes("tasks:\n  t:\n    model: caf\xe9\n".encode("latin-1"))
    code, _, err = _tierwise(monkeypatch, capsys, "gate", "--project", str(tmp_path))
    assert code == 2 and err.startswith("error: registry.yaml: not UTF-8 (byte "), err
    assert "Traceback" not in err


def test_update_of_a_latin1_registry_is_a_registry_error(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_bytes(b"tasks:\n  t:\n    model: caf\xe9\n")
    with pytest.raises(RegistryError, match="registry.yaml: not UTF-8"):
        update_registry(path, {"t": {"model": "x"}})


def test_gate_on_latin1_evidence_names_the_file(tmp_path, monkeypatch, capsys):
    write_project(tmp_path)
    (tmp_path / "registry.yaml").write_text("tasks:\n  t:\n    model: python:rules:echo\n")
    (tmp_path / "registry.evidence.json").write_bytes(b'{"version": 1, "tasks": {"t": "caf\xe9"}}')
    code, out, err = _tierwise(monkeypatch, capsys, "gate", "--project", str(tmp_path))
    assert "Traceback" not in err
    assert code in (1, 2) and "registry.evidence.json: not UTF-8" in out + err


def test_registry_with_a_bom_is_read_and_rewritten(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_bytes(BOM + b"tasks:\n  t:\n    model: openai/a\n")
    assert read_registry(path) == {"t": {"model": "openai/a"}}
    assert update_registry(path, {"t": {"model": "openai/b"}})
    assert read_registry(path) == {"t": {"model": "openai/b"}}


def test_golden_set_and_spec_with_a_bom_load(tmp_path):
    write_project(tmp_path)
    golden = tmp_path / "golden_sets" / "t.jsonl"
    golden.write_bytes(BOM + "".join(json.dumps(c) + "\n" for c in cases(3)).encode())
    spec = tmp_path / "evals" / "t.yaml"
    spec.write_bytes(BOM + spec.read_bytes())
    config = tmp_path / "tierwise.yaml"
    config.write_bytes(BOM + config.read_bytes())
    project = load_project(tmp_path)
    assert [c.id for c in project.tasks["t"].golden.cases] == ["c000", "c001", "c002"]
