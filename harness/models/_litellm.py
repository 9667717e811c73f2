"""Import LiteLLM lazily (it takes seconds) and never let it reach for the network."""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm as _litellm

    _litellm.telemetry = False
    _litellm.suppress_debug_info = True
    _litellm.drop_params = True  # a param one provider lacks is dropped, not an error
    if _litellm.aclient_session is None:  # a client the user set stays theirs
        from ._timing import timed_client

        # Its exchanges run and are timed on a thread of their own: latency that is the model's.
        _litellm.aclient_session = timed_client()
    _redact_logs()
    return _litellm


def _redact_logs() -> None:
    """LiteLLM's own log records (at any LITELLM_LOG level) pass through redact(): a provider
    error that echoes a key must not reach a CI log."""
    import logging

    from ..util import redact

    class _Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            try:
                record.msg = redact(record.getMessage())
                record.args = None
            except Exception:  # noqa: BLE001 - a log record must never break a call
                pass
            return True

    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Redact) for f in logger.filters):
            logger.addFilter(_Redact())
        for handler in logger.handlers:  # records of child loggers pass the handlers, not the logger
            if not any(isinstance(f, _Redact) for f in handler.filters):
                handler.addFilter(_Redact())


# LiteLLM's own listeners: while all of these are empty (and a call passes none of its own),
# nothing reads the cost LiteLLM computes for a response or the success log it builds.
_LISTENERS = ("callbacks", "success_callback", "_async_success_callback", "input_callback", "service_callback")
_CALL_LISTENERS = ("dynamic_success_callbacks", "dynamic_async_success_callbacks")


def skip_unread_bookkeeping() -> None:
    """For a process whose LiteLLM calls only Tierwise reads (a run's call workers): LiteLLM's
    per-response costing and its success-log payload are skipped while no LiteLLM callback is
    registered to read them.

    Tierwise prices every call itself from the tokens (models/_pricing.py) and never reads
    LiteLLM's figure; computing it and the log payload was 1.0-1.3 ms of a worker's 4.5-5 ms of
    CPU per call (benchmarks/throughput.py's loopback model, 2 cores). Requests, error mapping
    and the failure path are untouched (Tierwise's retries and Retry-After are its own,
    models/_calls.py). With a callback registered (a user's Langfuse, say), LiteLLM does all of
    it as ever. Where this LiteLLM lacks these hooks (another version), nothing changes."""
    from litellm.litellm_core_utils.litellm_logging import Logging

    lib = litellm()
    if getattr(Logging, "_tierwise_skips", False):
        return

    def listened(call: object) -> bool:
        return any(getattr(lib, name, None) for name in _LISTENERS) or \
            any(getattr(call, name, None) for name in _CALL_LISTENERS)

    cost = getattr(Logging, "response_cost_calculator", None)
    claim = getattr(Logging, "claim_async_success_log", None)
    if cost is not None:
        def response_cost_calculator(self, *args, **kwargs):
            return cost(self, *args, **kwargs) if listened(self) else None

        Logging.response_cost_calculator = response_cost_calculator
    if claim is not None:
        def claim_async_success_log(self):
            return claim(self) if listened(self) else False

        Logging.claim_async_success_log = claim_async_success_log
    Logging._tierwise_skips = True
