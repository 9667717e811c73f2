"""registry.yaml: round-trip writes that keep comments and other entries, atomically."""

from __future__ import annotations

import os

import pytest

from harness.registry import (
    read_registry,
    update_registry,
)


REGISTRY = """\
# Our model registry. Owned by the platform team.
tasks:
  other_task:   # hand-maintained, not evaluated here
    model: openai/gpt-4.1
    max_tokens: 100
  t:
    model: openai/old-model   # old choice
    temperature: 0.2
"""


def test_registry_write_keeps_comments_and_other_entries(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY)
    assert update_registry(path, {"t": {"model": "openai/new", "fallbacks": ["anthropic/x"], "max_tokens": 8,
                                         "temperature": 0}})
    text = path.read_text()
    assert "# Our model registry. Owned by the platform team." in text
    assert "# hand-maintained, not evaluated here" in text
    assert text.index("other_task") < text.index("  t:")
    assert read_registry(path)["t"] == {"model": "openai/new", "temperature": 0, "fallbacks": ["anthropic/x"],
                                        "max_tokens": 8}
    assert read_registry(path)["other_task"]["model"] == "openai/gpt-4.1"


def test_registry_write_is_idempotent(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY)
    entry = {"model": "openai/new", "fallbacks": [], "max_tokens": 8, "temperature": 0}
    assert update_registry(path, {"t": entry})
    first = path.read_text()
    assert not update_registry(path, {"t": entry})
    assert path.read_text() == first


def test_registry_write_failure_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        update_registry(path, {"t": {"model": "openai/new"}})
    assert path.read_text() == REGISTRY
    assert [p.name for p in tmp_path.iterdir()] == ["registry.yaml"]  # no temp file left behind
