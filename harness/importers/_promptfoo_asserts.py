"""promptfoo assertions -> Tierwise grader configs (one assertion at a time).

A mapped assertion is a grader config *template* plus the per-case part of it (the value),
so the importer can tell "the same check with another value" (one grader, the value in each
case's expected) from "another check" (another grader).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._promptfoo_read import Dropped

NO_VALUE = object()

# promptfoo's CSV `__expected` mini-language: `[not-]type[(threshold)][:value]`.
_TYPES = ("equals|contains-any|contains-all|icontains-any|icontains-all|contains-json|is-json|regex|icontains|"
          "contains|starts-with|levenshtein|similar|rouge-n|webhook|cost|latency|is-sql|is-xml|contains-xml|"
          "contains-sql|is-html|contains-html|perplexity|perplexity-score|answer-relevance|context-recall|"
          "context-relevance|context-faithfulness|factuality|model-graded-factuality|model-graded-closedqa|"
          "classifier|bleu|meteor|moderation|finish-reason|is-refusal|g-eval|javascript|python|llm-rubric")
_FROM_STRING = re.compile(rf"^(not-)?({_TYPES})(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$")
_LIST_TYPES = {"contains-any", "contains-all", "icontains-any", "icontains-all"}


def assertion_from_string(text: str) -> dict[str, Any]:
    """An `__expected` cell as an assertion: `icontains:bonjour`, `similar(0.9):Ahoy`, else equals."""
    for prefix, kind in (("javascript:", "javascript"), ("fn:", "javascript"), ("eval:", "javascript"),
                         ("grade:", "llm-rubric"), ("llm-rubric:", "llm-rubric"), ("python:", "python")):
        if text.startswith(prefix):
            return {"type": kind, "value": text[len(prefix):].strip()}
    if text.startswith("file://") and text.endswith((".js", ".mjs", ".cjs", ".ts")):
        return {"type": "javascript", "value": text}
    if text.startswith("file://") and (text.endswith(".py") or ".py:" in text):
        return {"type": "python", "value": text}
    match = _FROM_STRING.match(text)
    if match is None:
        return {"type": "equals", "value": text}
    negate, kind, threshold, value = match.groups()
    out: dict[str, Any] = {"type": f"{negate or ''}{kind}"}
    if value is not None:
        out["value"] = split_values(value) if kind in _LIST_TYPES else value.strip()
    if threshold is not None:
        out["threshold"] = float(threshold)
    elif kind == "similar":
        out["threshold"] = 0.8  # promptfoo's default for `similar` written in a CSV cell
    return out


def split_values(text: str) -> list[str] | str:
    r"""promptfoo's comma-separated values (contains-any and friends): fields split at commas
    outside double quotes, unquoted ones trimmed, empty ones skipped; inside quotes `""`, `\"`
    and `\\` stand for `"` and `\`. `a, "hello, world"` is ['a', 'hello, world'].
    A malformed value (an unclosed quote, text after a closing quote) is returned unsplit,
    for map_assertion to refuse with the reason."""
    fields: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and (text[i] == "," or text[i].isspace()):
            i += 1
        if i >= n:
            break
        if text[i] != '"':
            end = text.find(",", i)
            end = n if end < 0 else end
            fields.append(text[i:end].strip())
            i = end
            continue
        i, field = i + 1, []
        while i < n and text[i] != '"' or text[i:i + 2] == '""':
            if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\' or text[i:i + 2] == '""':
                i += 1
            field.append(text[i])
            i += 1
        if i >= n:
            return text  # an unclosed quote
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] != ",":
            return text  # text after a closing quote
        fields.append("".join(field))
    return fields


@dataclass
class Mapped:
    """A grader template, the option its per-case value would go in (None: it reads expected),
    whether the grader can also read that value from expected, and the value for this test."""

    config: dict[str, Any]
    option: str | None
    via_expected: bool
    value: Any = NO_VALUE
    name: str = ""                      # a readable key for expected, e.g. "icontains"
    note: str | None = None             # an approximation worth telling the user
    judge: str | None = None            # promptfoo provider id of an llm-rubric's judge
    python_file: tuple[str, str] | None = None  # (file, function) of a python file assertion
    latency_ms: float | None = None


class NotCarried(Exception):
    """Raised with the reason an assertion cannot be carried over."""


_NOT_SUPPORTED = {
    "javascript": "JavaScript assertions cannot run in Tierwise; rewrite it as a python grader",
    "webhook": "webhook assertions are not supported",
    "rouge-n": "Tierwise has ROUGE-L (rouge_l), not ROUGE-N; choose it by hand if it fits",
}


def map_assertion(a: Any, variables: dict[str, Any], judge: Any, renderer: Renderer | None = None) -> Mapped:
    """Map one promptfoo assertion for one test (its vars render templated values)."""
    if not isinstance(a, dict) or not isinstance(a.get("type"), str):
        raise NotCarried(f"not an assertion mapping with a type: {a!r}")
    kind = a["type"]
    negate = kind.startswith("not-")
    base = kind[4:] if negate else kind
    for key in ("transform", "contextTransform"):
        if key in a:
            raise NotCarried(f"its {key} ({_short(a[key])}) runs JavaScript on the output first")
    if base in _NOT_SUPPORTED:
        raise NotCarried(_NOT_SUPPORTED[base])
    value = (renderer or Renderer()).render(a.get("value"), variables)
    threshold = a.get("threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
        raise NotCarried(f"threshold {_short(threshold)} is not a number")
    mapped = _map(base, value, threshold, a, judge)
    if negate:
        if mapped.latency_ms is not None:
            raise NotCarried("a negated latency limit has no meaning in Tierwise")
        mapped.config["not"] = True
    weight = a.get("weight")
    if weight is not None and weight != 1:
        if not isinstance(weight, (int, float)) or weight <= 0:
            raise NotCarried(f"weight {weight!r}: Tierwise weights are numbers > 0")
        mapped.config["weight"] = weight
    metric = a.get("metric")
    mapped.name = re.sub(r"\W+", "_", metric if isinstance(metric, str) and metric else kind).strip("_") or "check"
    return mapped


def _map(base: str, value: Any, threshold: Any, a: dict[str, Any], judge: Any) -> Mapped:
    if base == "equals":
        if isinstance(value, (dict, list)):
            raise NotCarried("equals with a JSON value: use a json grader with fields (compare loosely) by hand")
        return Mapped({"type": "exact", "normalize": []}, None, True, _text(value))
    if base in ("contains", "icontains"):
        norm = ["lower"] if base == "icontains" else []
        return Mapped({"type": "contains", "normalize": norm}, "value", True, _text(value))
    if base in _LIST_TYPES:
        values = split_values(value) if isinstance(value, str) else value
        if isinstance(values, str):
            raise NotCarried(f"{base}: {_short(value)} has an unclosed quote or text after a closing quote; "
                             'fix: quote values with commas as "hello, world"')
        if not isinstance(values, list) or not values:
            raise NotCarried(f"{base} needs a list of values, got {_short(value)}")
        norm = ["lower"] if base.startswith("i") else []
        name = "contains_any" if base.endswith("any") else "contains_all"
        return Mapped({"type": name, "normalize": norm}, "values", True, [_text(v).strip() for v in values])
    if base == "starts-with":
        return Mapped({"type": "regex"}, "pattern", False, "^" + re.escape(_text(value)))
    if base == "regex":
        return Mapped({"type": "regex"}, "pattern", False, _text(value))
    if base in ("is-json", "contains-json"):
        config: dict[str, Any] = {"type": "json"}
        if base == "is-json":
            config["mode"] = "whole"
        if value is None:
            return Mapped(config, None, False)
        if not isinstance(value, dict):
            raise NotCarried(f"its schema must be written inline as a mapping, got {_short(value)}")
        return Mapped(config, "schema", False, value)
    if base == "levenshtein":
        distance = 5 if threshold is None else threshold
        if not isinstance(distance, (int, float)) or distance < 0 or distance != int(distance):
            raise NotCarried(f"threshold {threshold!r} is not a whole number of edits")
        return Mapped({"type": "similarity", "normalize": [], "max_distance": int(distance)}, None, True, _text(value))
    if base == "similar":
        at = 0.75 if threshold is None else threshold
        return Mapped({"type": "similarity", "normalize": [], "pass_at": at}, None, True,
                      value if isinstance(value, list) else _text(value),
                      note="promptfoo's `similar` compares embeddings; Tierwise's similarity is edit similarity "
                           f"(1 - edit distance / length), passed at the same threshold {at:g}: check the threshold")
    if base == "python":
        if not isinstance(value, str) or not value.startswith("file://"):
            raise NotCarried("inline Python in YAML is not carried over; move it to a file with get_assert(output, "
                             "context) and reference it as file://grader.py")
        ref = value[len("file://"):]
        path, _, func = ref.partition(":")
        config = {"type": "python"}
        if threshold is not None:
            config["pass_at"] = threshold
        return Mapped(config, None, False, python_file=(path, func or "get_assert"))
    if base == "llm-rubric":
        config = {"type": "llm_judge"}
        provider = a.get("provider", judge)
        if threshold is not None:
            config["pass_at"] = threshold
        if not isinstance(value, str) or not value.strip():
            raise NotCarried("llm-rubric needs its rubric as text")
        return Mapped(config, "rubric", True, value, judge=_provider_id(provider))
    if base == "latency":
        if not isinstance(threshold, (int, float)) or threshold <= 0:
            raise NotCarried("latency needs a threshold in milliseconds")
        return Mapped({}, None, False, latency_ms=float(threshold),
                      note="promptfoo's latency checks each call; Tierwise limits the task's p95 latency "
                           "(max_p95_latency_ms), the strictest threshold of the suite")
    if base == "cost":
        raise NotCarried("a Tierwise spec has no per-call cost limit; Tierwise recommends the cheapest "
                         "model that qualifies, and `tierwise recommend` shows each model's cost per call")
    raise NotCarried(f"no Tierwise grader does what promptfoo's {base!r} does")


def _provider_id(provider: Any) -> str | None:
    if isinstance(provider, dict):
        provider = provider.get("id")
    return provider if isinstance(provider, str) else None


MAX_IMPORT_TEMPLATE_STEPS = 10_000_000  # loop iterations and calls of all of an import's assertion templates
MAX_IMPORT_TEMPLATE_SECONDS = 60.0      # their wall time together


class BudgetSpent(Exception):
    """The import's assertion templates together went past their shared budget."""


class Renderer:
    """Renders assertion values as promptfoo does (templates over the test's vars), in the
    prompts' sandbox: importing a suite runs none of its code. Each distinct template is
    compiled once; each render has the sandbox's own budget, and all renders inside `with`
    share MAX_IMPORT_TEMPLATE_STEPS / _SECONDS, so 300k tests with a costly template each
    cannot take hours."""

    def __init__(self) -> None:
        self.templates: dict[str, Any] = {}
        self.budget: Any = None

    def __enter__(self) -> Renderer:
        from ..project import shared_budget

        self._block = shared_budget(MAX_IMPORT_TEMPLATE_STEPS, MAX_IMPORT_TEMPLATE_SECONDS,
                                    "in all of the import's assertion templates")
        self.budget = self._block.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._block.__exit__(*exc)

    def render(self, value: Any, variables: dict[str, Any]) -> Any:
        if isinstance(value, list):
            return [self.render(v, variables) for v in value]
        if not (isinstance(value, str) and ("{{" in value or "{%" in value)):
            return value
        from ..project import prompt_env

        try:
            template = self.templates.get(value)
            if template is None:
                template = self.templates[value] = prompt_env().from_string(value)
            return template.render(**variables)
        except Exception as exc:  # noqa: BLE001 - a template may fail in any way on a test's vars
            if self.budget is not None and self.budget.spent:
                raise BudgetSpent(str(exc)) from None
            raise NotCarried(f"its value is a template that does not render here ({type(exc).__name__}: "
                             f"{str(exc)[:200]})") from None


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        raise NotCarried(f"needs a text value, got {_short(value)}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dropped_for(a: Any, file: str, place: str, why: str) -> Dropped:
    kind = a.get("type") if isinstance(a, dict) else None
    shown = f"{kind} assertion" if kind else "assertion"
    if isinstance(a, dict) and a.get("value") is not None and kind != "llm-rubric":
        shown += f" {_short(a['value'])}"
    return Dropped(file, place, shown, why)
