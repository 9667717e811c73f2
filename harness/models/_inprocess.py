"""Local GGUF models in this process: a LiteLLM custom provider around llama_cpp.Llama.

Calls still go through `litellm.acompletion` (the product's one call path), with the model
string `tierwise-local/<alias>`; LiteLLM hands them to the provider registered here, which
runs llama.cpp in this process instead of behind an HTTP server in another one. On a small
machine that matters: the server process and the client competed for the same cores, and
each call paid for HTTP, JSON and the server's own request handling.

Generation runs on one worker thread, so the event loop stays free for grading and writing
results, and the Llama object is never used by two calls at once. Models stay loaded while they
fit (least recently used out first); calls should still be grouped by model (the runner does).
A model with `batch: N` decodes up to N greedy calls together (_batching.py, _batched_decode.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import ConfigError, MissingDependency, TierwiseError

if TYPE_CHECKING:
    from ._catalog import Candidate

PROVIDER = "tierwise-local"

# What llama_cpp.Llama.create_chat_completion accepts from an OpenAI-style request; anything
# else is dropped, as LiteLLM drops a parameter a provider lacks (litellm.drop_params).
_PASSED = ("temperature", "top_p", "top_k", "min_p", "stop", "seed", "max_tokens", "presence_penalty",
           "frequency_penalty", "repeat_penalty", "response_format", "logit_bias", "logprobs", "top_logprobs")


class LocalModels:
    """Local models served in this process, each reached through LiteLLM as `tierwise-local/<alias>`.

    Use as a context manager, or start() then stop(). Same role as LocalServer: the runner
    asks `route(cand)` for the candidate and call arguments to hand to `complete()`.
    """

    _ids = itertools.count(1)

    def __init__(self, models: dict[str, str], threads: int | None = None, n_ctx: int = 2048,
                 note: Callable[[str], None] | None = None):
        from ._threads import ThreadGovernor, default_threads

        self.models = models  # alias -> `local:` value
        self.threads = threads or default_threads()
        # A count the user set is kept; the default follows the machine (models/_threads.py).
        self.governor = None if threads else ThreadGovernor(self.threads, note)
        self.n_ctx = n_ctx
        self.paths: dict[str, Path] = {}
        self._key = f"run{next(self._ids)}"  # several engines in one process stay apart
        self._executor: ThreadPoolExecutor | None = None
        # Models stay loaded, least recently used first out, while their weights fit in the
        # resident budget: a run across tasks and rounds swaps models back and forth otherwise
        # (an adaptive run of four models spent 42 s of 201 s on 22 loads).
        self._resident: OrderedDict[str, Any] = OrderedDict()
        self.resident_budget = resident_budget()
        self.load_s: dict[str, float] = {}
        self.loads = 0
        self.batch: dict[str, int] = {}          # alias -> requests decoded together (route() sets it)
        self._batchers: dict[str, tuple] = {}    # alias -> (event loop, _batching.Batcher)
        self._contexts: dict[str, Any] = {}      # weights path -> _batched_decode.BatchContext

    def start(self) -> "LocalModels":
        """Check llama_cpp imports, find (assemble, verify) every model's weights, register the provider."""
        from ._local import weights_path

        try:
            import llama_cpp  # noqa: F401 - fail here, with the fix, not on the first call
        except ImportError:
            raise MissingDependency("llama-cpp-python", "local", "local models run on it") from None
        self.paths = {alias: weights_path(local) for alias, local in self.models.items()}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tierwise-llama")
        _provider().engines[self._key] = self
        return self

    def stop(self) -> None:
        _provider().engines.pop(self._key, None)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._unload()

    def __enter__(self) -> "LocalModels":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route(self, cand: "Candidate") -> tuple["Candidate", dict[str, Any]]:
        """The candidate to hand to complete() (its LiteLLM model string pointed here) and its call arguments."""
        from ._batching import batch_size

        self.batch[cand.name] = batch_size(cand.entry)
        return dataclasses.replace(cand, litellm_model=f"{PROVIDER}/{self._key}/{cand.name}"), {}

    # -- on the worker thread -------------------------------------------------------------
    def _model(self, alias: str, logits_all: bool = False) -> Any:
        # Keyed by the weights file, not the alias: a judge that is the same model as a
        # candidate (local-judge and qwen-1.5b in the example) shares one load and its cache.
        # llama.cpp gives log-probabilities only from a model loaded to keep every position's
        # logits, which costs a full-vocabulary projection per prompt token (Qwen's 152k-token
        # vocabulary: Qwen 0.5B's plain calls 1.2x slower on relevance prompts,
        # benchmarks/logits_all.py). So a call that asks for them (a confidence stage) gets an
        # instance of its own, and every other call of the model keeps the plain one; the
        # weights are memory-mapped, shared by the two.
        path = str(self.paths[alias])
        key = path + _LOGITS_ALL if logits_all else path
        if key in self._resident:
            self._resident.move_to_end(key)
            return self._resident[key]
        from ._lazy_grammar import lazy_llama_class

        needed = _footprint(key)
        while self._resident and sum(map(_footprint, self._resident)) + needed > self.resident_budget:
            self._close(*self._resident.popitem(last=False))
        _quiet_notes()
        started = time.perf_counter()
        llama = lazy_llama_class()(model_path=path, n_ctx=self.n_ctx, n_threads=self.threads,
                                   n_threads_batch=self.threads, verbose=False, logits_all=logits_all)
        self._resident[key] = llama
        self.loads += 1
        self.load_s[alias] = time.perf_counter() - started
        return llama

    def _unload(self) -> None:
        while self._resident:
            self._close(*self._resident.popitem(last=False))

    def _close(self, path: str, llama: Any) -> None:
        context = self._contexts.pop(path, None)
        if context is not None:  # the batch context uses the model's weights: freed first
            context.close()
        llama.close()

    def _generate_batch(self, alias: str, requests: list[tuple[list[dict], dict[str, Any], Any]]) -> list[Any]:
        """Greedy-decode several requests together (on the worker thread); each gets its
        (result, milliseconds) or its own exception. A request the batch cannot take (a chat
        format with its own stopping rules), or a batch llama.cpp refuses, runs one at a time."""
        from ._batched_decode import BatchContext, decode_batch

        model = self._model(alias)
        path = str(self.paths[alias])
        context = self._contexts.get(path)
        if context is None or context.size < len(requests):
            if context is not None:
                context.close()
            context = self._contexts[path] = BatchContext(model, max(self.batch.get(alias, 1), len(requests)),
                                                          self.n_ctx)
        key = f"{alias} (batched)"  # its pace per token is not the sequential one's
        context.set_threads(self.governor.threads(key) if self.governor is not None else self.threads)
        started = time.perf_counter()
        try:
            results = decode_batch(context, requests)
        except Exception:  # noqa: BLE001 - the batch as a whole: each request alone instead
            results = [None] * len(requests)
        seconds = time.perf_counter() - started
        done = [r for r in results if isinstance(r, dict)]
        if self.governor is not None and done:
            self.governor.observe(key, seconds, sum(r["usage"]["prompt_tokens"] for r in done),
                                  sum(r["usage"]["completion_tokens"] for r in done))
        out: list[Any] = []
        for (messages, params, cancelled), result in zip(requests, results):
            if isinstance(result, dict):
                out.append((result, seconds * 1000))
            elif cancelled():
                out.append(TierwiseError("cancelled"))
            else:
                try:
                    out.append(self._generate(alias, messages, params))
                except Exception as exc:  # noqa: BLE001 - this request's own failure
                    out.append(exc)
        return out

    def _generate(self, alias: str, messages: list[dict], params: dict[str, Any]) -> tuple[dict[str, Any], float]:
        model = self._model(alias, logits_all=bool(params.get("logprobs")))
        if self.governor is not None:
            self._set_threads(model, self.governor.threads(alias))
        started = time.perf_counter()  # the generation alone: not the wait for this thread, nor a load
        result = model.create_chat_completion(messages=messages, **params)
        seconds = time.perf_counter() - started
        if self.governor is not None:
            usage = result.get("usage") or {}
            self.governor.observe(alias, seconds, int(usage.get("prompt_tokens") or 0),
                                  int(usage.get("completion_tokens") or 0))
        return result, seconds * 1000

    @staticmethod
    def _set_threads(model: Any, threads: int) -> None:
        if getattr(model, "n_threads", None) != threads:
            model._ctx.set_n_threads(threads, threads)
            model.n_threads = model.n_threads_batch = threads
            model.context_params.n_threads = model.context_params.n_threads_batch = threads

    async def generate(self, alias: str, messages: list[dict], params: dict[str, Any]) -> dict[str, Any]:
        if alias not in self.paths:
            raise TierwiseError(f"local model {alias!r} is not part of this run; known: {', '.join(self.paths)}")
        if self._executor is None:
            raise TierwiseError("the in-process local models were stopped")
        from ._timing import record

        from ._batching import Batcher, batchable

        loop = asyncio.get_running_loop()
        size = self.batch.get(alias, 1)
        if size > 1 and batchable(params):
            # One queue per model and event loop: a run's parts may each run their own loop.
            owner, batcher = self._batchers.get(alias, (None, None))
            if owner is not loop:
                batcher = Batcher(size, lambda requests: self._generate_batch(alias, requests),
                                  lambda decode, requests: loop.run_in_executor(self._executor, decode, requests))
                self._batchers[alias] = (loop, batcher)
            result, ms = await batcher.submit(messages, params)
        else:
            result, ms = await loop.run_in_executor(self._executor, self._generate, alias, messages, params)
        record(ms)
        return result


