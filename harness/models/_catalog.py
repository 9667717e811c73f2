"""Resolve catalog entries into candidates and decide which are available, and why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Protocol

from ..errors import ConfigError
from ._entry import ModelEntry
from ._identity import candidate_identity
from ._provider import provider_for


class Catalog(Protocol):
    """What resolving candidates reads of a project's configuration (tierwise.yaml)."""

    models: Mapping[str, ModelEntry]
    concurrency: int
    timeout_s: float

    @property
    def root(self) -> Path | None:
        """The project's folder (where a probe cache lives), when it was loaded from one."""


CandidateStatus = Literal["ready", "skipped", "unknown"]


@dataclass
class Candidate:
    """A model as the runner sees it: how to call it, what it costs, and whether it can run."""

    name: str
    kind: str                      # its provider's key: litellm | local | python | …
    entry: ModelEntry
    litellm_model: str | None = None  # the LiteLLM model string its calls use (litellm:, local:)
    call_options: dict[str, Any] = field(default_factory=dict)
    loaded: Any = None             # what its provider loaded to answer (a python: rule's function)
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
        return provider_for(self.kind).family(self)

    @property
    def weights_bytes(self) -> int | None:
        """Bytes of weights behind each call: a local model's file, 0 for a python rule, None
        when unknown (an API model); what breaks a tie on cost (decide/_cost.py)."""
        return provider_for(self.kind).weights_bytes(self.entry)

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
    """Candidates for the given model names, each made ready by its provider; unavailable ones
    carry a one-line reason."""
    out = {}
    for name in names:
        entry = config.models.get(name)
        if entry is None:
            raise ConfigError(f"tierwise.yaml: models: unknown model {name!r}; known: {', '.join(sorted(config.models))}")
        p = provider_for(entry.kind)
        cand = Candidate(name=name, kind=entry.kind, entry=entry,
                         concurrency=p.concurrency(entry, entry.concurrency or config.concurrency),
                         timeout_s=entry.timeout_s or config.timeout_s)
        p.resolve(cand, config, check_keys)
        out[name] = cand
    return out
