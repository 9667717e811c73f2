"""What one llama.cpp decoding step costs on this machine, by how many tokens it carries.

Speeding up greedy generation without changing the model comes down to carrying more than one
token per step: several sequences at once (batched decoding, `batch:`) or several guessed tokens
of one sequence (speculative decoding, checked against the model's own picks). Either pays only
when a step of k tokens costs much less than k steps of one, which holds when reading the weights
bounds a step, not the arithmetic. This prints, for one model and thread count, in one process:

- prompt evaluation (a prompt of --prompt tokens in one go): milliseconds a token, the floor;
- a step of k tokens of one sequence (what checking k-1 guesses costs);
- a step of one token for each of k sequences (what a batch of k costs);

with each step's milliseconds a token and its gain over a step of one (the most any scheme built
on such steps can speed generation up: at full acceptance, with every sequence live).

    python benchmarks/decode_steps.py [--model qwen2.5-coder-0.5b-instruct] [--threads 2]

Measured here on 2026-12-06 (2-core AMD EPYC, AVX2, no AVX-512; llama-cpp-python 0.3.36; 2
threads; nothing else running; the median of 4 steps after a 200-token context):

    qwen2.5-coder-0.5b-instruct: prompt 7.6 ms a token
    | tokens in the step | one sequence, k tokens: ms a token (gain) | k sequences, 1 token each: ms a token (gain) |
    | 1  | 21.5 (1.01x) | 22.2 (0.99x) |
    | 2  | 21.4 (1.02x) | 21.7 (1.01x) |
    | 4  | 15.8 (1.38x) | 16.4 (1.34x) |
    | 8  | 14.0 (1.56x) | 14.5 (1.51x) |
    | 16 | 11.5 (1.89x) | 12.0 (1.82x) |
    | 32 | 10.6 (2.06x) | 11.4 (1.92x) |
    | 64 | 10.6 (2.06x) | 11.2 (1.96x) |

    qwen2.5-coder-1.5b-instruct (an earlier run of the same steps): prompt 16.3 ms a token; one
    token 43.8-48.6 ms; 16 sequences 24.7 ms a token (1.77x), 32: 22.3 (1.96x), 64: 21.0 (2.09x);
    one sequence, 17 tokens: 28.7 (1.69x).

So on this CPU a step's cost grows nearly with its tokens up to a few, and the best any step
reaches is about 2x a single token's cost per token, at 32 to 64 tokens: 2x the cases/s of
one-at-a-time decoding is out of reach for whole cases, whose prompt evaluation is already at
the floor either way. Speculative decoding loses outright unless nearly all of 8 or more
guesses come true: prompt-lookup guesses (the text's last 3 or 2 tokens looked up in the prompt
and the output so far, 8 a step) on 12 contact extractions with Qwen 0.5B came true 147 times of
683 and ran 0.55 cases/s against 0.77 without guesses (tried here, not kept).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b-instruct", help="a bundled `local:` name or a .gguf path")
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--prompt", type=int, default=200, help="context tokens before the measured steps")
    ap.add_argument("--sizes", default="1,2,4,8,16,32,64")
    ap.add_argument("--repeat", type=int, default=4, help="steps per size; the median is shown")
    ap.add_argument("--smoke", action="store_true", help="SmolLM2, a 20-token context, sizes 1,2,4")
    args = ap.parse_args()
    if args.smoke:
        args.model, args.prompt, args.sizes, args.repeat = "smollm2-135m-instruct", 20, "1,2,4", 2
    from harness.models._batched_decode import BatchContext
    from harness.models._lazy_grammar import lazy_llama_class
    from harness.models._local import weights_path

    sizes = [int(k) for k in args.sizes.split(",")]
    n_ctx = -(-(args.prompt + max(sizes) + 8) // 256) * 256  # llama.cpp pads a context to 256 cells
    llama = lazy_llama_class()(model_path=str(weights_path(args.model)), n_ctx=n_ctx, n_threads=args.threads,
                               n_threads_batch=args.threads, verbose=False)
    context = BatchContext(llama, max(sizes), n_ctx)
    context.set_threads(args.threads)
    text = b"Extract the sender's name, company, email and phone from the signature as JSON. " * 40
    prompt = llama.tokenize(text)[:args.prompt]
    started = time.perf_counter()
    context._eval([(0, pos, token, pos == len(prompt) - 1) for pos, token in enumerate(prompt)])
    prompt_ms = 1000 * (time.perf_counter() - started) / len(prompt)
    for seq in range(1, max(sizes)):
        context.lib.llama_memory_seq_cp(context.memory, 0, seq, -1, -1)
    at = len(prompt)
    context._eval([(0, at, prompt[0], True)])  # untimed: the copies above are carried out here
    context.lib.llama_memory_seq_rm(context.memory, 0, at, -1)

    def step(entries: list[tuple[int, int, int, bool]]) -> float:
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            context._eval(entries)
            times.append(time.perf_counter() - began)
            for seq in {e[0] for e in entries}:  # back to the 200-token context for the next try
                context.lib.llama_memory_seq_rm(context.memory, seq, at, -1)
        return 1000 * statistics.median(times)

    print(f"{args.model}: {args.threads} thread(s), a {len(prompt)}-token context; prompt {prompt_ms:.1f} ms a token")
    print("| tokens in the step | one sequence, k tokens: ms a token (gain) | k sequences, 1 token each: ms a token (gain) |")
    print("|---:|---:|---:|")
    single = None
    for k in sizes:
        chain = step([(0, at + i, prompt[i % len(prompt)], True) for i in range(k)]) / k
        wide = step([(seq, at, prompt[seq % len(prompt)], True) for seq in range(k)]) / k
        single = single or (chain + wide) / 2
        print(f"| {k} | {chain:.1f} ({single / chain:.2f}x) | {wide:.1f} ({single / wide:.2f}x) |")
    context.close()
    llama.close()


if __name__ == "__main__":
    main()
