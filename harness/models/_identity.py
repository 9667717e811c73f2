"""What decides a catalog entry's answers, for call keys and evidence (harness/fingerprint.py
hashes it): a LiteLLM model string with every call option (api_base, reasoning_effort, …; never a
key), a local model's weights file (its size and sha256, not its name), a python: rule's source
file."""

from __future__ import annotations

from typing import Any

from ..fingerprint import SECRET_OPTIONS, source_digest
from ._entry import ModelEntry
from ._local import weights_identity


def candidate_identity(entry: ModelEntry) -> dict[str, Any]:
    """What decides a catalog entry's answers (for call keys and evidence); never secrets."""
    if entry.kind == "litellm":
        options = {k: v for k, v in sorted(entry.call_options.items()) if k not in SECRET_OPTIONS}
        return {"kind": "litellm", "model": entry.litellm, "options": options}
    if entry.kind == "local":
        return {"kind": "local", "model": entry.local, "weights": weights_identity(entry.local or "")}
    return {"kind": "python", "function": entry.python, "source": source_digest(entry.python or "")}
