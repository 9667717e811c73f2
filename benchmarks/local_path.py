"""Tierwise's local-model path against plain llama-cpp-python, same model, prompts and grammar.

Plain: one `llama_cpp.Llama`, `create_chat_completion` in a loop, output constrained to the
labels by a GBNF grammar, the model loaded before the clock starts. Tierwise: `tierwise run`
of a one-task project with the same system prompt, the same reviews and `output: {choices}`
(so the same grammar), timed end to end: plan, model load, calls through LiteLLM, grading,
SQLite writes. Prints cases/s for each, the ratio (goal >= 0.9) and how often the two
answered alike (temperature 0: they should agree on every case).

    python benchmarks/local_path.py [--model smollm2-135m-instruct] [--cases 200] [--server]

--server also times the older path (llama-cpp-python's server in a subprocess, via LiteLLM).

Each side of each round runs in a fresh process, as a user runs it: in one process, a plain
Llama driven from the main thread left llama.cpp's OpenMP team of that thread behind, and the
in-process path (generating on a worker thread) then ran 30-40% slower than alone (measured:
9.2 cases/s first, 5.5 after the plain run), which is the benchmark's artifact, not the path's.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SYSTEM = "Classify the sentiment of the product or app review. Answer with one word: positive or negative."
LABELS = ["positive", "negative"]
SUBJECTS = ["The battery", "This app", "The delivery", "Customer support", "The camera", "The keyboard",
            "The new update", "The checkout page", "This blender", "The headphones", "The manual",
            "The price", "The screen", "The login flow", "The charger", "The search feature", "The strap",
            "The installer", "The speaker", "The packaging"]
GOOD = ["works perfectly every single day", "exceeded what I hoped for", "is fast and reliable",
        "made my week so much easier", "is worth every penny"]
BAD = ["stopped working after a week", "is slow and keeps crashing", "broke the first time I used it",
       "was a complete waste of money", "is confusing and badly designed"]


def reviews(n: int) -> list[tuple[str, str]]:
    """n distinct one-sentence reviews with their labels, alternating positive and negative."""
    combos = itertools.cycle(itertools.product(SUBJECTS, range(len(GOOD))))
    out = []
    for i, (subject, k) in zip(range(n), combos):
        label = LABELS[i % 2]
        phrase = (GOOD if label == "positive" else BAD)[k]
        out.append((f"{subject} {phrase}{'.' if i % 3 else '!'}" + (" Honestly." if i >= 200 else ""), label))
    return out


def plain(model_path: Path, cases: list[tuple[str, str]], threads: int) -> tuple[float, list[str]]:
    from llama_cpp import Llama, LlamaGrammar

    from harness.models._local import choices_grammar

    llm = Llama(model_path=str(model_path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
    grammar = LlamaGrammar.from_string(choices_grammar(LABELS), verbose=False)

    def ask(text: str) -> str:
        reply = llm.create_chat_completion(messages=[{"role": "system", "content": SYSTEM},
                                                     {"role": "user", "content": text}],
                                           temperature=0, max_tokens=len(max(LABELS, key=len)) + 1, grammar=grammar)
        return reply["choices"][0]["message"]["content"]

    ask("warm-up")
    started = time.perf_counter()
    outputs = [ask(text) for text, _ in cases]
    elapsed = time.perf_counter() - started
    llm.close()
    return len(cases) / elapsed, outputs


def tierwise(local: str, cases: list[tuple[str, str]], threads: int) -> tuple[float, list[str]]:
    from harness import load_project, results, run

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "evals").mkdir()
        (root / "golden_sets").mkdir()
        (root / "tierwise.yaml").write_text(json.dumps({"local_threads": threads,
                                                          "models": {"m": {"local": local, "price": {"per_hour": 0.05}}}}))
        (root / "evals" / "bench.yaml").write_text(json.dumps({
            "task": "bench", "golden_set": "golden_sets/bench.jsonl",
            "prompt": {"system": SYSTEM, "user": "{{ review }}"}, "output": {"choices": LABELS},
            "params": {"temperature": 0, "max_tokens": 4}, "graders": [{"type": "choice"}],
            "threshold": 0.5, "candidates": ["m"]}))
        (root / "golden_sets" / "bench.jsonl").write_text("".join(
            json.dumps({"id": f"c{i:04d}", "vars": {"review": text}, "expected": label}) + "\n"
            for i, (text, label) in enumerate(cases)))
        project = load_project(root)
        started = time.perf_counter()
        out = run(project, progress=False)
        elapsed = time.perf_counter() - started
        assert out.counts.called == len(cases) and out.counts.errors == 0, out.counts
        frame = results(project).sort_values("case_id")
        return len(cases) / elapsed, list(frame["output"])


def interleaved(local: str, model_path: Path, cases: list[tuple[str, str]], threads: int) -> tuple[float, float, int]:
    """Plain call, then the same call through LiteLLM to the in-process provider, case by case.

    Alternating call by call cancels the drift of a shared machine that whole-run rounds suffer;
    it measures the call path alone (no plan, grading or store). Returns both cases/s and how
    many answers agreed.
    """
    import asyncio

    from llama_cpp import Llama, LlamaGrammar

    from harness.models._inprocess import LocalModels
    from harness.models._litellm import litellm
    from harness.models._local import choices_grammar

    llm = Llama(model_path=str(model_path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
    text_grammar = choices_grammar(LABELS)
    grammar = LlamaGrammar.from_string(text_grammar, verbose=False)
    max_tokens = len(max(LABELS, key=len)) + 1

    def messages(text: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]

    async def go() -> tuple[float, float, int]:
        with LocalModels({"m": local}, threads=threads) as engine:
            model = f"tierwise-local/{engine._key}/m"

            async def ours(text: str) -> str:
                reply = await litellm().acompletion(model=model, messages=messages(text), temperature=0,
                                                    max_tokens=max_tokens, extra_body={"grammar": text_grammar})
                return reply.choices[0].message.content

            def base(text: str) -> str:
                return llm.create_chat_completion(messages=messages(text), temperature=0, max_tokens=max_tokens,
                                                  grammar=grammar)["choices"][0]["message"]["content"]

            await ours("warm-up")
            base("warm-up")
            t_base = t_ours = 0.0
            same = 0
            for text, _ in cases:
                started = time.perf_counter()
                a = base(text)
                t_base += time.perf_counter() - started
                started = time.perf_counter()
                b = await ours(text)
                t_ours += time.perf_counter() - started
                same += a == b
            return len(cases) / t_base, len(cases) / t_ours, same

    try:
        return asyncio.run(go())
    finally:
        llm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="a bundled `local:` name")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=1, help="alternating plain/tierwise rounds; medians reported")
    parser.add_argument("--server", action="store_true", help="also time the server-subprocess path")
    parser.add_argument("--_side", choices=["plain", "tierwise"], help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py) (needs llama.cpp)")
    args = parser.parse_args()
    if args.smoke:
        args.cases, args.rounds, args.server = 4, 1, False
    from harness.models import _local

    cases = reviews(args.cases)
    path = _local.weights_path(args.model)
    if args._side:  # one side of one round, in this fresh process: print its figures as JSON
        if args._side == "plain":
            rate, outputs = plain(path, cases, args.threads)
        else:
            import harness.runner._runner  # noqa: F401 - one-off imports are not throughput
            import harness.store._store  # noqa: F401
            from harness.models._litellm import litellm

            litellm()
            rate, outputs = tierwise(args.model, cases, args.threads)
        print(json.dumps({"rate": rate, "outputs": outputs}))
        return
    import harness.runner._runner  # noqa: F401 - one-off imports (pandas, SQLAlchemy, LiteLLM) are not throughput
    import harness.store._store  # noqa: F401
    from harness.models._litellm import litellm

    litellm()
    bases, ourses = [], []
    for _ in range(args.rounds):  # alternate, so drift on a shared machine hits both alike
        base, base_out = _side("plain", args)
        ours, our_out = _side("tierwise", args)
        bases.append(base)
        ourses.append(ours)
    base, ours = statistics.median(bases), statistics.median(ourses)
    truth = [label for _, label in cases]
    print(f"model {args.model}, {args.cases} reviews, {args.threads} threads, grammar-constrained to {LABELS}, "
          f"{args.rounds} round(s)")
    print(f"plain llama-cpp-python:    {base:6.2f} cases/s  accuracy {_acc(base_out, truth):.3f}  (model loaded first; "
          f"rounds {', '.join(f'{x:.2f}' for x in bases)})")
    print(f"tierwise run (in-process): {ours:6.2f} cases/s  accuracy {_acc(our_out, truth):.3f}  "
          f"(end to end: load, calls via LiteLLM, grading, SQLite; rounds {', '.join(f'{x:.2f}' for x in ourses)})")
    print(f"ratio tierwise / plain:    {ours / base:6.3f}  (goal >= 0.9; per round: "
          f"{', '.join(f'{o / b:.2f}' for o, b in zip(ourses, bases))})")
    print(f"same answers:              {sum(a == b for a, b in zip(base_out, our_out))}/{len(cases)}")
    base, ours, same = interleaved(args.model, path, cases, args.threads)
    print("call path alone, interleaved call by call (plain, then LiteLLM -> in-process provider):")
    print(f"  plain {base:6.2f} cases/s, via LiteLLM {ours:6.2f} cases/s, ratio {ours / base:6.3f}, "
          f"same answers {same}/{len(cases)}")
    if args.server:
        _local.IN_PROCESS = False
        try:
            slow, slow_out = tierwise(args.model, cases, args.threads)
        finally:
            _local.IN_PROCESS = True
        print(f"tierwise run (server):     {slow:6.2f} cases/s  accuracy {_acc(slow_out, truth):.3f}  "
              f"ratio {slow / base:.3f}")


def _side(side: str, args: argparse.Namespace) -> tuple[float, list[str]]:
    """One side of a round in a fresh process."""
    done = subprocess.run([sys.executable, __file__, "--_side", side, "--model", args.model, "--cases", str(args.cases),
                           "--threads", str(args.threads)], capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["rate"], figures["outputs"]


def _acc(outputs: list[str], truth: list[str]) -> float:
    return sum(o == t for o, t in zip(outputs, truth)) / len(truth)


if __name__ == "__main__":
    main()
