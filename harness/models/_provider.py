"""The provider registry: what answers for each kind of catalog entry.

A kind is the key a tierwise.yaml entry names (`litellm:`, `local:`, `python:`, or one a user
adds). Its Provider says, for every part of Tierwise that must know: what identifies an entry's
answers (for the fingerprint), its registry target, whether it can run here (for `tierwise
models`), the call options it accepts, its concurrency, its price, the constraint forms it takes,
the call itself — which returns the one CallResult record every provider returns (output,
finish_reason, tokens, latency, attempts, error) — and, when its models need an engine (llama.cpp
for `local:`), how to start one. A provider is registered the way a grader is:

    @provider("replay")
    class Replay(Provider):
        def identity(self, entry): return {"kind": "replay", "file": entry.ref, ...}
        async def call(self, cand, messages, params, extra, **how): return CallResult(...)

Nothing outside this registry and the providers asks which kind an entry is: it asks the
entry's provider (`provider_for(cand.kind)`). The built-in providers are _litellm_provider.py,
_local_provider.py and _python_provider.py; a fourth lives in one file of its own (see
tests/models/test_fourth_provider.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

if TYPE_CHECKING:
    from ._calls import CallResult
    from ._catalog import Candidate, Catalog
    from ._entry import ModelEntry

# The signals a cascade stage can defer on (project/_cascade_spec.py) that a model can give.
MODEL_SIGNALS = frozenset({"contract", "confidence", "agreement", "check"})


class Provider:
    """One kind of catalog entry. Subclass it, register it with `@provider("key")`, and define
    `identity` and `call`; every other method has the default a plain callable model wants
    (ready, free unless priced, sent no constraint, called directly, no engine)."""

    kind: ClassVar[str] = ""  # the tierwise.yaml key; set by @provider
    # Call options an entry may set beside its key, passed to the call as they are; a provider
    # that takes any also takes `extra:` (anything else, verbatim). Anything else is a typo.
    options: ClassVar[frozenset[str]] = frozenset()
    takes_structured: ClassVar[bool] = False  # whether `structured:` (models/_structured.py) applies
    takes_batch: ClassVar[bool] = False  # whether `batch:` (models/_batching.py) applies
    # Sent the case's variables, not the rendered prompt (a python: rule): the prompt is no part
    # of its spec hash, its call key is the hash of the variables, and it reads no tokens.
    takes_vars: ClassVar[bool] = False
    # Its calls are `litellm.acompletion(**call_kwargs(...))`, which a run's worker processes
    # can make (runner/_workers.py).
    pooled: ClassVar[bool] = False
    # Resolving an entry imports the user's code (a python: rule): `tierwise audit` prices
    # usage without resolving such entries.
    imports_code: ClassVar[bool] = False
    signals: ClassVar[frozenset[str]] = MODEL_SIGNALS  # cascade signals its answers can give
    # Why it cannot give a signal, for the spec error that names it.
    no_signal: ClassVar[Mapping[str, str]] = {"abstain": "only a python: rule can abstain (return None)"}
    # What serves its models for a run, started once for all of them ("llama.cpp"); None: each
    # call is made directly. Models with an engine are called one model at a time, each loaded
    # with a throwaway call first.
    engine: ClassVar[str | None] = None
    # Its registry targets are its refs as they are (a LiteLLM model string), not `<kind>:<ref>`;
    # a target no other provider's prefix claims is one of its.
    bare_targets: ClassVar[bool] = False
    # Where list_price's figures come from, as `tierwise models` names them ("LiteLLM"); empty:
    # the provider charges nothing itself (its models are "free" unless their entries set a price).
    price_list: ClassVar[str] = ""

    # -- the entry ---------------------------------------------------------------------------
    def check(self, entry: "ModelEntry") -> None:
        """Refuse a bad entry beyond its options (raise ValueError with what to fix)."""

    def identity(self, entry: "ModelEntry") -> dict[str, Any]:
        """What decides the entry's answers, for call keys and evidence; never secrets. Its
        `kind` key is the provider's kind."""
        raise NotImplementedError(f"provider {self.kind!r} must define identity()")

    def target(self, entry: "ModelEntry") -> str:
        """The string registry.yaml's `model:` holds for this entry: `<kind>:<ref>`, or the ref
        alone for a provider with bare targets."""
        return entry.ref if self.bare_targets else f"{self.kind}:{entry.ref}"

    def weights_bytes(self, entry: "ModelEntry") -> int | None:
        """Bytes of weights behind each call (0: none, a rule; None: unknown, an API model);
        what breaks a tie on cost (decide/_cost.py)."""
        return None

    # -- readiness ---------------------------------------------------------------------------
    def resolve(self, cand: "Candidate", config: "Catalog", check_keys: bool) -> None:
        """Make a candidate ready to call, or mark it skipped with a one-line reason
        (`skip(cand, why)`), knowing only what can be known offline. `check_keys`: whether to
        look for credentials."""

    def concurrency(self, entry: "ModelEntry", configured: int) -> int:
        """In-flight calls at once (`configured`: the entry's concurrency:, else the default)."""
        return configured

    def family(self, cand: "Candidate") -> str:
        """Provider family, so fallbacks prefer another one (decide/_rule.py)."""
        return self.kind

    # -- price -------------------------------------------------------------------------------
    def list_cost(self, cand: "Candidate", prompt_tokens: int, completion_tokens: int) -> float | None:
        """Dollars for a call's tokens when the entry sets no token price; None: unknown (then the
        call's cost is unknown unless a per_call or per_hour price is set)."""
        return 0.0

    def list_price(self, cand: "Candidate") -> tuple[float, float] | None:
        """The (input, output) dollars per million tokens behind list_cost, for `tierwise models`;
        None: the provider lists no price for this model (its entry needs price:). (0, 0) with
        `price_list` empty: the provider charges nothing itself."""
        return 0.0, 0.0

    def charged_seconds(self, cand: "Candidate", prompt_tokens: int, completion_tokens: int,
                        latency_s: float | None) -> float | None:
        """The machine time a per_hour price is charged on (default: the call's latency)."""
        return latency_s

    def prompt_tokens(self, cand: "Candidate", messages: list[dict[str, str]]) -> int:
        """Prompt tokens of a call, before it is made (LiteLLM's default tokenizer)."""
        if self.takes_vars:
            return 0
        from ._litellm import litellm

        return int(litellm().token_counter(messages=messages))

    # -- output contract -----------------------------------------------------------------------
    def forms(self, cand: "Candidate") -> tuple[str | None, str | None]:
        """(the form a JSON schema is sent in, the form a label set is sent in); None: not sent
        (models/_structured.py lists the forms)."""
        return None, None

    def describe_constraints(self, cand: "Candidate") -> str:
        """What `tierwise models` says the candidate is sent for choices or a schema ("-": nothing
        to say)."""
        return "-"

    def takes_seed(self, cand: "Candidate") -> bool:
        """Whether a call may carry a `seed`."""
        return True

    # -- the call ------------------------------------------------------------------------------
    async def call(self, cand: "Candidate", messages: list[dict[str, str]], params: dict[str, Any],
                   extra: dict[str, Any] | None, *, retries: int, backoff_base_s: float,
                   variables: dict[str, Any], api_base: str | None, api_key: str | None) -> "CallResult":
        """One call, retrying what a retry may cure; a failure is returned in the CallResult,
        never raised. `api_base`/`api_key`: where an engine serves the model."""
        raise NotImplementedError(f"provider {self.kind!r} must define call()")

    def router_params(self, cand: "Candidate", served_at: str | None) -> tuple[dict[str, Any] | None, str]:
        """The model part of a LiteLLM Router entry for this candidate (`tierwise export
        litellm`), or None and why it cannot be one. `served_at`: --local-api-base."""
        return None, f"is a {self.kind}: model, which LiteLLM cannot call"

    # -- an engine (only when `engine` is set) ---------------------------------------------------
    def engine_model(self, entry: "ModelEntry") -> str:
        """What the engine loads for this entry."""
        return entry.ref

    def start_engine(self, models: dict[str, str], threads: int | None, in_process: bool = True,
                     note: Any = None) -> Any:
        """Start serving `models` (alias -> engine_model); `note` receives what the engine tells
        the user while it runs. Returns an object with `models`,
        `route(cand) -> (cand, call arguments)`, `stop()` and optionally `death() -> str | None`."""
        raise NotImplementedError(f"provider {self.kind!r} has no engine")


