"""Identities: a call key is the hash of one canonical payload, however it is computed."""

import pytest

from harness.fingerprint import CallKeys, call_key, canonical, digest

PYTHON = {"kind": "python", "function": "rules:label", "source": "0123456789abcdef"}
LITELLM = {"kind": "litellm", "model": "openai/gpt-4.1-mini", "options": {"api_base": "http://127.0.0.1:9"}}
MESSAGES = [{"role": "system", "content": "Réponds « oui » ou non.\n"}, {"role": "user", "content": "ça va? 🙂"}]
PARAMS = {"temperature": 0, "max_tokens": 8}
EXTRA = {"extra_body": {"grammar": 'root ::= "yes" | "no"'}}
VARS = {"text": "naïve ✓ a\x00b", "n": 3, "nested": {"b": [1, 2.5, None], "a": True}}


@pytest.mark.parametrize("repeat", [0, 2])
@pytest.mark.parametrize("variables", [VARS, None])
def test_python_call_key_is_the_hash_of_the_payload(variables, repeat):
    payload = {"model": PYTHON, "vars": variables, **({"repeat": repeat} if repeat else {})}
    assert call_key(PYTHON, MESSAGES, PARAMS, EXTRA, variables, repeat=repeat, takes_vars=True) == digest(payload, 32)
    assert CallKeys(PYTHON, PARAMS, EXTRA, takes_vars=True).key(canonical(variables), repeat) == digest(payload, 32)


@pytest.mark.parametrize("repeat", [0, 1])
@pytest.mark.parametrize("extra", [EXTRA, {}])
def test_model_call_key_is_the_hash_of_the_payload(extra, repeat):
    payload = {"model": LITELLM, "messages": MESSAGES, "params": PARAMS, "extra": extra,
               **({"repeat": repeat} if repeat else {})}
    assert call_key(LITELLM, MESSAGES, PARAMS, extra, VARS, repeat=repeat, takes_vars=False) == digest(payload, 32)
    assert CallKeys(LITELLM, PARAMS, extra, takes_vars=False).key(canonical(MESSAGES), repeat) == digest(payload, 32)


def test_call_keys_stay_those_stored_results_were_keyed_by():
    assert call_key(PYTHON, [], {}, {}, {"text": "yes"}, takes_vars=True) == "16b171b0fe1beefd18d4fe854a7bb345"
    assert call_key(LITELLM, MESSAGES, PARAMS, {}, repeat=2, takes_vars=False) == "9471ea042048a514f8c1c54d31718056"
