"""tierwise.yaml: the models catalog, the store, and run defaults."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError
from ..util import Strict as _Strict
from ._yaml import pydantic_error, read_yaml

CONFIG_FILE = "tierwise.yaml"
DEFAULT_STORE = "sqlite:///.tierwise/results.db"


class Price(_Strict):
    """Prices in US dollars; any of them may be set, they add up."""

    input_per_mtok: float | None = Field(None, ge=0)
    output_per_mtok: float | None = Field(None, ge=0)
    per_call: float | None = Field(None, ge=0)
    per_hour: float | None = Field(None, ge=0)


class ModelEntry(BaseModel):
    """One catalog entry: exactly one of `litellm`, `local`, `python`.

    Other keys beside `litellm:` (api_base, extra_headers, ...) are passed to the call.
    """

    model_config = ConfigDict(extra="allow")

    litellm: str | None = None
    local: str | None = None
    python: str | None = None
    price: Price | None = None
    concurrency: int | None = Field(None, ge=1)
    timeout_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> "ModelEntry":
        kinds = [k for k in ("litellm", "local", "python") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("needs exactly one of litellm:, local:, python:")
        extra = sorted(self.model_extra or {})
        for key in extra:  # `pric:` would otherwise be sent to the provider as a call option
            close = difflib.get_close_matches(key, sorted(ModelEntry.model_fields), n=1, cutoff=0.75)
            if close:
                raise ValueError(f"unknown key {key!r}; did you mean {close[0]!r}?")
        if extra and kinds[0] != "litellm":
            raise ValueError(f"unknown key {extra[0]!r}; call options are only allowed beside litellm:")
        if "api_key" in (self.model_extra or {}):
            raise ValueError("api_key must not be written in tierwise.yaml; set the provider's environment variable "
                             "(or api_key_env: NAME)")
        return self

    @property
    def kind(self) -> Literal["litellm", "local", "python"]:
        return "litellm" if self.litellm else "local" if self.local else "python"

    @property
    def target(self) -> str:
        """The string registry.yaml's `model:` holds for this entry."""
        if self.kind == "litellm":
            return self.litellm or ""
        if self.kind == "local":
            return f"local:{self.local}"
        return f"python:{self.python}"

    @property
    def call_options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ProjectConfig(_Strict):
    store: str = DEFAULT_STORE
    registry: str = "registry.yaml"
    concurrency: int = Field(16, ge=1, le=1024)
    timeout_s: float = Field(60.0, gt=0)
    retries: int = Field(3, ge=0, le=20)
    retry_backoff_s: float = Field(0.5, ge=0, le=60)  # first backoff; doubles per attempt, with jitter
    models: dict[Annotated[str, Field(min_length=1, max_length=200)], ModelEntry] = Field(default_factory=dict)
    volumes: dict[str, float] = Field(default_factory=dict)
    local_threads: int | None = Field(None, ge=1)
    grade_timeout_s: float = Field(30.0, gt=0, le=3600)  # per grader and output (docs/security.md)


def load_config(root: Path) -> ProjectConfig:
    """Load `tierwise.yaml` from the project root."""
    path = root / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: not found; fix: run `tierwise init` here or pass --project DIR")
    data = read_yaml(path, CONFIG_FILE, ConfigError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG_FILE}: must be a mapping of settings (store, models, ...)")
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, CONFIG_FILE, ProjectConfig, ConfigError) from None
    from ..util import register_catalog_secrets

    register_catalog_secrets(config.models)  # their values never reach the store, a report or a log
    return config
