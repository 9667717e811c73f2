"""Fixtures of the client's tests: a second fake API server beside tests/conftest.py's fake_openai."""

from __future__ import annotations

import pytest

from tests.fake_openai import FakeOpenAI


@pytest.fixture
def second_openai():
    """Another started FakeOpenAI server: a fallback, a cascade's dearer stage, a shadow challenger."""
    with FakeOpenAI() as server:
        yield server
