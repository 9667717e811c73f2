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
