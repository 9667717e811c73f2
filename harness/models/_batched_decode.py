"""Greedy decoding of several chat requests at once in one llama.cpp context (opt-in: `batch:`).

Each request is one sequence id in a context opened beside the model's own (n_seq_max = the
batch, each sequence with n_ctx cells of its own). The prompts' common prefix is evaluated once
and shared (and kept for the next batch, as far as its prompts agree), the rest of the prompts
together, then every llama_decode carries one token per live sequence, so the weights are read
once per step for all of them instead of once per request.

What a request gets is what `Llama.create_chat_completion` gives at temperature 0:
- the prompt comes from llama-cpp-python's own chat handler (the model's chat template, its
  tokenization, its extra stop strings, its stopping criteria): the handler is called with a stand-in whose
  `create_completion` hands back the arguments it was given instead of generating;
- each step picks the most likely token (the greedy sampler) among those the request's grammar
  allows (an output.choices label set as a trie; any other grammar, such as the one
  llama-cpp-python builds from a response_format's JSON schema, by llama.cpp's grammar sampler,
  asked about the free pick first as in _lazy_grammar.py), and the stop rules are those of
  `Llama._create_completion` (0.3.36): an end-of-generation token, a stop string (the text is cut
  before it), max_tokens (None or <= 0: what the context leaves), the context window;
- usage counts the prompt and generated tokens the same way.
Numerics may differ slightly from one sequence at a time (other batch shapes in the matmuls), so
an argmax near a tie can flip; tests/models/test_batched_decode.py measures the share.

Only greedy requests without penalties or log-probabilities come here (_batching.batchable); a request whose chat format brings
stopping criteria other than llama-cpp-python's Jinja2 one fails alone (ValueError), and the
engine then runs it on the sequential path.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class _Captured(Exception):
    def __init__(self, kwargs: dict[str, Any]):
        self.kwargs = kwargs


class _Capture:
    """The Llama, except that create_completion returns the handler's arguments (as an exception)."""

    def __init__(self, llama: Any):
        self._llama = llama

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, **kwargs: Any) -> Any:
        raise _Captured(kwargs)


def chat_prompt(llama: Any, messages: list[dict], params: dict[str, Any]) -> tuple[list[int], list[str], int | None, bool, Any]:
    """The prompt tokens, stop strings and max_tokens create_chat_completion would generate from,
    whether its chat format's stopping criteria end it before the first token, and the grammar
    it would constrain the output with (a response_format's JSON schema becomes one there)."""
    from llama_cpp import llama_chat_format

    handler = (llama.chat_handler or llama._chat_handlers.get(llama.chat_format)
               or llama_chat_format.get_chat_completion_handler(llama.chat_format))
    try:
        handler(llama=_Capture(llama), messages=messages, temperature=0.0, stop=params.get("stop") or [],
                max_tokens=params.get("max_tokens"), response_format=params.get("response_format"),
                grammar=params.get("grammar"))
    except _Captured as got:
        kwargs = got.kwargs
    else:  # pragma: no cover - a handler that generates by other means
        raise ValueError("this model's chat handler does not go through create_completion")
    prompt = list(kwargs["prompt"])
    stop = kwargs.get("stop") or []
    return prompt, [stop] if isinstance(stop, str) else list(stop), kwargs.get("max_tokens"), \
        _stops_at_once(kwargs.get("stopping_criteria"), prompt), kwargs.get("grammar")


def _stops_at_once(criteria: Any, prompt: list[int]) -> bool:
    """Whether the chat format's stopping criteria end the generation before its first token.

    The one llama-cpp-python's Jinja2 formatter adds (`stop_on_last_token`: the last *evaluated*
    token is the end-of-sequence token) can only fire on the prompt's last token: a generated
    end-of-sequence token ends the loop first, as an end-of-generation token. Any other criteria
    are refused, and the request runs alone."""
    if criteria is None:
        return False
    if [getattr(c, "__name__", "") for c in criteria] != ["stop_on_last_token"]:
        raise ValueError("this model's chat format stops by criteria batched decoding does not follow")
    return bool(criteria(np.array(prompt, dtype=np.intc), np.zeros(0, dtype=np.single)))


