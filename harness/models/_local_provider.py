"""The `local:` provider: a GGUF model (bundled by name, or a path) run by llama.cpp on this
machine, one request at a time, reached through LiteLLM once its engine serves it (_local.py),
held to a task's contract by a llama.cpp grammar, priced by the compute its tokens take."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _local
from ._calls import litellm_call
from ._provider import Provider, provider, skip
from ._structured import MODES

if TYPE_CHECKING:
    from ._catalog import Candidate, Catalog
    from ._entry import ModelEntry


@provider("local")
class Local(Provider):
    engine = "llama.cpp"
    takes_batch = True

    def identity(self, entry: "ModelEntry") -> dict[str, Any]:
        """Its weights file (size and sha256, or the pinned digest), not its name alone; and the
        batch it decodes in, when more than one (batched answers can differ from sequential ones,
        so they are keyed and evidenced apart; models/_batching.py)."""
        from ._batching import batch_size

        identity = {"kind": "local", "model": entry.ref, "weights": _local.weights_identity(entry.ref or "")}
        if (size := batch_size(entry)) > 1:
            identity["batch"] = size
        return identity

    def weights_bytes(self, entry: "ModelEntry") -> int | None:
        return _local.weights_bytes(entry.ref)

    def resolve(self, cand: "Candidate", config: "Catalog", check_keys: bool) -> None:
        problem = _local.problem(cand.entry.ref)
        if problem:
            skip(cand, problem)
        cand.litellm_model = f"openai/{cand.name}"  # served under its catalog name as the alias

    def concurrency(self, entry: "ModelEntry", configured: int) -> int:
        """One request at a time, or the `batch:` it decodes together (models/_batching.py)."""
        from ._batching import batch_size

        return batch_size(entry)

    def charged_seconds(self, cand: "Candidate", prompt_tokens: int, completion_tokens: int,
                        latency_s: float | None) -> float | None:
        """The machine time its tokens take at the model's rate, not the call's (models/_pricing.py)."""
        from ._pricing import local_seconds

        return local_seconds(cand, prompt_tokens, completion_tokens)

    def forms(self, cand: "Candidate") -> tuple[str | None, str | None]:
        return MODES["grammar"]

    def describe_constraints(self, cand: "Candidate") -> str:
        return "schemas and choices (llama.cpp grammar)"

    async def call(self, cand, messages, params, extra, *, retries, backoff_base_s, variables, api_base, api_key):
        return await litellm_call(cand, messages, params, extra, retries, backoff_base_s, api_base, api_key)

    def router_params(self, cand: "Candidate", served_at: str | None) -> tuple[dict[str, Any] | None, str]:
        if served_at:
            return {"model": cand.litellm_model, "api_base": served_at, "api_key": "none"}, ""
        local = cand.entry.ref or ""
        gguf = local if local.endswith(".gguf") else f"<the .gguf of {local}>"
        return None, (f"is a local llama.cpp model the proxy cannot start; to keep it, serve it under its catalog name "
                      f"(pip install 'llama-cpp-python[server]'; python -m llama_cpp.server --model {gguf} "
                      f"--model_alias {cand.name} --port 8000) and export again with --local-api-base "
                      f"http://127.0.0.1:8000/v1: it is then called as openai/{cand.name} there, with the evaluated "
                      f"constraint")

    def start_engine(self, models: dict[str, str], threads: int | None, in_process: bool = True,
                     note: Any = None) -> Any:
        """llama.cpp in this process (a run), or its OpenAI-compatible server in another (the client)."""
        if in_process:
            return _local.start_local(models, threads=threads, note=note)
        return _local.LocalServer(models, threads=threads).start()
