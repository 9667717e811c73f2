"""The open-ended task of examples/live_stream.py: the first reply to a support ticket, judged pairwise.

    careful-reply  the incumbent: names the team the ticket goes to (live_stream.careful_router) and,
                   when the ticket asks for a refund, says the refund is being reviewed; $3 per 1,000 calls
    quick-reply    the challenger: a shorter template on live_stream.quick_router ($0.10 per 1,000):
                   a refund asked for inside a sign-in complaint goes to the account team, unmentioned

Replies differ in wording on every call, so the incumbent's and the challenger's never agree as labels
do: the task's `pairwise` grader decides, blind and in both orders, offline against the golden set's
reference replies and live on the shadow pairs `tierwise recommend` reads (runner/_shadow_judging.py).

The judge. By default it is `reply-rubric`, a python rule holding the rubric the team's people apply
(a reply names the team that will handle the ticket, and a refund the ticket asks for is addressed).
A rule is an honest judge for a simulation: it is called through the same judge machinery and verdict
contract as a model, and it is not trusted either. Its misses against the people's verdicts on the
challenger's golden-set outputs (`labels/ticket_reply.jsonl`) are bounded and added to the live loss
bound, as they would be for a model. It keeps the example offline and within seconds; `--local-judge`
swaps in the bundled local judge model (Qwen2.5-Coder 1.5B through llama.cpp) on a smaller stream,
where the same procedure decides from a real model's verdicts (minutes; the outcome is whatever its
misses allow).

The people. Their verdicts are simulated: they apply the rubric, and they also fail one of the
challenger's replies the rubric passes (too curt for a customer writing a third time), so the judge
has a measured miss and the correction is not zero.
"""

from __future__ import annotations

import json
import random

from examples.live_stream import WORDS, careful_router, quick_router

RARE = "I cannot sign in and I want a refund for the days I lost"  # the challenger's blind spot
CURT = "writing for the third time"  # people fail the challenger's reply to this one; the rubric does not
TEAMS = ("billing", "technical", "account")


def careful_reply(vars: dict) -> str:
    """The incumbent: the right team, and a refund request acknowledged."""
    team = careful_router(vars)
    reply = f"Thank you for writing to us. Your ticket is with our {team} team, who will answer within one working day."
    if "refund" in vars["ticket"].lower():
        reply += " We are reviewing your refund request and will confirm it by email."
    return reply


def quick_reply(vars: dict) -> str:
    """The challenger: shorter, and silent about a refund asked for in a sign-in complaint."""
    team = quick_router(vars)
    reply = f"Thanks, your ticket is queued for the {team} team."
    if "refund" in vars["ticket"].lower() and team == "billing":
        reply += " Refund request noted."
    return reply


def acceptable(reply: str, ticket: str) -> bool:
    """The rubric: the reply names the team the ticket belongs to, and addresses a refund asked for."""
    text = reply.lower()
    team = careful_router({"ticket": ticket})
    named = [t for t in TEAMS if f"{t} team" in text]
    return named == [team] and ("refund" not in ticket.lower() or "refund" in text)


def reply_rubric(vars: dict) -> str:
    """The pairwise judge as a python rule: A, B and the input in; one verdict of the pairwise contract out."""
    a, b = acceptable(vars["A"], vars["input"]), acceptable(vars["B"], vars["input"])
    if a == b:
        return json.dumps({"reason": "both meet the rubric" if a else "neither meets the rubric", "winner": "tie"})
    winner = "A" if a else "B"
    return json.dumps({"reason": f"only {winner} names the right team and answers what was asked", "winner": winner})


def golden_cases(n: int = 120) -> list[dict]:
    """`n` tickets with the incumbent's reply as the reference; one in 30 the challenger's blind spot."""
    rng, cases, rare = random.Random(11), [], max(1, n // 30)
    for i in range(n - rare):
        label = TEAMS[i % 3]
        ticket = f"{rng.choice(WORDS[label])}{', ' + CURT if i == 5 else ''} (ref {i})"
        cases.append({"id": f"r-{i:03d}", "vars": {"ticket": ticket}, "expected": careful_reply({"ticket": ticket})})
    for i in range(rare):
        ticket = f"{RARE} (ref {n - rare + i})"
        cases.append({"id": f"r-{n - rare + i:03d}", "vars": {"ticket": ticket},
                      "expected": careful_reply({"ticket": ticket})})
    return cases


def human_verdicts(cases: list[dict]) -> list[dict]:
    """A person's verdict on each golden-set output of both candidates (simulated; module docstring)."""
    rows = []
    for case in cases:
        ticket = case["vars"]["ticket"]
        for model, reply in (("careful-reply", careful_reply), ("quick-reply", quick_reply)):
            output = reply({"ticket": ticket})
            curt = model == "quick-reply" and CURT in ticket
            ok = acceptable(output, ticket) and not curt
            rows.append({"case": case["id"], "model": model, "output": output, "verdict": "pass" if ok else "fail",
                         **({"note": "too curt for a customer writing a third time"} if curt else {}),
                         "by": "support-lead"})
    return rows