@dataclass
class Sequence:
    """One request's state, following Llama._create_completion's loop token by token."""

    prompt: list[int]
    stop: list[bytes]
    max_tokens: int
    tokens: list[int] = field(default_factory=list)
    text: bytes | None = None
    finish: str | None = None
    multibyte_fix: int = 0
    cancelled: Any = None  # a callable: True once nobody waits for this sequence
    labels: list[bytes] | None = None  # an output.choices task: the answer is one of these
    grammar: Any = None                # any other grammar: a _lazy_grammar.Grammar
    so_far: bytes = b""                # the text generated so far (for the label trie)

    @property
    def done(self) -> bool:
        return self.finish is not None

    def accept(self, token: int, llama: Any, is_eog: bool) -> None:
        if is_eog:
            self.text, self.finish = llama.detokenize(self.tokens, prev_tokens=self.prompt), "stop"
            return
        self.tokens.append(token)
        if self.grammar is not None:
            self.grammar.accept(token)
        all_text = self.so_far = llama.detokenize(self.tokens, prev_tokens=self.prompt)
        for k, char in enumerate(all_text[-3:]):  # llama-cpp-python's multi-byte guard, as it is
            k = 3 - k
            for num, pattern in ((2, 192), (3, 224), (4, 240)):
                if num > k and pattern & char == pattern:
                    self.multibyte_fix = num - k
        if self.multibyte_fix > 0:
            self.multibyte_fix -= 1
            return
        hits = [s for s in self.stop if s in all_text]
        if hits:
            self.text, self.finish = all_text[: all_text.index(hits[0])], "stop"
        elif len(self.tokens) >= self.max_tokens:
            self.text, self.finish = all_text, "length"

    def close(self) -> None:
        if self.grammar is not None:
            self.grammar.close()


def _sequence(llama: Any, n_ctx: int, messages: list[dict], params: dict[str, Any]) -> Sequence:
    prompt, stop, max_tokens, at_once, grammar = chat_prompt(llama, messages, params)
    if len(prompt) >= n_ctx:
        raise ValueError(f"Requested tokens ({len(prompt)}) exceed context window of {n_ctx}")
    if max_tokens is None or max_tokens <= 0:
        max_tokens = n_ctx - len(prompt)
    max_tokens = min(max_tokens, n_ctx - len(prompt))
    s = Sequence(prompt, [s.encode("utf-8") for s in stop], max_tokens)
    if grammar is not None:
        from ._batching import labels

        choices = labels(grammar)
        if choices is not None:
            s.labels = [c.encode("utf-8") for c in choices]
        else:
            from ._lazy_grammar import Grammar

            s.grammar = Grammar(llama, grammar)
    if at_once:
        s.text, s.finish = b"", "stop"
    return s


