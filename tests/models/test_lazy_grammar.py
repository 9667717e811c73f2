"""The lazy grammar check gives exactly the tokens of llama-cpp-python's grammar-first chain.

Real Qwen 0.5B (its 151,936-token vocabulary is where the full pass costs most), greedy, with
the three kinds of constraint a run uses: a label set, a JSON schema, a judge's verdict grammar.
A prompt that asks for a sentence makes the free pick break the label grammar, so the full
pass runs too (counted): both branches are covered.
"""

import importlib.util

import pytest

from harness.graders._judge import PASS_FAIL, rubric_contract
from harness.models._local import choices_grammar

pytestmark = [
    pytest.mark.slow,
    pytest.mark.requires(importlib.util.find_spec("llama_cpp"), "needs pip install -e '.[local]'"),
]

REVIEWS = ["Love it, works perfectly.", "Broke on day one.", "Not bad at all, honestly.",
           "Oh great, it froze again."]
SIGNATURE = "Cheers,\nDana Whitfield | Northwind Labs | dana@northwind.io | +1 415 555 0199"


@pytest.fixture(scope="module")
def models():
    from llama_cpp import Llama

    from harness.models._lazy_grammar import lazy_llama_class
    from harness.models._local import weights_path

    path = str(weights_path("qwen2.5-coder-0.5b-instruct"))
    lazy = lazy_llama_class()(model_path=path, n_ctx=1024, n_threads=2, verbose=False)
    plain = Llama(model_path=path, n_ctx=1024, n_threads=2, verbose=False)
    yield lazy, plain
    lazy.close()
    plain.close()


def both(models, messages, **params):
    lazy, plain = models
    out = []
    for llm in (lazy, plain):
        llm.reset()  # the same (empty) prompt cache for both
        r = llm.create_chat_completion(messages=messages, temperature=0, **params)
        out.append((r["choices"][0]["message"]["content"], r["choices"][0]["finish_reason"],
                    r["usage"]["completion_tokens"]))
    return out


def test_label_set(models):
    from llama_cpp import LlamaGrammar

    grammar = LlamaGrammar.from_string(choices_grammar(["positive", "negative"]), verbose=False)
    full_passes = 0
    for review in REVIEWS:
        # Asked for a sentence, the model's free pick breaks the label grammar: the full pass runs.
        lazy, plain = both(models, [{"role": "system", "content": "Describe the review's sentiment in a sentence."},
                                    {"role": "user", "content": review}], grammar=grammar, max_tokens=5)
        assert lazy == plain and lazy[0] in {"positive", "negative"}
        full_passes += models[0].last_sampler.full_passes
    assert full_passes >= 1


def test_json_schema(models):
    schema = {"type": "object", "properties": {k: {"type": ["string", "null"]} for k in ("name", "company", "email")},
              "required": ["name", "company", "email"], "additionalProperties": False}
    lazy, plain = both(models, [{"role": "system", "content": "Extract name, company and email as JSON."},
                                {"role": "user", "content": SIGNATURE}],
                       response_format={"type": "json_object", "schema": schema}, max_tokens=60)
    assert lazy == plain
    assert '"name"' in lazy[0]


def test_verdict_grammar_with_rejected_free_picks(models):
    from llama_cpp import LlamaGrammar

    contract = rubric_contract(PASS_FAIL)
    grammar = LlamaGrammar.from_string(contract.grammar, verbose=False)
    messages = [{"role": "system", "content": f"Grade the reply. Answer with JSON: {contract.example}"},
                {"role": "user", "content": "Rubric: polite and answers the question.\n"
                                            "Reply to grade: Please check your spam folder first."}]
    lazy, plain = both(models, messages, grammar=grammar, max_tokens=120)
    assert lazy == plain
    contract.parse(lazy[0])  # a verdict under the contract
    assert models[0].last_sampler.steps >= 10
