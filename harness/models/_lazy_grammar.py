"""Grammar-constrained greedy decoding at unconstrained speed, with the same tokens.

llama-cpp-python applies a grammar to the whole vocabulary at every step: for Qwen's 151,936
tokens that halves generation speed (measured here: 17.9 -> 9.5 tokens/s for the 1.5B model,
27.6 -> 14.4 for the 0.5B). llama.cpp's own sampler (common/sampling.cpp) avoids that: it picks
a token without the grammar, asks the grammar about that one token, and only when the grammar
rejects it applies the grammar to the whole vocabulary and picks again.

For greedy decoding (temperature 0) this gives exactly the tokens of applying the grammar first:
the constrained pick is the most likely token among those the grammar allows; if the most likely
token overall is allowed, it is that token; if not, the full pass finds it. Repetition penalties
commute with the grammar (they never lift a token the grammar set to -inf). So this is used only
for greedy decoding without a logits processor; every other call keeps llama-cpp-python's chain.

`LazyGrammarLlama` plugs this in through `Llama._init_sampler`, which `Llama.generate` calls once
per generation (llama-cpp-python 0.3.36, pinned; tests/models/test_lazy_grammar.py checks the
outputs against the plain grammar path on a real model, so an upgrade that changes this breaks
a test, not the results). `Grammar`, the lazy question itself, is also what batched decoding asks
for each sequence's grammar (_batched_decode.py).
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import numpy as np


class Grammar:
    """One generation's llama.cpp grammar, asked lazily: is this one token allowed, and (only when
    it is not) which tokens of the whole vocabulary are. The grammar moves on with `accept`."""

    def __init__(self, llama: Any, grammar: Any):
        import llama_cpp

        self._lib = llama_cpp
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        if not self._grammar:
            raise ValueError("llama.cpp could not parse the grammar")
        self._n = llama.n_vocab()
        # The whole vocabulary's scratch buffer (2.4 MB for Qwen's): made when first needed, which
        # for a batch's sequence is only a step whose free pick the grammar refused.
        self._data: Any = None
        self._single = llama_cpp.llama_token_data()
        self.full_passes = 0  # steps where the grammar rejected the free pick (for tests, benchmarks)
        self.steps = 0

    def candidates(self, logits: Any) -> Any:
        """The whole vocabulary with these logits, as a llama_token_data_array over one buffer."""
        if self._data is None:
            self._data = (self._lib.llama_token_data * self._n)()
            self._view = np.ctypeslib.as_array(self._data)
            self._ids = np.arange(self._n, dtype=np.int32)
        self._view["id"] = self._ids
        self._view["logit"] = logits
        self._view["p"] = 0.0
        return self._lib.llama_token_data_array(data=self._data, size=self._n, selected=-1, sorted=False)

    def allowed(self, token: int) -> bool:
        self._single.id, self._single.logit, self._single.p = token, 1.0, 0.0
        one = self._lib.llama_token_data_array(data=ctypes.pointer(self._single), size=1, selected=-1, sorted=False)
        self._lib.llama_sampler_apply(self._grammar, ctypes.byref(one))
        return not math.isinf(self._single.logit)

    def mask(self, cur: Any) -> None:
        """Set every token the grammar rejects to -inf in `cur` (a candidates() array)."""
        self.full_passes += 1
        self._lib.llama_sampler_apply(self._grammar, ctypes.byref(cur))

    def pick(self, row: np.ndarray) -> int:
        """The greedy token the grammar allows after this row of logits (not yet accepted)."""
        self.steps += 1
        token = int(np.argmax(row))
        if self.allowed(token):
            return token
        self.mask(self.candidates(row))
        return int(np.argmax(self._view["logit"]))

    def accept(self, token: int) -> None:
        self._lib.llama_sampler_accept(self._grammar, token)

    def close(self) -> None:
        if self._grammar:
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class LazyGrammarSampler:
    """Stands in for llama-cpp-python's sampler chain within one generation: `sample` picks
    and accepts a token, as `LlamaSampler.sample` (llama_sampler_sample) does."""

    def __init__(self, llama: Any, chain: Any, grammar: Any):
        import llama_cpp

        self._lib = llama_cpp
        self._chain = chain  # a LlamaSampler: penalties, then greedy (no grammar)
        self.grammar = Grammar(llama, grammar)

    @property
    def full_passes(self) -> int:
        return self.grammar.full_passes

    @property
    def steps(self) -> int:
        return self.grammar.steps

    def sample(self, ctx: Any, idx: int = -1) -> int:
        self.grammar.steps += 1
        n = self.grammar._n
        logits = np.ctypeslib.as_array(self._lib.llama_get_logits_ith(ctx.ctx, idx), shape=(n,))
        cur = self.grammar.candidates(logits)
        self._lib.llama_sampler_apply(self._chain.sampler, ctypes.byref(cur))
        token = int(self.grammar._data[cur.selected].id)
        if not self.grammar.allowed(token):
            cur = self.grammar.candidates(logits)
            self.grammar.mask(cur)
            self._lib.llama_sampler_apply(self._chain.sampler, ctypes.byref(cur))
            token = int(self.grammar._data[cur.selected].id)
        self.grammar.accept(token)
        self._lib.llama_sampler_accept(self._chain.sampler, token)
        return token

    def close(self) -> None:
        self.grammar.close()
        self._chain.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def lazy_llama_class() -> type:
    """llama_cpp.Llama whose greedy, grammar-constrained generations use LazyGrammarSampler."""
    from llama_cpp import Llama

    class LazyGrammarLlama(Llama):
        last_sampler: LazyGrammarSampler | None = None

        def _init_sampler(self, *args: Any, **kwargs: Any) -> Any:
            grammar = kwargs.get("grammar")
            greedy = kwargs.get("temp", 0.80) == 0.0 and not kwargs.get("mirostat_mode")
            if args or grammar is None or not greedy or kwargs.get("logits_processor") is not None:
                return super()._init_sampler(*args, **kwargs)
            chain = super()._init_sampler(**{**kwargs, "grammar": None})
            self.last_sampler = LazyGrammarSampler(self, chain, grammar)
            return self.last_sampler

    return LazyGrammarLlama
