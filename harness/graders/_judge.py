"""Graders that ask a model: `llm_judge` (a rubric, a judge from the catalog, a scale, votes) and
`pairwise` (a blind comparison with a reference, in both orders).

Both are graders like any other: a factory registered with @grader, options checked and stored
with every grade, one Grade record out. They differ in one way: grading needs a model call, so
the grading callable has an async `agrade(output, case, ctx)` that the runner awaits, and `ctx`
(runner/_judging.py) makes the judge's calls through the same machinery as a candidate's:
models.complete (timeouts, retries), the response cache keyed by fingerprint.call_key, the
store. Called outside a run (plain `grade`) they fail with a reason saying so.

Every judge call is made at the grader's temperature (0 by default) with a seed per vote where
the provider takes one; the judge's answer is held to a contract (graders/_verdict.py) and a
verdict that breaks it is a judge error: a failed grade, never a pass. The reason shown is the
judge's own; the votes, their spread, and the judge's tokens and dollars go in Grade.detail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ._fence import boundary, data_rule, sections
from ._registry import BadOption, Case, Grade, grader
from ._verdict import PAIRWISE, PASS_FAIL, Contract, VerdictError, rubric_contract

# Bump when the judge prompts below change: stored judge grades are then redone.
# 2: the input, reference, answers and output are fenced as data (graders/_fence.py).
JUDGE_PROMPT_VERSION = 2
DEFAULT_MAX_TOKENS = 200  # a grammar-bound reason of MAX_REASON_CHARS plus the JSON around it
REFERENCE = "reference"


class JudgeError(RuntimeError):
    """No verdict could be had (the call failed, or the answer broke the contract). `detail`
    keeps what the judge was asked and what it cost, so the failure is recorded with its cost."""

    def __init__(self, message: str, detail: dict[str, Any]):
        super().__init__(message)
        self.detail = detail


@dataclass
class JudgeReply:
    """One judge call as the runner made it."""

    output: str | None
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    cached: bool = False


class JudgeContext(Protocol):
    """What a judge grader needs from the run (implemented in runner/_judging.py)."""

    model: str            # the candidate being graded (catalog name)
    task_input: str       # the candidate's rendered prompt (its last user message)

    async def call(self, judge: str, messages: list[dict[str, str]], params: dict[str, Any],
                   contract: Contract, variables: dict[str, Any]) -> JudgeReply: ...

    async def output_of(self, model: str, case: Case) -> str: ...


# ---- llm_judge ---------------------------------------------------------------------------------

_RUBRIC_SYSTEM = (
    "You are a careful, impartial grader. You read a rubric, the input a model was given{ref}, "
    "and the model's output, and decide whether the output meets the rubric. Judge only what the "
    "rubric asks; do not reward length. {data_rule} Answer with one JSON object and nothing else: {example}"
)


@grader("llm_judge",
        recorded_if_set=("scale", "votes", "combine", "temperature", "seed", "max_tokens", "rubric_file",
                         "include_input"))
def llm_judge(*, rubric: str | None = None, judge: str | None = None, pass_at: float = 0.5,
              scale: str | int = PASS_FAIL, votes: int = 1, combine: str = "majority",
              temperature: float = 0.0, seed: int = 0, max_tokens: int = DEFAULT_MAX_TOKENS,
              rubric_file: str | None = None, include_input: bool = True,
              project_root: Path | None = None):
    """A judge model grades the output against a rubric.

    The rubric is `rubric:` (inline), `rubric_file:` (a file under the project), or the case's
    expected value when neither is given (with `expected_key:`, that key's value; a promptfoo
    llm-rubric). When a rubric is given, a text expected value is shown to the judge as the
    reference answer. `scale: pass_fail` (default) or an integer N (1..N mapped to [0, 1]);
    the grade passes when its score >= pass_at. `votes: k` asks k times (seeds seed..seed+k-1),
    combined by `majority` (default; a tie goes to the lower score) or `mean`.
    """
    opts = _common(judge, pass_at, votes, combine, temperature, seed, max_tokens)
    if rubric is not None and rubric_file is not None:
        raise BadOption("rubric_file", "give rubric: or rubric_file:, not both")
    identity: dict[str, Any] = {"judge_prompt": JUDGE_PROMPT_VERSION}
    if rubric_file is not None:
        rubric, identity["rubric_sha256"] = _read_rubric(rubric_file, project_root)
    if rubric is not None and (not isinstance(rubric, str) or not rubric.strip()):
        raise BadOption("rubric", f"must be non-empty text, got {rubric!r}")
    if not isinstance(include_input, bool):
        raise BadOption("include_input", f"must be true or false, got {include_input!r}")
    if scale != PASS_FAIL and (isinstance(scale, bool) or not isinstance(scale, int) or not 2 <= scale <= 10):
        raise BadOption("scale", f"must be pass_fail or an integer from 2 to 10, got {scale!r}")
    contract = rubric_contract(scale)

    def to_score(decision: Any) -> float:
        if contract.values is not None:
            return 1.0 if decision == "pass" else 0.0
        return (decision - 1) / (contract.scale - 1)

    async def agrade(output: str, case: Case, ctx: JudgeContext) -> Grade:
        case_rubric, reference = _rubric_and_reference(rubric, case)
        ref_part = ", a reference answer" if reference is not None else ""
        parts = [("Rubric", case_rubric, False)]
        if include_input:
            parts.append(("Input given to the model", ctx.task_input, True))
        if reference is not None:
            parts.append(("Reference answer", reference, True))
        parts.append(("Output to grade", output, True))
        token = boundary([text for _, text, is_data in parts if is_data])
        system = _RUBRIC_SYSTEM.format(ref=ref_part, data_rule=data_rule(token), example=contract.example)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": sections(token, parts)}]
        detail = _detail(opts, "llm_judge")
        scores, reasons = [], []
        for vote in range(opts.votes):
            decision, reason = await _ask(ctx, opts, messages, contract, vote, detail,
                                          {"kind": "llm_judge", "rubric": case_rubric, "output": output,
                                           "reference": reference, "input": ctx.task_input})
            scores.append(to_score(decision))
            reasons.append(reason)
            detail["votes"].append({"score": scores[-1], "verdict": decision, "reason": reason})
        score = _combine(scores, opts.combine)
        passed = score >= opts.pass_at
        detail.update(score=score, spread=max(scores) - min(scores))
        return Grade(score, passed, _shown_reason(scores, reasons, score, opts.judge), detail=detail)

    return _judge_fn(agrade, opts.judge, identity)


def _rubric_and_reference(rubric: str | None, case: Case) -> tuple[str, str | None]:
    expected = case.expected
    text = expected if isinstance(expected, str) and expected.strip() else None
    if rubric is not None:
        return rubric, text
    if text is None:
        raise ValueError(f"case {case.id!r}: llm_judge has no rubric: give rubric: in the spec, or the rubric "
                         f"as the case's expected text")
    return text, None


# ---- pairwise --------------------------------------------------------------------------------

_PAIRWISE_SYSTEM = (
    "You compare two answers to the same input{criteria}. The answers are labelled A and B; their "
    "order is random and says nothing about their quality. Decide which answer is better, or "
    "whether they are equally good. Do not prefer the longer answer. {data_rule} Answer with one "
    "JSON object and nothing else: {example}"
)
_OUTCOME = {"win": 1.0, "tie": 0.5, "loss": 0.0}


@grader("pairwise", recorded_if_set=("criteria", "votes", "temperature", "seed", "max_tokens"))
def pairwise(*, judge: str | None = None, against: str = REFERENCE, rate: str = "non_loss",
             criteria: str | None = None, votes: int = 1, temperature: float = 0.0, seed: int = 0,
             max_tokens: int = DEFAULT_MAX_TOKENS):
    """A blind comparison of the output with a reference, judged in both orders.

    `against: reference` (default) compares with the case's expected text; `against: <model>`
    with that catalog model's stored output for the same case (name the incumbent). Neither
    answer is named to the judge. Each vote asks twice, with the answers swapped: the output
    wins when one order prefers it and the other does not prefer the reference, loses in the
    mirror case, and ties otherwise, so a judge that always prefers the first (or second)
    answer scores every case a tie. Votes combine by majority (a tie of outcomes goes to the
    worse one). `rate: non_loss` (default) scores a win or a tie 1, `rate: win` only a win.
    """
    opts = _common(judge, 1.0, votes, "majority", temperature, seed, max_tokens)
    if not isinstance(against, str) or not against:
        raise BadOption("against", f"must be 'reference' or a catalog model name, got {against!r}")
    if rate not in ("non_loss", "win"):
        raise BadOption("rate", f"must be non_loss or win, got {rate!r}")
    if criteria is not None and (not isinstance(criteria, str) or not criteria.strip()):
        raise BadOption("criteria", f"must be non-empty text, got {criteria!r}")
    shown_criteria = f" by these criteria: {criteria.strip()}" if criteria else ""

    async def agrade(output: str, case: Case, ctx: JudgeContext) -> Grade:
        if against == REFERENCE:
            reference = case.expected
            if not isinstance(reference, str) or not reference.strip():
                raise ValueError(f"case {case.id!r}: pairwise against the reference needs the case's expected "
                                 f"reference answer as text, got {reference!r}")
            shown = "the reference"
        else:
            reference = await ctx.output_of(against, case)
            shown = against
        detail = _detail(opts, "pairwise")
        detail["against"] = against
        if output.strip() == reference.strip():
            detail.update(outcome="tie", score=1.0 if rate == "non_loss" else 0.0, spread=0.0)
            detail["votes"].append({"outcome": "tie", "reason": "identical texts; no judge call"})
            return _pairwise_grade("tie", f"identical to {shown}", rate, detail)
        outcomes, reasons = [], []
        for vote in range(opts.votes):
            orders = []
            for order, (first, second) in (("AB", (output, reference)), ("BA", (reference, output))):
                token = boundary([ctx.task_input, first, second])
                user = sections(token, [("Input", ctx.task_input, True), ("Answer A", first, True),
                                        ("Answer B", second, True)])
                system = _PAIRWISE_SYSTEM.format(criteria=shown_criteria, data_rule=data_rule(token),
                                                 example=PAIRWISE.example)
                messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
                winner, reason = await _ask(ctx, opts, messages, PAIRWISE, vote, detail,
                                            {"kind": "pairwise", "order": order, "A": first, "B": second,
                                             "input": ctx.task_input, "criteria": criteria})
                mine = "A" if order == "AB" else "B"
                orders.append(("tie" if winner == "tie" else "win" if winner == mine else "loss", reason))
            outcome = _both_orders(orders[0][0], orders[1][0])
            outcomes.append(outcome)
            reasons.append(next((r for o, r in orders if o == outcome), orders[0][1]))
            detail["votes"].append({"outcome": outcome, "orders": {"AB": orders[0][0], "BA": orders[1][0]},
                                    "reasons": {"AB": orders[0][1], "BA": orders[1][1]}})
        outcome = _majority_outcome(outcomes)
        values = [_OUTCOME[o] for o in outcomes]
        detail.update(outcome=outcome, spread=max(values) - min(values),
                      score=_rate_score(outcome, rate))
        reason = next(r for o, r in zip(outcomes, reasons) if o == outcome)
        return _pairwise_grade(outcome, _judge_said(opts.judge, reason, outcomes, outcome), rate, detail)

    return _judge_fn(agrade, opts.judge, {"judge_prompt": JUDGE_PROMPT_VERSION})


def _both_orders(ab: str, ba: str) -> str:
    """One outcome from the two orders: a win needs one order to prefer the output and the other
    not to prefer the reference; disagreement (one win, one loss) is a tie."""
    total = _OUTCOME[ab] + _OUTCOME[ba]
    return "win" if total > 1.0 else "loss" if total < 1.0 else "tie"


def _majority_outcome(outcomes: list[str]) -> str:
    counts = {o: outcomes.count(o) for o in ("loss", "tie", "win")}
    top = max(counts.values())
    return next(o for o in ("loss", "tie", "win") if counts[o] == top)  # a tie of outcomes: the worse


def _rate_score(outcome: str, rate: str) -> float:
    return 1.0 if outcome == "win" or (outcome == "tie" and rate == "non_loss") else 0.0


def _pairwise_grade(outcome: str, reason: str, rate: str, detail: dict[str, Any]) -> Grade:
    score = _rate_score(outcome, rate)
    return Grade(score, score == 1.0, f"{outcome}: {reason}", detail=detail)


# ---- shared --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    judge: str
    pass_at: float
    votes: int
    combine: str
    temperature: float
    seed: int
    max_tokens: int


def _common(judge: Any, pass_at: Any, votes: Any, combine: Any, temperature: Any, seed: Any,
            max_tokens: Any) -> _Options:
    if judge is not None and (not isinstance(judge, str) or not judge):
        raise BadOption("judge", f"must be a model name from tierwise.yaml, got {judge!r}")
    if isinstance(pass_at, bool) or not isinstance(pass_at, (int, float)) or not 0 <= pass_at <= 1:
        raise BadOption("pass_at", f"must be a number in [0, 1], got {pass_at!r}")
    if isinstance(votes, bool) or not isinstance(votes, int) or not 1 <= votes <= 15:
        raise BadOption("votes", f"must be an integer from 1 to 15, got {votes!r}")
    if combine not in ("majority", "mean"):
        raise BadOption("combine", f"must be majority or mean, got {combine!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise BadOption("temperature", f"must be a number in [0, 2], got {temperature!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BadOption("seed", f"must be an integer, got {seed!r}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 16:
        raise BadOption("max_tokens", f"must be an integer >= 16, got {max_tokens!r}")
    return _Options(judge or "", float(pass_at), votes, combine, float(temperature), seed, max_tokens)


def _judge_fn(agrade, judge: str, identity: dict[str, Any]):
    def grade(output: str, case: Case) -> Grade:
        raise RuntimeError("a judge grades only inside a run (harness.run / tierwise run), which makes its calls")

    grade.agrade = agrade  # type: ignore[attr-defined]
    grade.judge = judge  # type: ignore[attr-defined]
    grade.identity = identity  # type: ignore[attr-defined]
    return grade


def _detail(opts: _Options, kind: str) -> dict[str, Any]:
    return {"kind": kind, "judge": opts.judge, "votes": [], "calls": 0, "cached_calls": 0,
            "eval_cost": 0.0, "eval_prompt_tokens": 0, "eval_completion_tokens": 0}


async def _ask(ctx: JudgeContext, opts: _Options, messages: list[dict[str, str]], contract: Contract,
               vote: int, detail: dict[str, Any], variables: dict[str, Any]) -> tuple[Any, str]:
    """One judge call and its verdict; JudgeError (with the cost so far) when there is none."""
    if not opts.judge:
        raise JudgeError("no judge model; fix: add judge: <a model from tierwise.yaml> to this grader", detail)
    params = {"temperature": opts.temperature, "max_tokens": opts.max_tokens, "seed": opts.seed + vote}
    reply = await ctx.call(opts.judge, messages, params, contract, {**variables, "vote": vote, "seed": params["seed"]})
    detail["calls"] += 1
    detail["cached_calls"] += int(reply.cached)
    detail["eval_prompt_tokens"] += reply.prompt_tokens or 0
    detail["eval_completion_tokens"] += reply.completion_tokens or 0
    if reply.cost is None:
        detail["eval_cost"] = None
    elif detail["eval_cost"] is not None:
        detail["eval_cost"] += reply.cost
    if reply.error is not None:
        raise JudgeError(f"{opts.judge} failed: {reply.error}", detail)
    try:
        return contract.parse(reply.output)
    except VerdictError as exc:
        raise JudgeError(f"{opts.judge} gave no verdict: {exc}", detail) from None


def _combine(scores: list[float], how: str) -> float:
    if how == "mean":
        return sum(scores) / len(scores)
    counts: dict[float, int] = {}
    for s in scores:
        counts[s] = counts.get(s, 0) + 1
    top = max(counts.values())
    return min(s for s, c in counts.items() if c == top)  # a tie between scores goes to the lower


def _shown_reason(scores: list[float], reasons: list[str], score: float, judge: str) -> str:
    """The judge's own reason: that of the vote closest to the outcome (the first such)."""
    best = min(range(len(scores)), key=lambda i: (abs(scores[i] - score), i))
    return _judge_said(judge, reasons[best], scores, scores[best])


def _judge_said(judge: str, reason: str, votes: list[Any], outcome: Any) -> str:
    text = reason or "(the judge gave no reason)"
    if len(votes) > 1:
        agreeing = sum(1 for v in votes if v == outcome)
        text += f" [{agreeing} of {len(votes)} votes]"
    return f"{judge}: {text}"


def _read_rubric(rubric_file: Any, root: Path | None) -> tuple[str, str]:
    if not isinstance(rubric_file, str) or not rubric_file:
        raise BadOption("rubric_file", f"must be a path to a text file, got {rubric_file!r}")
    path = Path(rubric_file)
    if not path.is_absolute() and root is not None:
        path = root / path
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadOption("rubric_file", f"cannot read {rubric_file} ({exc}); fix: correct the path "
                                       f"(relative to the project root)") from None
    if not text.strip():
        raise BadOption("rubric_file", f"{rubric_file} is empty")
    return text.strip(), hashlib.sha256(raw).hexdigest()[:16]
