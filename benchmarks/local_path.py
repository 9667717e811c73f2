"""Tierwise's local-model path against plain llama-cpp-python, same model, prompts and grammar.

Plain: one `llama_cpp.Llama`, `create_chat_completion` in a loop, output constrained to the
labels by a GBNF grammar, the model loaded before the clock starts. Tierwise: `tierwise run`
of a one-task project with the same system prompt, the same reviews and `output: {choices}`
(so the same grammar), timed end to end: plan, model load, calls through LiteLLM, grading,
SQLite writes. Prints cases/s for each, the ratio (goal >= 0.9) and how often the two
answered alike (temperature 0: they should agree on every case).

    python benchmarks/local_path.py [--model smollm2-135m-instruct] [--cases 200] [--server]

--server also times the older path (llama-cpp-python's server in a subprocess, via LiteLLM).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="a bundled `local:` name")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--server", action="store_true", help="also time the server-subprocess path")
    args = parser.parse_args()
    from harness.models import _local

    cases = reviews(args.cases)
    path = _local.weights_path(args.model)
    import harness.evaluate  # noqa: F401 - one-off imports (pandas, SQLAlchemy, LiteLLM) are not throughput
    from harness.models._litellm import litellm

    litellm()
    base, base_out = plain(path, cases, args.threads)
    ours, our_out = tierwise(args.model, cases, args.threads)
    truth = [label for _, label in cases]
    print(f"model {args.model}, {args.cases} reviews, {args.threads} threads, grammar-constrained to {LABELS}")
    print(f"plain llama-cpp-python:   {base:6.2f} cases/s  accuracy {_acc(base_out, truth):.3f}  (model loaded first)")
    print(f"tierwise run (in-process): {ours:6.2f} cases/s  accuracy {_acc(our_out, truth):.3f}  "
          f"(end to end: load, calls via LiteLLM, grading, SQLite)")
    print(f"ratio tierwise / plain:   {ours / base:6.3f}  (goal >= 0.9)")
    print(f"same answers:             {sum(a == b for a, b in zip(base_out, our_out))}/{len(cases)}")
    if args.server:
        _local.IN_PROCESS = False
        try:
            slow, slow_out = tierwise(args.model, cases, args.threads)
        finally:
            _local.IN_PROCESS = True
        print(f"tierwise run (server):    {slow:6.2f} cases/s  accuracy {_acc(slow_out, truth):.3f}  "
              f"ratio {slow / base:.3f}")


def _acc(outputs: list[str], truth: list[str]) -> float:
    return sum(o == t for o, t in zip(outputs, truth)) / len(truth)


if __name__ == "__main__":
    main()
