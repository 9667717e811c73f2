"""The runtime client: call a task by name and let the registry decide the model, with
fallbacks, escalation on a broken output contract, and a usage ledger of every attempt."""

from ._client import Attempt, Client, Reply
from ._contract import Contract, Verdict
from ._ledger import LedgerStats, LedgerWriter

__all__ = ["Attempt", "Client", "Contract", "LedgerStats", "LedgerWriter", "Reply", "Verdict"]