class BatchContext:
    """A llama.cpp context for up to `size` sequences of `n_ctx` tokens each, beside `llama`'s own
    (same model weights, same context settings otherwise). close() frees it."""

    def __init__(self, llama: Any, size: int, n_ctx: int):
        import llama_cpp

        self.lib = llama_cpp
        self.llama, self.size, self.n_ctx = llama, size, n_ctx
        params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
        params.n_seq_max = size
        params.n_ctx = size * n_ctx  # room for each sequence's n_ctx tokens (they are capped so)
        # Each sequence in a buffer of its own, as when decoded alone: with one unified buffer the
        # attention sums ran over other sequences' (masked) cells too, and 2 of 4 SmolLM2 titles
        # came out different from sequential decoding; with separate ones, 4 of 4 the same.
        params.kv_unified = False
        params.n_batch = max(params.n_batch, 512)
        self.ctx = llama_cpp.llama_init_from_model(llama._model.model, params)
        if not self.ctx:
            raise MemoryError(f"llama.cpp could not open a context for {size} sequences of {n_ctx} tokens")
        self.n_batch = int(params.n_batch)
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self.vocab = llama._model.vocab
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.threads = 0
        self._pieces: dict[bytes, list[int]] | None = None  # token text -> tokens (label trie)
        self._eog: list[int] = []
        self._kept: tuple[int, list[int]] | None = None  # (sequence id, the tokens its cells hold) after a run

    def allowed(self, s: Sequence) -> list[int]:
        """The tokens a label grammar lets follow `s.so_far`, as llama.cpp's grammar does: a token
        whose text continues some label, or an end-of-generation token once a label is complete."""
        if self._pieces is None:
            self._pieces = {}
            for token in range(self.n_vocab):
                if self.lib.llama_vocab_is_eog(self.vocab, token):
                    self._eog.append(token)
                    continue
                piece = self.llama.detokenize([token])
                if piece:  # llama.cpp's grammar rejects tokens with no text (control tokens)
                    self._pieces.setdefault(piece, []).append(token)
        out: set[int] = set()
        for label in s.labels or ():
            if not label.startswith(s.so_far):
                continue
            rest = label[len(s.so_far):]
            if not rest:
                out.update(self._eog)
            for k in range(1, len(rest) + 1):
                out.update(self._pieces.get(rest[:k], ()))
        return sorted(out)

    def pick(self, row: np.ndarray, s: Sequence) -> int:
        """The greedy token: the most likely one, among those the grammar allows if any."""
        if s.grammar is not None:
            return s.grammar.pick(row)
        if s.labels is None:
            return int(np.argmax(row))
        allowed = self.allowed(s)
        if not allowed:  # the text left every label (a multi-byte split): end it, as a grammar would fail
            return self._eog[0]
        return allowed[int(np.argmax(row[allowed]))]

    def close(self) -> None:
        if self.ctx:
            self.lib.llama_batch_free(self.batch)
            self.lib.llama_free(self.ctx)
            self.ctx = None
            self._kept = None

    def set_threads(self, threads: int) -> None:
        if threads != self.threads:
            self.lib.llama_set_n_threads(self.ctx, threads, threads)
            self.threads = threads

    def _decode(self, entries: list[tuple[int, int, int, bool]], out: dict[int, list[np.ndarray]]) -> None:
        """One llama_decode of (sequence id, position, token, wants logits); the logits rows are
        appended to `out` by sequence, in the entries' order."""
        batch = self.batch
        for i, (seq, pos, token, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        batch.n_tokens = len(entries)
        code = self.lib.llama_decode(self.ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode failed (code {code}) on a batch of {len(entries)} tokens")
        for i, (seq, _pos, _token, logits) in enumerate(entries):
            if logits:
                row = self.lib.llama_get_logits_ith(self.ctx, i)
                out.setdefault(seq, []).append(np.ctypeslib.as_array(row, shape=(self.n_vocab,)).copy())

    def _eval(self, entries: list[tuple[int, int, int, bool]]) -> dict[int, list[np.ndarray]]:
        """The entries in llama_decode calls of at most n_batch tokens (a prompt may span several);
        each sequence's logits rows, in order."""
        rows: dict[int, list[np.ndarray]] = {}
        for start in range(0, len(entries), self.n_batch):
            self._decode(entries[start:start + self.n_batch], rows)
        return rows

    def _reuse(self, seq: int, prefix: list[int]) -> int:
        """How much of `prefix` sequence `seq`'s cells already hold from the previous run (its
        prompt and the tokens it fed), with every other cell removed; 0 when none (all cleared).
        Consecutive batches, and consecutive single requests, share their instructions: the
        previous run's are kept, as llama-cpp-python keeps the previous call's."""
        kept, self._kept = self._kept, None
        n = 0
        if kept is not None and kept[0] == seq:
            n = next((i for i, (a, b) in enumerate(zip(kept[1], prefix)) if a != b), min(len(kept[1]), len(prefix)))
        if n and self.lib.llama_memory_seq_rm(self.memory, seq, n, -1):
            for other in range(self.size):
                if other != seq:
                    self.lib.llama_memory_seq_rm(self.memory, other, -1, -1)
            return n
        self.lib.llama_memory_clear(self.memory, True)
        return 0

    def run(self, sequences: list[Sequence]) -> None:
        """Prefill every sequence, then decode greedily, one token per live sequence per step.

        The prompts' common prefix (the system message, few-shot examples) is evaluated once, in
        the first sequence, and its cells are shared with the others (llama_memory_seq_cp): the
        same tokens at the same positions, so the same keys and values. What the previous run
        left in that sequence is reused as far as it agrees (`_reuse`)."""
        live = [seq for seq, s in enumerate(sequences) if not s.done]
        if not live:
            return
        first = sequences[live[0]].prompt
        shared = _common_prefix([sequences[seq].prompt for seq in live])
        reused = self._reuse(live[0], first[:shared])
        self._eval([(live[0], pos, first[pos], False) for pos in range(reused, shared)])
        if shared:  # a copy moves a sequence's whole buffer (kv_unified off): only when it holds something shared
            for seq in live[1:]:
                self.lib.llama_memory_seq_cp(self.memory, live[0], seq, -1, -1)
        rows = self._eval([(seq, pos, sequences[seq].prompt[pos], pos == len(sequences[seq].prompt) - 1)
                           for seq in live for pos in range(shared, len(sequences[seq].prompt))])
        position = [len(s.prompt) for s in sequences]  # the cells each sequence holds
        while True:
            entries = []
            for seq, s in enumerate(sequences):
                if s.done:
                    continue
                if s.cancelled is not None and s.cancelled():
                    s.finish = "cancelled"
                    continue
                token = self.pick(rows[seq][-1], s)
                s.accept(token, self.llama, bool(self.lib.llama_vocab_is_eog(self.vocab, token)))
                if not s.done:
                    entries.append((seq, position[seq], token, True))
                    position[seq] += 1
            if not entries:
                break
            rows = self._eval(entries)
        s = sequences[live[0]]
        self._kept = (live[0], (s.prompt + s.tokens)[:position[live[0]]])


def _common_prefix(prompts: list[list[int]]) -> int:
    """The length of the prefix every prompt shares, leaving each at least its last token (whose
    logits start its generation); one prompt shares all but that token with itself."""
    n = min(len(p) for p in prompts) - 1
    first = prompts[0]
    for i in range(max(n, 0)):
        if any(p[i] != first[i] for p in prompts[1:]):
            return i
    return max(n, 0)


def completion(llama: Any, s: Sequence, model: str) -> dict[str, Any]:
    """The chat completion create_chat_completion returns for a finished sequence."""
    from llama_cpp import llama_chat_format

    text = (s.text or b"").decode("utf-8", errors="ignore")
    done = {"id": f"cmpl-{uuid.uuid4()}", "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": s.finish}],
            "usage": {"prompt_tokens": len(s.prompt), "completion_tokens": len(s.tokens),
                      "total_tokens": len(s.prompt) + len(s.tokens)}}
    return llama_chat_format._convert_completion_to_chat(done, stream=False)


def decode_batch(context: BatchContext, requests: list[tuple[list[dict], dict[str, Any], Any]]) -> list[Any]:
    """Each request's chat completion, or the exception that request alone raised.

    A request whose prompt cannot be built (too long, a chat format that stops by its own rules)
    fails alone; the others are decoded together."""
    llama = context.llama
    results: list[Any] = [None] * len(requests)
    sequences: list[Sequence] = []
    index: list[int] = []
    try:
        for i, (messages, params, cancelled) in enumerate(requests):
            try:
                s = _sequence(llama, context.n_ctx, messages, params)
            except Exception as exc:  # noqa: BLE001 - this request's failure, reported to it alone
                results[i] = exc
                continue
            s.cancelled = cancelled
            sequences.append(s)
            index.append(i)
        if sequences:
            context.run(sequences)
            for i, s in zip(index, sequences):
                results[i] = completion(llama, s, llama.model_path)
    finally:
        for s in sequences:
            s.close()  # each grammar's llama.cpp sampler
    return results
