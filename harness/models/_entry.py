"""A catalog entry of tierwise.yaml's `models:`: which provider answers (the one registered
provider key it names: `litellm`, `local`, `python`, …), its price, and the call options passed
beside it."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ..util import Strict as _Strict
from ._provider import kind_of, known_kinds, provider_for


class Price(_Strict):
    """Prices in US dollars; any of them may be set, they add up."""

    input_per_mtok: float | None = Field(None, ge=0)
    output_per_mtok: float | None = Field(None, ge=0)
    per_call: float | None = Field(None, ge=0)
    per_hour: float | None = Field(None, ge=0)
    # The throughput a per_hour price charges at (tokens a second on the machine that serves the
    # model): a self-hosted endpoint's calls are then priced on their tokens, not on wall time
    # that moves with the server's load; on a local: model it replaces the reference rate.
    output_tokens_per_s: float | None = Field(None, gt=0, allow_inf_nan=False)
    prompt_tokens_per_s: float | None = Field(None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _rates_together(self) -> "Price":
        rates = (self.output_tokens_per_s, self.prompt_tokens_per_s)
        if any(r is not None for r in rates):
            if None in rates:
                missing = "prompt_tokens_per_s" if self.prompt_tokens_per_s is None else "output_tokens_per_s"
                raise ValueError(f"set {missing} too: a stated throughput needs both the prompt and the output rate "
                                 "(tokens a second on the serving machine)")
            if self.per_hour is None:
                raise ValueError("output_tokens_per_s / prompt_tokens_per_s price a per_hour price; "
                                 "add per_hour: (dollars an hour of the serving machine)")
        return self

    @property
    def stated_rate(self) -> bool:
        return self.output_tokens_per_s is not None and self.prompt_tokens_per_s is not None


class ModelEntry(BaseModel):
    """One catalog entry: exactly one registered provider's key (`litellm`, `local`, `python`, or
    one a user registered; models/_provider.py) and the value beside it (`ref`), a price, and the
    call options its provider accepts (beside `litellm:`, those in CALL_OPTIONS and an `extra:`
    mapping). `api_key: none` says the endpoint needs no key; any other key is read from the
    environment (`api_key_env: NAME`, or the provider's variable).
    """

    model_config = ConfigDict(extra="allow")  # the provider's key and its call options

    price: Price | None = None
    concurrency: int | None = Field(None, ge=1)
    timeout_s: float | None = Field(None, gt=0, le=86400, allow_inf_nan=False)
    extra: dict[str, Any] | None = None
    # What structured output the endpoint accepts (models/_structured.py; docs/formats.md).
    structured: Literal["json_schema", "json_object", "grammar", "guided", "structured_outputs", "tgi",
                        "none", "auto"] | None = None
    # Greedy calls decoded together by a local engine (models/_batching.py; docs/formats.md).
    batch: int | None = Field(None, ge=1, le=64)
    _kind: str = PrivateAttr("")

    @model_validator(mode="after")
    def _one_kind(self) -> "ModelEntry":
        given = self.model_extra or {}
        kinds = kind_of(given)
        if len(kinds) != 1:
            raise ValueError(_kind_problem(given, kinds))
        kind = self._kind = kinds[0]
        if not isinstance(given[kind], str):
            raise ValueError(f"{kind}: must be a string, got {type(given[kind]).__name__}")
        p = provider_for(kind)
        options = sorted(k for k in given if k != kind)
        for key in options:
            if key not in p.options:
                raise ValueError(_unknown_key(key, kind))
        if self.extra and not p.options:
            raise ValueError(f"unknown key 'extra'; call options are only allowed beside {_takers()}")
        if self.structured is not None and not p.takes_structured:
            beside = ", ".join(k + ":" for k in known_kinds() if provider_for(k).takes_structured)
            raise ValueError(f"structured: is for {beside} entries (a {kind}: entry is held to a task's "
                             f"contract by its provider)")
        if self.batch is not None and not p.takes_batch:
            beside = ", ".join(k + ":" for k in known_kinds() if provider_for(k).takes_batch)
            raise ValueError(f"batch: is for {beside} entries (calls to a {kind}: entry are not decoded here)")
        p.check(self)
        return self

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # type: ignore[misc]  # pydantic's: extras and private attributes
        except AttributeError:
            if name in known_kinds():  # another provider's key, which this entry does not name
                return None
            raise

    @property
    def kind(self) -> str:
        """The registered provider's key this entry names."""
        return self._kind

    @property
    def ref(self) -> str:
        """The value beside the provider's key: a LiteLLM model string, a local model, a rule's path."""
        return (self.model_extra or {})[self._kind]

    @property
    def target(self) -> str:
        """The string registry.yaml's `model:` holds for this entry."""
        return provider_for(self._kind).target(self)

    @property
    def call_options(self) -> dict[str, Any]:
        """What is passed to the call beside the model: the known options, then `extra:`."""
        return {**{k: v for k, v in (self.model_extra or {}).items() if k != self._kind}, **(self.extra or {})}


def _kind_problem(given: dict[str, Any], kinds: list[str]) -> str:
    """Why an entry names no provider, or more than one; the registered ones listed."""
    known = known_kinds()
    text = f"needs exactly one of {', '.join(k + ':' for k in known)}"
    if kinds:
        return text + f" (it names {', '.join(k + ':' for k in kinds)})"
    options = {o for k in known for o in provider_for(k).options}
    stray = [k for k in given if k not in options]
    if stray:
        close = difflib.get_close_matches(stray[0], known, n=1, cutoff=0.75)
        text += f"; {stray[0]!r} is not a registered provider" + (
            f": did you mean {close[0]!r}?" if close else
            "; fix: a model kind of your own is registered with @provider in a module listed under plugins: in tierwise.yaml")
    return text


def _unknown_key(key: str, kind: str) -> str:
    """An option the entry's provider does not take: a typo of a field, else what it may set."""
    p = provider_for(kind)
    known = sorted(ModelEntry.model_fields) + sorted(p.options)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    if p.options:
        return (f"unknown key {key!r}; known call options: {', '.join(sorted(p.options))}; "
                f"put any other under extra: {{{key}: …}}")
    return f"unknown key {key!r}; call options are only allowed beside {_takers()}"


def _takers() -> str:
    return ", ".join(k + ":" for k in known_kinds() if provider_for(k).options)