def resident_budget(meminfo: Path = Path("/proc/meminfo")) -> int:
    """Bytes of weights the in-process engine keeps loaded at once: half the memory available
    now (the four ladder models and the judge need about 3 GB), or one model where it is unknown.
    TIERWISE_RESIDENT_MB sets it (megabytes, a whole number; 0 keeps one model at a time)."""
    import os

    setting = os.environ.get("TIERWISE_RESIDENT_MB", "").strip()
    if setting:
        try:
            megabytes = int(setting)
        except ValueError:
            megabytes = -1
        if megabytes < 0:
            # Read when a run starts its local models, before any is loaded: refused like any
            # other bad configuration, not ignored (a typo silently fell back to the default).
            raise ConfigError(f"environment variable TIERWISE_RESIDENT_MB={setting!r} is not a whole number of "
                              f"megabytes >= 0; fix: set it to e.g. 2048 (0 keeps one model loaded at a time), "
                              f"or unset it to use half the available memory")
        return megabytes * 2**20
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 // 2
    except (OSError, ValueError, IndexError):
        pass
    return 0  # unknown: one model at a time, as before


_LOGITS_ALL = " (logits_all)"  # the resident key of a model's instance that keeps every position's logits


def _footprint(key: str) -> int:
    """The memory a loaded model takes: its weights and about 64 MB of context and buffers
    (a logits_all instance counted as the same again: conservative, its weights are shared)."""
    try:
        return Path(key.removesuffix(_LOGITS_ALL)).stat().st_size + 64 * 2**20
    except OSError:
        return 0


