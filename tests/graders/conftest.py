"""Fixtures for the grader tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.graders import _registry


@pytest.fixture
def custom_module(monkeypatch):
    """Make tests/custom_grader_fixture.py importable the way a project's own module is."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return "custom_grader_fixture"


@pytest.fixture
def scratch_registry(monkeypatch):
    """Register test graders without leaving them in the real registry."""
    monkeypatch.setattr(_registry, "_FACTORIES", dict(_registry._FACTORIES))
    monkeypatch.setattr(_registry, "_CANONICAL", dict(_registry._CANONICAL))
    monkeypatch.setattr(_registry, "_RECORDED_IF_SET", dict(_registry._RECORDED_IF_SET))
