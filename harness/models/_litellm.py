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
    return _litellm
