"""Models: the catalog's candidates, their prices, local llama.cpp serving, output contracts,
and calls (timeouts, retries, Retry-After)."""

from ._calls import ABSTAINED, CallResult, call_kwargs, call_litellm, complete, secret_label
from ._catalog import Candidate, Catalog, resolve_candidates
from ._contract import PROBABILITIES, constraint, structured, takes_seed, unconstrained
from ._entry import CALL_OPTIONS, ModelEntry, Price
from ._identity import candidate_identity
from ._structured import FIX as STRUCTURED_FIX
from ._structured import describe as describe_structured
from ._structured import probe as probe_structured
from ._litellm import litellm as load_litellm
from ._local import LocalServer, choices_grammar, start_local, weights_identity
from ._pricing import cost_of, is_priced, litellm_prices, price_map_version, prompt_tokens, wall_priced
from ._timing import fine_switching

__all__ = ["ABSTAINED", "PROBABILITIES", "CALL_OPTIONS", "CallResult", "Candidate", "Catalog", "LocalServer", "ModelEntry", "Price", "candidate_identity", "call_kwargs", "call_litellm",
           "choices_grammar", "complete", "constraint", "cost_of", "fine_switching", "is_priced", "litellm_prices", "load_litellm",
           "price_map_version", "prompt_tokens", "resolve_candidates", "secret_label", "start_local", "structured",
           "takes_seed", "wall_priced", "weights_identity", "STRUCTURED_FIX", "describe_structured", "probe_structured", "unconstrained"]
