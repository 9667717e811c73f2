"""Models: the catalog's candidates and the providers that answer for them (litellm, local,
python, or any registered with @provider), their prices, local llama.cpp serving, output
contracts, and calls (timeouts, retries, Retry-After)."""

from ._provider import Engines, Provider, known_kinds, provider, provider_for, served_models, skip
from . import _litellm_provider  # noqa: F401 - registers litellm:
from . import _local_provider  # noqa: F401 - registers local:
from . import _python_provider  # noqa: F401 - registers python:
from ._calls import ABSTAINED, CallResult, call_kwargs, call_litellm, complete, litellm_call, secret_label
from ._catalog import Candidate, Catalog, resolve_candidates
from ._contract import PROBABILITIES, constraint, structured, takes_seed, unconstrained
from ._entry import ModelEntry, Price
from ._litellm_provider import CALL_OPTIONS
from ._identity import candidate_identity
from ._provider import entry_for_target
from ._structured import FIX as STRUCTURED_FIX
from ._structured import describe as describe_structured
from ._structured import probe as probe_structured
from ._litellm import litellm as load_litellm
from ._litellm import skip_unread_bookkeeping
from ._local import LocalServer, choices_grammar, start_local, weights_identity
from ._pricing import cost_of, is_priced, litellm_prices, price_map_version, prompt_tokens, wall_priced
from ._timing import fine_switching

__all__ = ["ABSTAINED", "PROBABILITIES", "CALL_OPTIONS", "CallResult", "Candidate", "Catalog", "Engines", "LocalServer", "ModelEntry", "Price",
           "Provider", "candidate_identity", "call_kwargs", "call_litellm", "choices_grammar", "complete", "constraint",
           "cost_of", "entry_for_target", "fine_switching", "is_priced", "known_kinds", "litellm_call", "litellm_prices",
           "load_litellm", "price_map_version", "prompt_tokens", "provider", "provider_for", "resolve_candidates",
           "secret_label", "served_models", "skip", "skip_unread_bookkeeping", "start_local", "structured", "takes_seed", "wall_priced", "weights_identity",
           "STRUCTURED_FIX", "describe_structured", "probe_structured", "unconstrained"]
