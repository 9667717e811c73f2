"""Models: the catalog's candidates, their prices, local llama.cpp serving, output contracts,
and calls (timeouts, retries, Retry-After)."""

from ._calls import ABSTAINED, CallResult, call_kwargs, call_litellm, complete, secret_label
from ._catalog import Candidate, resolve_candidates
from ._contract import constraint, structured, takes_seed
from ._litellm import litellm as load_litellm
from ._local import LocalServer, choices_grammar, start_local, weights_identity
from ._pricing import cost_of, is_priced, price_map_version, prompt_tokens
from ._timing import fine_switching
from ._view import catalog_rows, catalog_table

__all__ = ["ABSTAINED", "CallResult", "Candidate", "LocalServer", "call_kwargs", "call_litellm", "catalog_rows", "catalog_table",
           "choices_grammar", "complete", "constraint", "cost_of", "fine_switching", "is_priced", "load_litellm",
           "price_map_version", "prompt_tokens", "resolve_candidates", "secret_label", "start_local", "structured",
           "takes_seed", "weights_identity"]
