"""A task's output contract at run time (the client escalates on it, a cascade defers on it, audit
monitors it): the output must be one of the choices, or JSON valid
against the schema, and pass the application's own check if it gives one. A broken contract
escalates the call to the next model in the registry entry's chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ._specs import Task

# A custom check gets (output text, parsed value) and returns True/None when fine, or False or
# a reason string when the output must not be used.
Check = Callable[[str, Any], "bool | str | None"]


@dataclass(frozen=True)
class Verdict:
    parsed: Any
    reason: str | None  # None: the output keeps the contract; never quotes the output (it is stored)

    @property
    def answer_key(self) -> str:
        """The answer as a cascade's `agreement` compares samples: the label or text stripped, a
        JSON value in canonical form (the client at call time, decide/_cascade_data.py on replay)."""
        import json

        if isinstance(self.parsed, str):
            return self.parsed.strip()
        return json.dumps(self.parsed, sort_keys=True, ensure_ascii=False, default=str)


class Contract:
    """The checks one task's output must pass; built once per task."""

    def __init__(self, task: "Task", check: Check | None = None):
        out = task.spec.output
        self.choices = list(out.choices) if out is not None and out.choices else None
        self.validator = None
        if out is not None and out.json_schema is not None:
            import jsonschema

            cls = jsonschema.validators.validator_for(out.json_schema)
            self.validator = cls(out.json_schema, format_checker=cls.FORMAT_CHECKER)
        self.check = check

    def verdict(self, output: str, check: Check | None = None) -> Verdict:
        """The parsed output (the label for choices, the value for JSON, else the text) and why
        it breaks the contract, if it does."""
        from ..graders import extract_label, parse_json

        parsed: Any = output
        if self.choices is not None:
            label, why = extract_label(output, self.choices)
            if label is None:  # the reason is stored: it names no output text
                return Verdict(None, "names several choices" if why.startswith("ambiguous")
                               else "not one of the choices")
            parsed = label
        elif self.validator is not None:
            try:
                parsed = parse_json(output)
            except ValueError as exc:
                return Verdict(None, f"invalid JSON ({exc})")
            from jsonschema.exceptions import best_match

            error = best_match(self.validator.iter_errors(parsed))
            if error is not None:
                # the keyword, not jsonschema's message: that quotes the output's values
                return Verdict(None, f"schema violation at {error.json_path} ({error.validator})")
        for fn in (self.check, check):
            if fn is None:
                continue
            try:
                result = fn(output, parsed)
            except Exception as exc:  # noqa: BLE001 - a crashing check is a failed check, with its reason
                return Verdict(parsed, f"check raised {type(exc).__name__}: {str(exc)[:160]}")
            if result is False:
                return Verdict(parsed, f"check {getattr(fn, '__name__', 'check')} failed")
            if isinstance(result, str) and result:
                return Verdict(parsed, f"check {getattr(fn, '__name__', 'check')}: {result[:200]}")
        return Verdict(parsed, None)
