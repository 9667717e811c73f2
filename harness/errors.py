"""The one small exception tree. The CLI prints a TierwiseError as one line and exits with its
`exit_code`: 2 for bad input or configuration, 3 when something outside the input failed."""

from __future__ import annotations


class TierwiseError(Exception):
    """Bad input or configuration: the message says what, where and how to fix it."""

    exit_code = 2


class ConfigError(TierwiseError):
    """tierwise.yaml (the catalog, store, defaults) is wrong."""


class SpecError(TierwiseError):
    """An eval spec (evals/<task>.yaml) is wrong."""


class GoldenSetError(TierwiseError):
    """A golden set (golden_sets/<task>.jsonl) is wrong."""


class GraderError(SpecError):
    """A grader is unknown or has bad options."""


class StoreError(TierwiseError):
    """The results store cannot be opened or has an unknown schema."""


class RegistryError(TierwiseError):
    """registry.yaml or its evidence is missing or malformed."""


class EnvironmentFailure(TierwiseError):
    """Not bad input: something the command needs failed here (a local model's process died or did
    not start, git is missing, the store is unreachable). Exit code 3; re-running may succeed."""

    exit_code = 3


class MissingDependency(TierwiseError):
    """An optional dependency is not installed; the message gives the pip line."""

    def __init__(self, package: str, extra: str | None = None, why: str = ""):
        fix = f"pip install 'tierwise[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{package} is not installed{': ' + why if why else ''}; fix: {fix}")


class OutputError(TierwiseError):
    """A file or folder Tierwise was asked to write (report --out, gate --junit) cannot be written."""


class UsageError(TierwiseError):
    """A usage ledger or usage export (`tierwise audit`) is missing or malformed."""