_PROVIDERS: dict[str, Provider] = {}


def provider(kind: str) -> Callable[[type[Provider]], type[Provider]]:
    """Register a Provider subclass for the tierwise.yaml key `kind`."""

    def register(cls: type[Provider]) -> type[Provider]:
        if not kind.isidentifier():
            raise ValueError(f"provider kind must be an identifier, got {kind!r}")
        taken = _PROVIDERS.get(kind)
        if taken is not None and type(taken) is not cls:
            raise ValueError(f"provider {kind!r} is already registered ({type(taken).__name__})")
        if kind in _RESERVED:
            raise ValueError(f"provider kind {kind!r} is a key every catalog entry may set")
        cls.kind = kind
        _PROVIDERS[kind] = cls()
        return cls

    return register


# The keys of ModelEntry's own fields: no provider may be named after one.
_RESERVED = frozenset({"price", "concurrency", "timeout_s", "extra", "structured"})


def provider_for(kind: str) -> Provider:
    """The registered provider of a kind; an unknown kind names the known ones."""
    found = _PROVIDERS.get(kind)
    if found is None:
        raise KeyError(f"unknown model kind {kind!r}; known: {', '.join(known_kinds())}")
    return found


def known_kinds() -> list[str]:
    """Every registered kind, in registration order (the built-in ones first)."""
    return list(_PROVIDERS)


