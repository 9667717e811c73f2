"""What a run would cost before it calls anything: per task × model the calls it would make, the
tokens and the dollars (`tierwise run --dry-run`), and the per-call estimates `--budget` checks
before each batch.

Prompt tokens are counted with the model's tokenizer through LiteLLM's `token_counter` (its
default tokenizer for models it does not know, and for local models: close enough to price compute
time). Output tokens are the stored average of earlier answers of the same task and model when
there are any, else the spec's max_tokens (an upper bound), else an assumed 256. A local model
priced by the hour costs what its tokens cost at its rate (models/_pricing.py), so its estimate
is as good as the token estimates. Another model priced by the hour (a self-hosted endpoint) is
charged the time its stored calls were charged on average (read back from their cost), else
nothing until a call has measured it: `--budget` runs a model's first call on its own and
estimates the next ones from it (runner/_rounds.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..models import cost_of, prompt_tokens, provider_for
from ..store import Store
from ._plan import Item, Plan
from ._runner import RunCounts, RunOptions, _pending

DEFAULT_OUTPUT_TOKENS = 256


@dataclass
class CallEstimate:
    prompt_tokens: int
    completion_tokens: float
    cost: float | None  # None: no price known


@dataclass
class EstimateRow:
    """One task × model of a dry run."""

    task: str
    model: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: float = 0.0
    cost: float | None = 0.0
    output_from: str = ""  # stored average | max_tokens | assumed


@dataclass
class DryRun:
    rows: list[EstimateRow] = field(default_factory=list)
    reused: int = 0   # already stored: no call
    cached: int = 0   # answered from the response cache: no call

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rows)

    @property
    def cost(self) -> float | None:
        costs = [r.cost for r in self.rows if r.calls]
        return None if any(c is None for c in costs) else float(sum(costs))

    def text(self) -> str:
        header = (f"{'task':<20} {'model':<18} {'calls':>6} {'tok in':>9} {'tok out':>9} {'est. $':>10}  "
                  f"output tokens from")
        lines = [header, "-" * len(header)]
        for r in self.rows:
            cost = "unpriced" if r.cost is None else f"{r.cost:.4f}"
            lines.append(f"{r.task:<20.20} {r.model:<18.18} {r.calls:>6} {r.prompt_tokens:>9} "
                         f"{r.completion_tokens:>9.0f} {cost:>10}  {r.output_from}")
        total = "unpriced calls included" if self.cost is None else f"about ${self.cost:.4f}"
        lines.append(f"\ndry run: {self.calls} calls would be made ({total}); {self.reused} already stored, "
                     f"{self.cached} from the response cache; nothing was called")
        return "\n".join(lines)


class Estimator:
    """Per-call token and dollar estimates, from the rendered prompt and the stored history."""

    def __init__(self, history: Any, approximate: bool = False):
        self.approximate = approximate  # count prompt tokens as characters / 4: no tokenizer (no LiteLLM import)
        self._out: dict[tuple[str, str], float] = {}
        self._costs: dict[tuple[str, str], tuple[float, float, float]] = {}  # mean cost, prompt, output tokens
        self._tokens: dict[tuple[str, str], int] = {}
        if history is not None and len(history):
            ok = history[history["error"].isna()]
            for (task, model), rows in ok.groupby(["task", "model"]):
                out = rows["completion_tokens"].dropna()
                if len(out):
                    self._out[(task, model)] = float(out.mean())
                cost = rows["cost"].dropna() if "cost" in rows else ()
                if len(cost):
                    self._costs[(task, model)] = (float(cost.mean()), float(rows["prompt_tokens"].fillna(0).mean()),
                                                  float(rows["completion_tokens"].fillna(0).mean()))

    def output_tokens(self, item: Item) -> tuple[float, str]:
        if provider_for(item.cand.kind).takes_vars:  # sent no prompt: a python: rule
            return 0.0, f"{item.cand.kind} rule (no tokens)"
        stored = self._out.get((item.task.name, item.cand.name))
        if stored is not None:
            return stored, "stored average"
        if item.params.get("max_tokens"):
            return float(item.params["max_tokens"]), "max_tokens"
        return float(DEFAULT_OUTPUT_TOKENS), f"assumed {DEFAULT_OUTPUT_TOKENS} (set params.max_tokens)"

    def prompt_tokens(self, item: Item) -> int:
        if self.approximate:  # as the tokenizer path counts it, a model sent no prompt has no prompt tokens
            return 0 if provider_for(item.cand.kind).takes_vars else \
                int(math.ceil(sum(len(str(m.get("content") or "")) for m in item.messages) / 4))
        key = (item.cand.name, json.dumps(item.messages, sort_keys=True))
        if key not in self._tokens:
            self._tokens[key] = prompt_tokens(item.cand, item.messages)
        return self._tokens[key]

    def call(self, item: Item) -> CallEstimate:
        pt = self.prompt_tokens(item)
        ct, _ = self.output_tokens(item)
        seconds = self._charged_seconds(item)  # a local model needs none: its tokens set its price
        return CallEstimate(pt, ct, cost_of(item.cand, pt, int(math.ceil(ct)), seconds or 0.0))

    def _charged_seconds(self, item: Item) -> float | None:
        """The compute seconds a per_hour price charged the stored calls on average (None: no
        stored priced call, or no per_hour price): their cost less what tokens and per_call add."""
        price = item.cand.entry.price
        stored = self._costs.get((item.task.name, item.cand.name))
        if stored is None or price is None or not price.per_hour:
            return None
        mean_cost, pt, ct = stored
        fixed = cost_of(item.cand, round(pt), round(ct), 0.0) or 0.0
        return max(0.0, mean_cost - fixed) * 3600.0 / price.per_hour


def pending_calls(plan: Plan, store: Store, no_cache: bool) -> tuple[list[Item], int, int]:
    """(items that need a model call, how many are already stored, how many the cache answers)."""
    counts = RunCounts()
    pending = _pending(plan.items, store, RunOptions(no_cache=no_cache), counts)
    cache = {} if no_cache else store.cached_responses([it.call_key for it in pending])
    calls = [it for it in pending if it.call_key not in cache]
    return calls, counts.reused, len(pending) - len(calls)


def dry_run(plan: Plan, store: Store, no_cache: bool = False) -> DryRun:
    """What running the plan would call and cost; calls nothing."""
    calls, reused, cached = pending_calls(plan, store, no_cache)
    tasks = sorted({it.task.name for it in plan.items})
    est = Estimator(store.results_frame(tasks) if tasks else None)
    rows: dict[tuple[str, str], EstimateRow] = {}
    for it in plan.items:  # every task × model of the plan, in plan order, even with nothing to call
        key = (it.task.name, it.cand.name)
        if key not in rows:
            rows[key] = EstimateRow(*key, output_from=est.output_tokens(it)[1])
    for it in calls:
        row = rows[(it.task.name, it.cand.name)]
        c = est.call(it)
        row.calls += 1
        row.prompt_tokens += c.prompt_tokens
        row.completion_tokens += c.completion_tokens
        row.cost = None if row.cost is None or c.cost is None else row.cost + c.cost
    return DryRun(list(rows.values()), reused, cached)
