"""Store live shadow pairs for tests of the pairwise route (every path under tmp_path)."""

from __future__ import annotations

import json
import time
from typing import Any

from harness.store import Store


def store_pairs(url: str, pairs: list[tuple[dict[str, Any], str, str]], capture: bool = True, start_id: int = 0,
                target: str = "python:rules:big") -> None:
    """One shadow row per (input vars, incumbent's answer, challenger's answer), small against big on
    task `reply`, one second apart and ending now; the call's input in the usage ledger. Without
    `capture` neither the answers nor the input are stored, as the client without capture=True."""
    at = time.time() - len(pairs)
    rows, ledger = [], []
    for j, (values, incumbent, challenger) in enumerate(pairs):
        call = f"k{start_id + j}"
        row = {"at": at + j, "call_id": call, "task": "reply", "incumbent": "big", "challenger": "small",
               "outcome": "ok", "agree": False}
        if capture:
            row.update(output=challenger, incumbent_output=incumbent)
        rows.append(row)
        ledger.append({"at": at + j, "call_id": call, "task": "reply", "model": "big", "target": target,
                       "attempt": 1, "kind": "primary", "outcome": "ok", "final": True,
                       "input": json.dumps(values) if capture else None})
    with Store(url) as store:
        store.append_usage(ledger)
        store.write_shadow_calls(rows)
