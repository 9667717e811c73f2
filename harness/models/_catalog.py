"""Resolve catalog entries into candidates and decide which are available, and why not."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Protocol

from ..errors import ConfigError
from . import _local
from ._entry import ModelEntry
from ._identity import candidate_identity
from ._structured import stated_mode


class Catalog(Protocol):
    """What resolving candidates reads of a project's configuration (tierwise.yaml)."""

    models: Mapping[str, ModelEntry]
    concurrency: int
    timeout_s: float

CandidateStatus = Literal["ready", "skipped", "unknown"]


@dataclass
class Candidate:
    """A model as the runner sees it: how to call it, what it costs, and whether it can run."""

    name: str
    kind: str                      # litellm | local | python
    entry: ModelEntry
    litellm_model: str | None = None
    call_options: dict[str, Any] = field(default_factory=dict)
    function: Callable[[dict], str] | None = None
    available: bool = True
    skip_reason: str = ""
    status: CandidateStatus = "ready"  # unknown: can run, but whether a key works is unknown
    note: str = ""                 # why the status is unknown
    concurrency: int = 16
    timeout_s: float = 60.0
    structured: str | None = None  # litellm: the structured-output mode (_structured.py); None: LiteLLM's map

    @property
    def provider(self) -> str:
        """Provider family, used to prefer fallbacks from another provider."""
        if self.kind != "litellm":
            return self.kind
        return (self.litellm_model or "").split("/", 1)[0]

    @property
    def weights_bytes(self) -> int | None:
        """Bytes of weights behind each call: a local model's file, 0 for a python rule, None
        when unknown (an API model); what breaks a tie on cost (decide/_cost.py)."""
        if self.kind == "python":
            return 0
        return _local.weights_bytes(self.entry.local) if self.kind == "local" else None

    @property
    def compute_priced(self) -> bool:
        """Whether its price is measured per call (per_hour of compute) rather than fixed."""
        return self.entry.price is not None and self.entry.price.per_hour is not None

    @property
    def identity(self) -> dict[str, Any]:
        """What decides this model's answers (for cache keys and evidence); never secrets."""
        cached = self.__dict__.get("_identity")
        if cached is None:
            cached = self.__dict__["_identity"] = candidate_identity(self.entry)
        return cached


def resolve_candidates(config: Catalog, names: list[str], check_keys: bool = True) -> dict[str, Candidate]:
    """Candidates for the given model names; unavailable ones carry a one-line reason."""
    out = {}
    for name in names:
        entry = config.models.get(name)
        if entry is None:
            raise ConfigError(f"tierwise.yaml: models: unknown model {name!r}; known: {', '.join(sorted(config.models))}")
        cand = Candidate(name=name, kind=entry.kind, entry=entry,
                         concurrency=entry.concurrency or config.concurrency,
                         timeout_s=entry.timeout_s or config.timeout_s)
        if entry.kind == "litellm":
            cand.litellm_model = entry.litellm
            cand.call_options = entry.call_options
            cand.structured = stated_mode(entry, config.root)
            if check_keys:
                _check_litellm(cand)
        elif entry.kind == "local":
            problem = _local.problem(entry.local)
            if problem:
                _skip(cand, problem)
            cand.concurrency = 1  # one llama.cpp model answers one request at a time
            cand.litellm_model = f"openai/{name}"  # served under its catalog name as the alias
        else:
            _load_python(cand)
        out[name] = cand
    return out


def _check_litellm(cand: Candidate) -> None:
    """What can be known offline about a LiteLLM entry's credentials: a key is needed unless the
    entry says `api_key: none`; it comes from `api_key_env:` or the provider's variable."""
    if cand.entry.needs_no_key:
        return
    key_env = cand.call_options.get("api_key_env")
    if key_env:
        from ..util import register_secret

        register_secret(os.environ.get(key_env), key_env)
        if not os.environ.get(key_env):
            _skip(cand, f"{key_env} is not set")
        return
    from ._litellm import litellm
    from ._price_map import key_check

    try:
        env = key_check(cand.litellm_model or "") or litellm().validate_environment(cand.litellm_model)
    except Exception as exc:  # an unknown provider string
        _skip(cand, f"LiteLLM cannot use {cand.litellm_model!r}: {str(exc)[:120]}")
        return
    if env.get("keys_in_environment"):
        return
    missing = env.get("missing_keys") or []
    if not missing:
        cand.status, cand.note = "unknown", "LiteLLM cannot tell which key this provider needs"
        return
    why = f"{' or '.join(missing)} is not set"
    if cand.call_options.get("api_base"):
        why += "; for a server that needs no key, add api_key: none to its tierwise.yaml entry"
    _skip(cand, why)


def _skip(cand: Candidate, why: str) -> None:
    cand.available, cand.skip_reason, cand.status = False, why, "skipped"


_LOADED_MTIME: dict[str, int] = {}


def _import_fresh(module_name: str):
    """Import a user module, reloading it when its file changed since it was imported here
    (a notebook or a long-lived process must run the rule as it is now, not as it was)."""
    import sys

    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "__file__", None):
        mtime = os.stat(module.__file__).st_mtime_ns
        if _LOADED_MTIME.get(module_name, mtime) != mtime:
            module = importlib.reload(module)
        _LOADED_MTIME[module_name] = mtime
        return module
    module = importlib.import_module(module_name)
    if getattr(module, "__file__", None):
        _LOADED_MTIME[module_name] = os.stat(module.__file__).st_mtime_ns
    return module


def _load_python(cand: Candidate) -> None:
    path = cand.entry.python or ""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"tierwise.yaml: models.{cand.name}.python: {path!r} must be 'package.module:function'")
    try:
        module = _import_fresh(module_name)
    except ImportError as exc:
        raise ConfigError(f"tierwise.yaml: models.{cand.name}.python: cannot import {module_name!r} ({exc}); "
                          f"fix: check the module path (relative to the project root)") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - user code failing at import is bad input, not a crash
        raise ConfigError(f"tierwise.yaml: models.{cand.name}.python: importing {module_name!r} failed: "
                          f"{type(exc).__name__}: {exc}; fix the module") from None
    fn = getattr(module, attr, None)
    if fn is None:
        raise ConfigError(f"tierwise.yaml: models.{cand.name}.python: {module_name!r} has no {attr!r}")
    if not callable(fn):
        raise ConfigError(f"tierwise.yaml: models.{cand.name}.python: {path!r} is not callable")
    cand.function = fn
