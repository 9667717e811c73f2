"""What structured output a self-hosted OpenAI-compatible endpoint accepts, and the call
arguments each form takes.

LiteLLM's price map says whether a provider's model supports a JSON schema; it knows nothing
of a model served by vLLM, Ollama, llama.cpp or TGI at an `api_base`, so such an entry states
it in tierwise.yaml (`structured:`), or says `auto` and is probed once. The forms, as each
server documents them:

  json_schema         response_format {"type": "json_schema", …}: OpenAI, vLLM, Ollama ≥ 0.5
                      (/v1), llama.cpp's llama-server. Choices: unconstrained.
  json_object         response_format {"type": "json_object", "schema": …}: llama-cpp-python's
                      server (which rejects the json_schema type with HTTP 500). Choices: unconstrained.
  grammar             llama.cpp: a GBNF `grammar` for choices, json_object with the schema for schemas.
  guided              vLLM before 0.12: `guided_choice` / `guided_json` in the request body.
  structured_outputs  vLLM 0.12 and later: `structured_outputs: {choice | json}`.
  tgi                 Text Generation Inference: response_format {"type": "regex" | "json", "value": …}.
  none                nothing is sent; the output is parsed (and graded) as it comes.
  auto                probed once per (model, api_base): the first form the endpoint honours,
                      cached in .tierwise/structured.json.

A self-hosted entry that says nothing gets `none`, and validate/run say so once when a task
with choices or a schema reaches it (with the line that fixes it). A provider API (no
api_base) keeps asking LiteLLM's price map, as before.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._entry import ModelEntry
    from ._catalog import Candidate

# mode: (the form a JSON schema is sent in, the form a label set is sent in); None: not sent.
MODES: dict[str, tuple[str | None, str | None]] = {
    "json_schema": ("json_schema", None),
    "json_object": ("json_object", None),
    "grammar": ("json_object", "grammar"),
    "guided": ("guided_json", "guided_choice"),
    "structured_outputs": ("structured_outputs", "structured_outputs"),
    "tgi": ("tgi", "tgi"),
    "none": (None, None),
}
STATED = tuple(MODES) + ("auto",)
# LiteLLM providers that are a server of one's own by nature, with or without api_base.
SELF_HOSTED = frozenset({"hosted_vllm", "vllm", "ollama", "ollama_chat", "llamafile", "lm_studio", "openai_like"})
CACHE_FILE = ".tierwise/structured.json"
# What `auto` tries, in order: label-set forms first (each comes with its server's schema form).
PROBE_ORDER = ("guided", "structured_outputs", "grammar", "tgi", "json_schema", "json_object")
_PROBE_CHOICES = ["tierwise-probe-a", "tierwise-probe-b"]
_PROBE_SCHEMA = {"type": "object", "properties": {"tierwise_probe": {"type": "boolean"}},
                 "required": ["tierwise_probe"]}
FIX = ("set structured: in its tierwise.yaml entry (json_schema | json_object | grammar | guided | "
       "structured_outputs | tgi | auto | none; docs/formats.md)")


def self_hosted(entry: "ModelEntry") -> bool:
    """A model served by the user (api_base set, or a self-hosting LiteLLM provider)."""
    provider = (entry.ref or "").split("/", 1)[0]
    return bool(entry.call_options.get("api_base")) or provider in SELF_HOSTED


def stated_mode(entry: "ModelEntry", root: Path | None) -> str | None:
    """The mode an entry's calls use: its `structured:` (an `auto` resolved from the probe
    cache, or left "auto" when not probed yet); "none" for a self-hosted entry that says
    nothing; None for a provider API (LiteLLM's price map decides)."""
    mode = entry.structured
    if mode == "auto":
        return cached_probe(entry, root) or "auto"
    if mode is not None:
        return mode
    return "none" if self_hosted(entry) else None


def schema_args(form: str | None, name: str, schema: dict[str, Any], strict: bool = False) -> dict[str, Any]:
    """Call arguments that send a JSON schema in the given form ({} for None)."""
    if form == "json_schema":
        inner: dict[str, Any] = {"name": name[:64], "schema": schema}
        if strict:
            inner["strict"] = True
        return {"response_format": {"type": "json_schema", "json_schema": inner}}
    if form == "json_object":
        return {"extra_body": {"response_format": {"type": "json_object", "schema": schema}}}
    if form == "guided_json":
        return {"extra_body": {"guided_json": schema}}
    if form == "structured_outputs":
        return {"extra_body": {"structured_outputs": {"json": schema}}}
    if form == "tgi":
        return {"extra_body": {"response_format": {"type": "json", "value": schema}}}
    return {}


def choice_args(form: str | None, choices: list[str]) -> dict[str, Any]:
    """Call arguments that hold the answer to one of `choices` in the given form ({} for None)."""
    if form == "grammar":
        from ._local import choices_grammar

        return {"extra_body": {"grammar": choices_grammar(choices)}}
    if form == "guided_choice":
        return {"extra_body": {"guided_choice": list(choices)}}
    if form == "structured_outputs":
        return {"extra_body": {"structured_outputs": {"choice": list(choices)}}}
    if form == "tgi":
        return {"extra_body": {"response_format": {"type": "regex",
                                                   "value": "(" + "|".join(re.escape(c) for c in choices) + ")"}}}
    return {}


def describe(cand: "Candidate") -> str:
    """What `tierwise models` says a candidate is sent for a task with choices or a schema
    (its provider's to say; "-": nothing)."""
    from ._provider import provider_for

    return provider_for(cand.kind).describe_constraints(cand)


# -- auto: probe once, cache ------------------------------------------------------------

def _cache_key(entry: "ModelEntry") -> str:
    return f"{entry.ref}@{entry.call_options.get('api_base') or ''}"


def _read_cache(root: Path) -> dict[str, Any]:
    path = root / CACHE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) else None
    return entries if isinstance(entries, dict) else {}