def kind_of(mapping: Mapping[str, Any]) -> list[str]:
    """The registered kinds a catalog entry's keys name (with a non-empty value)."""
    return [k for k in _PROVIDERS if mapping.get(k)]


def entry_for_target(target: str) -> "ModelEntry":
    """A catalog entry for a registry target no catalog entry names: `<kind>:<ref>` for a
    registered kind, else the ref of the provider whose targets are bare (a LiteLLM model string)."""
    from ._entry import ModelEntry

    kind, sep, ref = target.partition(":")
    found = _PROVIDERS.get(kind)
    if sep and found is not None and not found.bare_targets:
        return ModelEntry(**{kind: ref})
    bare = next(k for k, p in _PROVIDERS.items() if p.bare_targets)
    return ModelEntry(**{bare: target})


def skip(cand: "Candidate", why: str) -> None:
    """Mark a candidate as unable to run here, with a one-line reason."""
    cand.available, cand.skip_reason, cand.status = False, why, "skipped"


class Engines:
    """The engines serving a set of models, one per provider that needs one (llama.cpp for
    `local:`): `route(cand)` sends a call to its provider's engine."""

    def __init__(self, by_kind: dict[str, Any] | None = None):
        self.by_kind: dict[str, Any] = by_kind or {}

    @classmethod
    def start(cls, models: dict[str, dict[str, str]], threads: int | None, in_process: bool = True,
              note: Any = None) -> "Engines":
        """Start an engine per kind in `models` (kind -> alias -> engine_model); `in_process`:
        in this process where the provider can (a run), else in a server process (the client)."""
        engines = cls()
        try:
            for kind, served in models.items():
                engines.by_kind[kind] = provider_for(kind).start_engine(served, threads, in_process=in_process, note=note)
        except BaseException:  # Ctrl-C while loading must not leave an engine behind
            engines.stop()
            raise
        return engines

    @property
    def models(self) -> dict[str, dict[str, str]]:
        """kind -> alias -> model, of every engine."""
        return {kind: dict(e.models) for kind, e in self.by_kind.items()}

    def serves(self, models: dict[str, dict[str, str]]) -> bool:
        """Whether these engines already serve every model asked for."""
        have = self.models
        return all(have.get(kind, {}).get(a) == m for kind, served in models.items() for a, m in served.items())

    def route(self, cand: "Candidate") -> tuple["Candidate", dict[str, Any]]:
        """The candidate to call and its call arguments (where its engine serves it)."""
        return self.by_kind[cand.kind].route(cand)

    def death(self) -> str | None:
        """Why an engine died during the run (None while all run)."""
        for engine in self.by_kind.values():
            death = getattr(engine, "death", None)
            why = death() if death is not None else None
            if why:
                return why
        return None

    def stop(self) -> None:
        engines, self.by_kind = self.by_kind, {}
        for engine in engines.values():
            engine.stop()


def served_models(cands: Any) -> dict[str, dict[str, str]]:
    """kind -> name -> engine_model, for the candidates whose provider serves them by an engine."""
    out: dict[str, dict[str, str]] = {}
    for cand in cands:
        p = provider_for(cand.kind)
        if p.engine is not None:
            out.setdefault(cand.kind, {})[cand.name] = p.engine_model(cand.entry)
    return out
