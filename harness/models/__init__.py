"""Models: the catalog's candidates, their prices, local llama.cpp serving, and calls."""

from ._catalog import Candidate, resolve_candidates
from ._calls import CallResult, complete
from ._pricing import cost_of, price_map_version

__all__ = ["Candidate", "CallResult", "complete", "cost_of", "price_map_version", "resolve_candidates"]
