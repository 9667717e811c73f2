"""Models: the catalog's candidates, their prices, local llama.cpp serving, output contracts,
and calls (timeouts, retries, Retry-After)."""

from ._calls import CallResult, complete
from ._catalog import Candidate, resolve_candidates
from ._contract import constraint, structured, takes_seed
from ._local import LocalServer, choices_grammar, start_local, weights_identity
from ._pricing import cost_of, is_priced, price_map_version, prompt_tokens
from ._view import catalog_rows, catalog_table

__all__ = ["CallResult", "Candidate", "LocalServer", "catalog_rows", "catalog_table", "choices_grammar", "complete",
           "constraint", "cost_of", "is_priced", "price_map_version", "prompt_tokens", "resolve_candidates",
           "start_local", "structured", "takes_seed", "weights_identity"]
