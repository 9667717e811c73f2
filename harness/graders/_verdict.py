"""The judge's output contract: what a verdict looks like, how a model is held to it (a JSON
schema for API models, a llama.cpp grammar for local ones), and the strict parse of its answer.

A verdict is a JSON object with the judge's own reason first (so a model reasons before it
decides) and then its decision:

    pass/fail scale:  {"reason": "...", "verdict": "pass"}      (or "fail")
    1..N scale:       {"reason": "...", "score": 4}             (an integer 1..N)
    pairwise:         {"reason": "...", "winner": "A"}          (or "B", or "tie")

Anything else (other keys, a missing key, a key given twice, a value outside the set, prose
around the object) is unparseable: a recorded judge error, never a pass. A repeated key is refused
rather than resolved: `{"verdict": "fail", "verdict": "pass"}` has no single meaning, and Python's
json (last one wins) would read it as a pass.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_REASON_CHARS = 240
PASS_FAIL = "pass_fail"


class VerdictError(ValueError):
    """The judge's answer is not a verdict under the contract."""


@dataclass(frozen=True)
class Contract:
    """One kind of verdict: `key` is the decision's field; `values` its allowed values (strings),
    or None for an integer score in 1..scale."""

    key: str
    values: tuple[str, ...] | None
    scale: int | None = None

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema of a verdict (for providers' structured output)."""
        decision: dict[str, Any]
        if self.values is not None:
            decision = {"type": "string", "enum": list(self.values)}
        else:
            decision = {"type": "integer", "minimum": 1, "maximum": self.scale}
        return {"type": "object", "additionalProperties": False, "required": ["reason", self.key],
                "properties": {"reason": {"type": "string", "maxLength": MAX_REASON_CHARS}, self.key: decision}}

    @property
    def grammar(self) -> str:
        """A GBNF grammar whose sentences are exactly the verdicts (for llama.cpp): the reason is
        a JSON string of at most MAX_REASON_CHARS characters, so a verdict always fits."""
        if self.values is not None:
            decision = " | ".join(json.dumps(json.dumps(v)) for v in self.values)
        else:
            decision = " | ".join(json.dumps(str(i)) for i in range(self.scale or 0, 0, -1))
        return "\n".join([
            f'root ::= "{{" ws "\\"reason\\"" ws ":" ws reason ws "," ws "\\"{self.key}\\"" ws ":" ws decision ws "}}"',
            f"decision ::= {decision}",
            f'reason ::= "\\"" char{{1,{MAX_REASON_CHARS}}} "\\""',
            r'char ::= [^"\\\x00-\x1f] | "\\" ["\\/bfnrt]',
            "ws ::= [ \\n]{0,2}",
        ])

    @property
    def example(self) -> str:
        if self.values is not None:
            shown = " or ".join(f'"{v}"' for v in self.values)
        else:
            shown = f"an integer from 1 (worst) to {self.scale} (best)"
        return f'{{"reason": "<one or two sentences>", "{self.key}": {shown}}}'

    def parse(self, text: str | None) -> tuple[Any, str]:
        """(decision, reason) from the judge's answer; VerdictError when it breaks the contract.

        Strict: one JSON object, optionally inside a single ```json fence, with exactly the
        keys `reason` and the decision key, each given once."""
        if text is None or not text.strip():
            raise VerdictError("the judge answered nothing")
        body = text.strip()
        fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, flags=re.S)
        if fenced:
            body = fenced.group(1)
        try:
            obj = json.loads(body, object_pairs_hook=_no_repeated_keys)
        except json.JSONDecodeError as exc:
            raise VerdictError(f"not a JSON verdict ({exc.msg} at column {exc.colno}): {_short(text)}") from None
        if not isinstance(obj, dict) or set(obj) != {"reason", self.key}:
            keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise VerdictError(f"a verdict needs exactly the keys reason and {self.key}, got {keys}: {_short(text)}")
        reason, decision = obj["reason"], obj[self.key]
        if not isinstance(reason, str):
            raise VerdictError(f"reason must be text, got {_short(reason)}")
        if self.values is not None:
            if decision not in self.values:
                raise VerdictError(f"{self.key} must be one of {', '.join(self.values)}, got {_short(decision)}")
        elif isinstance(decision, bool) or not isinstance(decision, int) or not 1 <= decision <= (self.scale or 0):
            raise VerdictError(f"{self.key} must be an integer from 1 to {self.scale}, got {_short(decision)}")
        return decision, reason.strip()


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook: a key given twice is a broken verdict, not "the last one wins"."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise VerdictError(f"the key {key!r} is given twice (a verdict gives each key once)")
        obj[key] = value
    return obj


def rubric_contract(scale: str | int) -> Contract:
    if scale == PASS_FAIL:
        return Contract("verdict", ("pass", "fail"))
    return Contract("score", None, int(scale))


PAIRWISE = Contract("winner", ("A", "B", "tie"))


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
