"""The store's schema as it is today: the tables every query reads and writes, and the record
of one finished call (ResultRow). The migrations that build it are in _migrations.py, frozen:
a change here is a new migration there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

# What a run record's status says: `running` from start_run, one of the others from finish_run
# (the runner), `abandoned` when a later run finds its process gone (Store.mark_abandoned).
RunStatus = Literal["running", "finished", "finished_with_errors", "budget_stopped", "interrupted", "failed",
                    "abandoned"]
# A usage-ledger row's attempt kind, and an attempt's (or a shadow call's) outcome.
AttemptKind = Literal["primary", "fallback", "escalation", "deferral"]
AttemptOutcome = Literal["ok", "error", "contract_failed", "deferred"]

metadata = sa.MetaData()

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("status", sa.String(20), nullable=False),  # a RunStatus
    sa.Column("tierwise_version", sa.String(40)),
    sa.Column("litellm_version", sa.String(40)),
    sa.Column("price_map_version", sa.String(80)),
    sa.Column("argv", sa.Text),
    sa.Column("info", sa.Text),  # JSON: tasks, models, skipped models and why
    sa.Column("run_group", sa.String(200)),  # shards of one sharded run share it (005_run_groups)
)

results = sa.Table(
    "results", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("task", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("case_id", sa.String(200), nullable=False),
    sa.Column("call_key", sa.String(64), nullable=False),
    sa.Column("spec_hash", sa.String(64), nullable=False),
    sa.Column("golden_hash", sa.String(64), nullable=False),
    sa.Column("case_hash", sa.String(64), nullable=False),
    sa.Column("grader_hash", sa.String(64), nullable=False),
    sa.Column("messages", sa.Text, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("output", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("error_type", sa.String(100)),
    sa.Column("finish_reason", sa.String(40)),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("cost", sa.Float),
    sa.Column("latency_ms", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("cached", sa.Boolean, nullable=False, default=False),
    sa.Column("score", sa.Float),
    sa.Column("passed", sa.Boolean),
    sa.Column("created_at", sa.Float, nullable=False),
    # 004_judge_cost: what grading this output cost (a judge's calls), apart from `cost`, the
    # candidate's own call; and how many of its graders got no verdict from their judge.
    sa.Column("eval_cost", sa.Float),
    sa.Column("judge_errors", sa.Integer),
    # 007_result_confidence: the probability the model gave its answer, in [0, 1] (NULL: not
    # recorded). What a cascade's `confidence` signal reads (decide/_cascade.py). The runner
    # records, for an output constrained to `choices`, the probability of the chosen label (the
    # product of its tokens' probabilities, from the provider's logprobs: llama.cpp's for local
    # models, LiteLLM's `logprobs` for API models); else the same product over the whole output;
    # NULL when the call did not ask (models/_contract.py) or the provider gives no
    # log-probabilities. python: rules: NULL.
    sa.Column("confidence", sa.Float),
    sa.UniqueConstraint("task", "model", "case_id", "call_key", name="uq_results_case_call"),
)

# The columns of Store.results_frame, by name: what other packages may know of the table.
RESULT_COLUMNS: tuple[str, ...] = tuple(c.name for c in results.columns)

grades = sa.Table(
    "grades", metadata,
    sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("grader", sa.String(100), nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    # 004_judge_cost: a judge's votes, spread, tokens and error (JSON), and its dollars
    sa.Column("detail", sa.Text),
    sa.Column("eval_cost", sa.Float),
)

response_cache = sa.Table(
    "response_cache", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)


# The usage ledger: one row per attempt of a runtime client call (harness/client). No prompt or
# output text unless the client was told to capture it; never keys.
usage_ledger = sa.Table(
    "usage_ledger", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),              # unix time the attempt started
    sa.Column("call_id", sa.String(32), nullable=False),    # groups the attempts of one client call
    sa.Column("task", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),     # catalog name (or the target when not in the catalog)
    sa.Column("target", sa.String(300), nullable=False),    # the registry string: openai/…, local:…, python:…
    sa.Column("attempt", sa.Integer, nullable=False),       # 1, 2, … within the call
    sa.Column("kind", sa.String(20), nullable=False),       # an AttemptKind: primary | fallback | escalation | deferral
    sa.Column("outcome", sa.String(20), nullable=False),    # an AttemptOutcome: ok | error | contract_failed | deferred
    sa.Column("final", sa.Boolean, nullable=False),         # the call ended with this attempt
    sa.Column("error_type", sa.String(100)),
    sa.Column("error", sa.Text),                            # redacted
    sa.Column("contract_reason", sa.Text),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("cost", sa.Float),
    sa.Column("latency_ms", sa.Float),
    sa.Column("trace", sa.String(200)),
    sa.Column("step", sa.String(200)),
    sa.Column("input", sa.Text),                            # JSON of the template variables, opt-in
    sa.Column("output", sa.Text),                           # opt-in
    # 008_usage_cascade_stage: a cascade entry's attempts (harness/client/_cascade.py). `stage` is the
    # 1-based stage the attempt ran (NULL for a model entry and for fallbacks behind the last stage);
    # `deferred` the signal on which the stage passed the call on (abstain | contract | confidence |
    # agreement | check | error; NULL when it answered), `defer_reason` why, in words (never the
    # output); `confidence` the probability of the stage's answer where the provider gave one.
    sa.Column("stage", sa.Integer),
    sa.Column("deferred", sa.String(20)),
    sa.Column("defer_reason", sa.Text),
    sa.Column("confidence", sa.Float),
)


# Shadow calls: one row per challenger call the runtime client made beside a production call
# (harness/client/_shadow.py). Outputs only when the client captures; never keys (redacted on write).
shadow_calls = sa.Table(
    "shadow_calls", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),              # unix time the shadow call started
    sa.Column("call_id", sa.String(32), nullable=False),    # the production call's id in usage_ledger
    sa.Column("task", sa.String(200), nullable=False),
    sa.Column("incumbent", sa.String(200), nullable=False),  # the model whose answer the application got
    sa.Column("challenger", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),    # an AttemptOutcome
    sa.Column("agree", sa.Boolean, nullable=False),         # same canonical output (errors disagree)
    sa.Column("error_type", sa.String(100)),
    sa.Column("error", sa.Text),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("cost", sa.Float),
    sa.Column("latency_ms", sa.Float),
    sa.Column("trace", sa.String(200)),
    sa.Column("output", sa.Text),                           # the challenger's, opt-in
    sa.Column("incumbent_output", sa.Text),                 # opt-in
)


# The blind pairwise judge's verdict on a shadow pair (009_shadow_verdicts): the challenger's output
# against the incumbent's, judged in both orders when `recommend` reads the live evidence of an
# open-ended task (runner/_shadow_judging.py). One row per (shadow call, judge); `outcome` is the
# challenger's win | tie | loss, NULL when the judge gave no verdict (`error` says why; such a
# pair is judged again on the next read and counts against the challenger until it is).
shadow_verdicts = sa.Table(
    "shadow_verdicts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("shadow_id", sa.Integer, nullable=False),     # shadow_calls.id
    sa.Column("task", sa.String(200), nullable=False),
    sa.Column("judge", sa.String(64), nullable=False),      # fingerprint of the pairwise grader (judge, options)
    sa.Column("judged_at", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(8)),                     # win | tie | loss; NULL: the judge failed
    sa.Column("orders", sa.Text),                           # JSON: each vote's verdict per order (AB, BA)
    sa.Column("error", sa.Text),                            # redacted
    sa.Column("eval_cost", sa.Float),                       # the judge's dollars (NULL: unpriced)
)


# The task's own judge grader (llm_judge, pointwise) on a sampled live call of the incumbent
# (010_live_verdicts; runner/_live_judging.py), for the judged-fail drift monitor (audit). One row
# per (call, judge); `passed` NULL when the judge gave no verdict (`error` says why; the call is
# judged again on the next read and counts as a fail until it is, as a judge error does offline).
live_verdicts = sa.Table(
    "live_verdicts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(32), nullable=False),    # usage_ledger.call_id
    sa.Column("task", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),     # the model whose answer was judged
    sa.Column("judge", sa.String(64), nullable=False),      # fingerprint of the judge grader (judge, options)
    sa.Column("at", sa.Float, nullable=False),              # unix time of the judged call (its ledger row)
    sa.Column("judged_at", sa.Float, nullable=False),
    sa.Column("passed", sa.Boolean),                        # the grader's verdict; NULL: the judge failed
    sa.Column("score", sa.Float),
    sa.Column("error", sa.Text),                            # redacted
    sa.Column("eval_cost", sa.Float),                       # the judge's dollars (NULL: unpriced)
)


@dataclass
class ResultRow:
    """One finished call (or failure) with its grades, ready to be written."""

    run_id: str
    task: str
    model: str
    case_id: str
    call_key: str
    spec_hash: str
    golden_hash: str
    case_hash: str
    grader_hash: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    output: str | None
    error: str | None
    error_type: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    latency_ms: float | None
    attempts: int
    cached: bool
    score: float | None
    passed: bool | None
    grades: list[dict[str, Any]]
    cache_key: str | None = None        # set when the response may be cached (never for errors)
    cache_response: dict[str, Any] | None = None
    eval_cost: float | None = None      # what grading cost (judge calls); None when unknown
    judge_errors: int | None = None     # graders whose judge gave no verdict
    judge_cache: list[dict[str, Any]] | None = None  # judge responses to cache: {key, model, response}
    confidence: float | None = None     # the probability of the answer (007_result_confidence); None: not recorded