def cached_probe(entry: "ModelEntry", root: Path | None) -> str | None:
    """The mode a previous probe found for this endpoint, if any (a bad cache is no cache)."""
    if root is None:
        return None
    found = _read_cache(root).get(_cache_key(entry))
    mode = found.get("mode") if isinstance(found, dict) else None
    return mode if mode in MODES else None


def probe(cands: dict[str, "Candidate"], root: Path, note: Any = None) -> None:
    """Resolve every `structured: auto` candidate not probed yet: try each form in PROBE_ORDER
    with one short call and keep the first whose answer obeys it; cache the result. A form the
    server ignores (an answer that does not obey it) counts as unsupported, as does an error."""
    from ..util import atomic_write

    # `auto` is only allowed where the provider takes structured: (litellm:), whose calls these are
    todo = [c for c in cands.values() if c.available and c.structured == "auto"]
    if not todo:
        return
    entries = _read_cache(root)
    for cand in todo:
        mode = next((m for m in PROBE_ORDER if _honours(cand, m)), "none")
        cand.structured = mode
        entries[_cache_key(cand.entry)] = {"mode": mode, "probed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if note is not None:
            note(f"probed {cand.name}'s structured output: {mode} (cached in {CACHE_FILE}; "
                 f"delete it to probe again)")
    atomic_write(root / CACHE_FILE, json.dumps({"version": 1, "entries": entries}, indent=2, sort_keys=True) + "\n")


def _honours(cand: "Candidate", mode: str) -> bool:
    schema_form, choice_form = MODES[mode]
    if choice_form is not None:
        extra, ok = choice_args(choice_form, _PROBE_CHOICES), _is_choice
    else:
        extra, ok = schema_args(schema_form, "tierwise_probe", _PROBE_SCHEMA), _is_probe_object
    output = _ask(cand, extra)
    return output is not None and ok(output)


def _is_choice(output: str) -> bool:
    return output.strip() in _PROBE_CHOICES


def _is_probe_object(output: str) -> bool:
    try:
        value = json.loads(output)
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance(value.get("tierwise_probe"), bool)


def _ask(cand: "Candidate", extra: dict[str, Any]) -> str | None:
    """One short call with `extra`; its text, or None when the endpoint refused it."""
    from ._calls import call_kwargs
    from ._litellm import litellm

    messages = [{"role": "user", "content": "Reply with one word: hello."}]
    kwargs = call_kwargs(cand, messages, {"temperature": 0, "max_tokens": 32}, extra)
    kwargs["timeout"] = min(cand.timeout_s, 30.0)
    try:
        response = litellm().completion(**kwargs)
        return response.choices[0].message.content
    except Exception:  # noqa: BLE001 - a refusal (HTTP 4xx/5xx) means "not this form"
        return None
