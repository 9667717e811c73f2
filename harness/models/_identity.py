"""What decides a catalog entry's answers, for call keys and evidence (harness/fingerprint.py
hashes it): its provider's to say (models/_provider.py). For the built-in ones: a LiteLLM model
string with every call option (api_base, reasoning_effort, …; never a key), a local model's
weights file (its size and sha256, not its name), a python: rule's source file."""

from __future__ import annotations

from typing import Any

from ._entry import ModelEntry
from ._provider import provider_for


def candidate_identity(entry: ModelEntry) -> dict[str, Any]:
    """What decides a catalog entry's answers (for call keys and evidence); never secrets."""
    identity = provider_for(entry.kind).identity(entry)
    if identity.get("kind") != entry.kind:
        raise ValueError(f"provider {entry.kind!r}: its identity must carry kind: {entry.kind!r}")
    return identity
