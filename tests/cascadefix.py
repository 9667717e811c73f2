"""A small project whose recommendations are certified cascades, evaluated for real (every path
under the caller's tmp folder).

- `t`: a rule that abstains on "no" in front of a priced rule (defer: [abstain]): the cascade costs
  half the dear stage; `alt`, dearer, qualifies too and becomes the fallback.
- `c`: an API model (the loopback server, answering "yes" to everything) in front of the priced rule
  (defer: [contract, confidence]). Its calls ask for log-probabilities, and the server gives its
  answer probability 0.99 where "yes" is right and 0.3 where it is wrong; the run stores them
  (results.confidence) and the threshold is certified down to 0.5.
- `u`: a single model, so every write is seen to keep the other entries.
"""

from __future__ import annotations

from pathlib import Path

from tests.fake_openai import FakeOpenAI, last_user_text
from tests.projfix import cases, spec, write_project

RULES = '''
def half(vars):  # answers "yes" cases, abstains on the rest
    return vars["text"] if vars["text"] == "yes" else None

def echo(vars):
    return vars["text"]

def echo_too(vars):
    return vars["text"]

def plausible(vars, output):
    return output.strip() in ("yes", "no")
'''


def cascade_models(server: FakeOpenAI) -> dict:
    return {"cheap": {"litellm": "openai/cheap", "api_base": server.base_url, "api_key": "none",
                      "price": {"per_call": 0.0001}},
            "rule": {"python": "rules:half", "price": {"per_call": 0}},
            "big": {"python": "rules:echo", "price": {"per_call": 0.002}},
            "alt": {"python": "rules:echo_too", "price": {"per_call": 0.003}}}


def cascade_specs() -> dict:
    choices = {"choices": ["yes", "no"]}
    params = {"temperature": 0, "max_tokens": 8}
    return {"t": spec("t", threshold=0.8, output=choices, params=params,
                      candidates=["big", "alt", {"cascade": ["rule", "big"], "defer": ["abstain"]}]),
            "c": spec("c", threshold=0.8, output=choices, params=params,
                      candidates=["big", {"cascade": ["cheap", "big"], "defer": ["contract", "confidence"],
                                          "name": "ladder"}]),
            "u": spec("u", candidates=["big"], params=params)}


def cascade_project(root: Path, n: int = 40) -> Path:
    """Write, run and record the project (the server lives for the run only); returns root."""
    from harness import load_project, run

    with FakeOpenAI(responder=lambda body: "yes", probability=sure_when_right) as server:
        write_project(root, models=cascade_models(server), specs=cascade_specs(), files={"rules.py": RULES},
                      golden={"t": cases(n), "c": cases(n), "u": cases(n)})
        run(load_project(root), progress=False)
    return root


def sure_when_right(body: dict, content: str, right: float = 0.99, wrong: float = 0.3) -> float:
    """The probability the server gives its answer: `right` where it equals the case's text."""
    return right if content == last_user_text(body) else wrong
