"""The runtime client: call a task by name and let the registry decide the model, with
fallbacks, escalation on a broken output contract, and a usage ledger of every attempt."""

from ._client import Attempt, Client, Reply
from ..project import Contract, Verdict  # the output contract lives with the spec; re-exported
from ._ledger import LedgerStats, LedgerWriter
from ._route import Hop, Route, build_routes

__all__ = ["Attempt", "Client", "Contract", "Hop", "LedgerStats", "LedgerWriter", "Reply", "Route", "Verdict",
           "build_routes"]
