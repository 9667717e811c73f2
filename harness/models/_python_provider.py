"""The `python:` provider: a function `(vars: dict) -> str` named by import path, sent the case's
variables (not a prompt), run in an abandonable worker with a deadline, free unless priced
(docs/python-candidates.md)."""

from __future__ import annotations

import importlib
import os
import time
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..fingerprint import source_digest
from ._calls import ABSTAINED, CallResult, describe_error
from ._provider import Provider, provider

if TYPE_CHECKING:
    from ._catalog import Candidate, Catalog
    from ._entry import ModelEntry


@provider("python")
class Python(Provider):
    takes_vars = True
    imports_code = True
    # No probabilities, and deterministic (its samples always agree); it can return None.
    signals = frozenset({"abstain", "contract", "check"})
    no_signal = {"confidence": "a python: rule gives no probability for its answer",
                 "agreement": "a python: rule is deterministic: its samples always agree"}

    def identity(self, entry: "ModelEntry") -> dict[str, Any]:
        """Its import path and its source file's digest: an edited rule is another model."""
        return {"kind": "python", "function": entry.ref, "source": source_digest(entry.ref or "")}

    def weights_bytes(self, entry: "ModelEntry") -> int | None:
        return 0

    def resolve(self, cand: "Candidate", config: "Catalog", check_keys: bool) -> None:
        cand.loaded = _load(cand.name, cand.entry.ref or "")

    async def call(self, cand, messages, params, extra, *, retries, backoff_base_s, variables, api_base, api_key):
        return await _call(cand, variables)

    def router_params(self, cand: "Candidate", served_at: str | None) -> tuple[dict[str, Any] | None, str]:
        return None, "is a python: rule, which LiteLLM cannot call"


_LOADED_MTIME: dict[str, int] = {}


def _import_fresh(module_name: str):
    """Import a user module, reloading it when its file changed since it was imported here
    (a notebook or a long-lived process must run the rule as it is now, not as it was)."""
    import sys

    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "__file__", None):
        mtime = os.stat(module.__file__).st_mtime_ns
        if _LOADED_MTIME.get(module_name, mtime) != mtime:
            module = importlib.reload(module)
        _LOADED_MTIME[module_name] = mtime
        return module
    module = importlib.import_module(module_name)
    if getattr(module, "__file__", None):
        _LOADED_MTIME[module_name] = os.stat(module.__file__).st_mtime_ns
    return module


def _load(name: str, path: str):
    """The rule's function, or a ConfigError naming the entry and the fix."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"tierwise.yaml: models.{name}.python: {path!r} must be 'package.module:function'")
    try:
        module = _import_fresh(module_name)
    except ImportError as exc:
        raise ConfigError(f"tierwise.yaml: models.{name}.python: cannot import {module_name!r} ({exc}); "
                          f"fix: check the module path (relative to the project root)") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - user code failing at import is bad input, not a crash
        raise ConfigError(f"tierwise.yaml: models.{name}.python: importing {module_name!r} failed: "
                          f"{type(exc).__name__}: {exc}; fix the module") from None
    fn = getattr(module, attr, None)
    if fn is None:
        raise ConfigError(f"tierwise.yaml: models.{name}.python: {module_name!r} has no {attr!r}")
    if not callable(fn):
        raise ConfigError(f"tierwise.yaml: models.{name}.python: {path!r} is not callable")
    return fn


async def _call(cand: "Candidate", variables: dict[str, Any]) -> CallResult:
    """The rule in an abandonable worker (harness/deadline.py): one that never returns is a
    recorded timeout and holds neither the run nor the process; SystemExit is a recorded error.
    Its value becomes the output by the rule in docs/python-candidates.md."""
    from ..deadline import DeadlineExceeded, UserExit, run_with_deadline

    def timed() -> tuple[Any, float]:
        # Timed inside the worker thread, so waiting for a thread does not count as latency.
        started = time.perf_counter()
        value = cand.loaded(dict(variables))
        return value, (time.perf_counter() - started) * 1000

    try:
        value, latency_ms = await run_with_deadline(timed, cand.timeout_s)
    except DeadlineExceeded as exc:
        return CallResult(attempts=1, error=f"{exc} (timeout_s)", error_type="Timeout")
    except UserExit as exc:
        return CallResult(attempts=1, error=f"{type(exc.original).__name__}: the function {exc}; a python: candidate "
                                            f"must return its answer, not exit", error_type=type(exc.original).__name__)
    except Exception as exc:  # noqa: BLE001 - a crashing rule is a recorded error, not a crash
        return CallResult(attempts=1, error=describe_error(exc), error_type=type(exc).__name__)
    if value is None:  # the rule declines to answer: a cascade's `abstain` signal, graded as no answer
        return CallResult(output=None, finish_reason=ABSTAINED, attempts=1, prompt_tokens=0, completion_tokens=0,
                          latency_ms=latency_ms)
    output, problem = python_output(value)
    if problem is not None:
        return CallResult(attempts=1, error=problem, error_type="TypeError", latency_ms=latency_ms)
    return CallResult(output=output, finish_reason="stop", attempts=1, prompt_tokens=0, completion_tokens=0,
                      latency_ms=latency_ms)


def python_output(value: Any) -> tuple[str | None, str | None]:
    """A python: candidate's return value as output text, or why it cannot be one.

    str: as it is. dict, list, int, float, bool: their JSON text (a json grader parses it;
    3 -> "3", True -> "true"). bytes and anything else: a recorded error, since "b'yes'"
    would be graded as if the rule had answered that. (None never gets here: _call records
    it as an abstention.)
    """
    import json

    if isinstance(value, str):
        return value, None
    if value is None:
        return None, 'returned None; a python: candidate must return a str (return "" for an empty answer)'
    if isinstance(value, (bytes, bytearray)):
        return None, "returned bytes; fix: decode them, e.g. value.decode('utf-8')"
    if isinstance(value, (dict, list, int, float, bool)):
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=False), None
        except (TypeError, ValueError) as exc:
            return None, f"returned a {type(value).__name__} that is not JSON ({exc}); fix: return a str"
    return None, f"returned a {type(value).__name__}; a python: candidate must return a str (or a dict/list as JSON)"
