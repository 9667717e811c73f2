"""The registry in other tools' formats: `tierwise export litellm` (a LiteLLM Router / proxy config)."""

from ._litellm import LitellmExport, litellm_config, write_litellm_config

__all__ = ["LitellmExport", "litellm_config", "write_litellm_config"]
