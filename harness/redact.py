"""Keep secrets out of the store, the report and logs."""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.I)
_KEY_SHAPE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|xai-[A-Za-z0-9]{10,})")


def redact(text: str) -> str:
    """Replace the values of secret-looking environment variables and key-shaped strings."""
    for name, value in os.environ.items():
        if value and len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, f"<{name}>")
    return _KEY_SHAPE.sub("<redacted-key>", text)
