"""A small project whose recommendations are certified cascades, evaluated for real (every path
under the caller's tmp folder).

- `t`: a rule that abstains on "no" in front of a priced rule (defer: [abstain]): the cascade costs
  half the dear stage; `alt`, dearer, qualifies too and becomes the fallback.
- `c`: an API model (the loopback server, answering "yes" to everything) in front of the priced rule
  (defer: [contract, confidence]). No provider records a probability yet, so the test writes the
  one a provider would (0.99 on its right answers, 0.3 on its wrong ones) into the stored results:
  the threshold is then certified down to 0.5.
- `u`: a single model, so every write is seen to keep the other entries.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.fake_openai import FakeOpenAI
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

    with FakeOpenAI(responder=lambda body: "yes") as server:
        write_project(root, models=cascade_models(server), specs=cascade_specs(), files={"rules.py": RULES},
                      golden={"t": cases(n), "c": cases(n), "u": cases(n)})
        run(load_project(root), progress=False)
    record_confidence(root)
    return root


def record_confidence(root: Path, right: float = 0.99, wrong: float = 0.3) -> None:
    """What a provider that records log-probabilities would store for `cheap`'s answers."""
    engine = sa.create_engine(f"sqlite:///{root / '.tierwise' / 'results.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE results SET confidence = CASE WHEN score >= 1 THEN :r ELSE :w END "
                             "WHERE model = 'cheap'"), {"r": right, "w": wrong})
    engine.dispose()