# Lines llama.cpp logs at error level that are notes: llama-cpp-python prints error-level lines
# even with verbose=False, so Gemma 3's load would print this one on every run.
_NOTES = (b"llama_kv_cache_iswa: using full-size SWA cache",)


_LOG_LOCK = threading.Lock()
_LOG_CALLBACK: Any = None  # llama.cpp holds a pointer to it: it must live as long as the process


def _quiet_notes() -> Any:
    """Route llama.cpp's log through llama-cpp-python's own callback, minus the _NOTES lines
    (installed once per process; engines on other threads may ask at the same time)."""
    global _LOG_CALLBACK
    with _LOG_LOCK:
        if _LOG_CALLBACK is None:
            import ctypes

            import llama_cpp
            from llama_cpp import _logger

            @llama_cpp.llama_log_callback
            def callback(level: int, text: bytes, user_data: Any) -> None:
                if not text.startswith(_NOTES):
                    _logger.llama_log_callback(level, text, user_data)

            _LOG_CALLBACK = callback
            llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
        return _LOG_CALLBACK


def llama_params(optional_params: dict[str, Any]) -> dict[str, Any]:
    """create_chat_completion arguments from LiteLLM's optional params (extra_body included)."""
    merged = {k: v for k, v in optional_params.items() if k != "extra_body"}
    merged.update(optional_params.get("extra_body") or {})
    if merged.get("max_tokens") is None and merged.get("max_completion_tokens") is not None:
        merged["max_tokens"] = merged["max_completion_tokens"]
    params = {k: merged[k] for k in _PASSED if merged.get(k) is not None}
    fmt = params.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        # llama-cpp-python constrains `json_object` with a schema; map OpenAI's json_schema onto it.
        params["response_format"] = {"type": "json_object", "schema": (fmt.get("json_schema") or {}).get("schema", {})}
    if merged.get("grammar"):
        params["grammar"] = _grammar(merged["grammar"])
    if params.get("logprobs"):
        # llama-cpp-python's chat completion returns log-probabilities only with top_logprobs set
        # (it passes `top_logprobs if logprobs else None` on); 0 asks for the chosen tokens' alone.
        params.setdefault("top_logprobs", 0)
    else:
        params.pop("logprobs", None)
        params.pop("top_logprobs", None)
    return params


@lru_cache(maxsize=64)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


_PROVIDER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _provider() -> Any:
    """The provider instance, registered once in litellm.custom_provider_map."""
    from ._litellm import litellm

    lite = litellm()
    from litellm import CustomLLM, ModelResponse

    class LlamaCppProvider(CustomLLM):
        """`tierwise-local/<engine>/<alias>`: llama.cpp in this process."""

        def __init__(self) -> None:
            super().__init__()
            self.engines: dict[str, LocalModels] = {}

        async def acompletion(self, model: str, messages: list, *args: Any, optional_params: dict | None = None,
                              model_response: Any = None, **kwargs: Any) -> Any:
            key, _, alias = model.partition("/")
            engine = self.engines.get(key)
            if engine is None:
                raise TierwiseError(f"no in-process local models are running for {model!r}")
            result = await engine.generate(alias, messages, llama_params(optional_params or {}))
            result["model"] = model
            response = ModelResponse(**result)
            # Tierwise prices local calls by their compute time (models/_pricing.py); a cost
            # stamped here spares LiteLLM's lookup of an unknown model on every call (4 ms).
            response._hidden_params["response_cost"] = 0.0
            return response

        def completion(self, *args: Any, **kwargs: Any) -> Any:
            raise TierwiseError("tierwise-local models are called with litellm.acompletion")

    with _PROVIDER_LOCK:
        provider = LlamaCppProvider()
        lite.custom_provider_map = [p for p in lite.custom_provider_map if p.get("provider") != PROVIDER]
        lite.custom_provider_map.append({"provider": PROVIDER, "custom_handler": provider})
    return provider
