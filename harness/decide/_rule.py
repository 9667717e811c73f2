"""The decision rule: per task, the cheapest candidate whose quality clears the bar.

A candidate qualifies when it was evaluated on every case of the current golden set, its
one-sided lower confidence bound is at least the threshold, and its error rate and p95
latency are within the task's limits. The cheapest qualifying one is recommended; the
fallbacks are the next cheapest qualifying ones, preferring another provider. When nothing
qualifies the registry entry is left as it is and the decision says why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..models import Candidate
from ..project import Task
from ._figures import figures

MAX_FALLBACKS = 2


@dataclass
class CandidateResult:
    model: str
    target: str
    provider: str
    available: bool
    n: int = 0
    cases: int = 0
    mean: float = math.nan
    lower: float = 0.0
    method: str = ""
    error_rate: float = math.nan
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    cost_per_call: float | None = None
    completion_tokens_max: float = math.nan
    length_rate: float = math.nan
    run_ids: list[str] = field(default_factory=list)
    price_map_version: str = ""
    spec_hash: str = ""
    qualifies: bool = False
    why_not: str = ""
    # Judge evidence (tasks whose graders call a judge): the bound on the judge's grades alone,
    # the human verdicts on this model's outputs that corrected it (decide/_judged.py), and
    # what evaluating one output cost (the judge's calls), apart from cost_per_call.
    plain_lower: float | None = None
    human_labels: int = 0
    eval_cost_per_call: float = math.nan
    judge_errors: int = 0


@dataclass
class Comparison:
    """The proposed model against the current one, on the same cases."""

    current: str
    proposed: str
    n: int
    current_mean: float
    proposed_mean: float
    test: str           # mcnemar | paired_bootstrap
    p_value: float
    detail: str


@dataclass
class Decision:
    task: str
    threshold: float
    confidence: float
    status: str                 # recommend | keep | no_qualifier | no_data
    current: dict[str, Any] | None
    current_model: str | None   # catalog name of the current entry's model, if known
    recommended: str | None
    fallbacks: list[str]
    entry: dict[str, Any] | None  # the proposed registry entry
    changed: bool
    reason: str
    candidates: list[CandidateResult]
    comparison: Comparison | None = None
    sample_size_note: str | None = None
    notes: list[str] = field(default_factory=list)
    cost_per_1k_current: float | None = None
    cost_per_1k_recommended: float | None = None
    monthly_volume: float | None = None
    judge_agreement: dict[str, Any] | None = None  # the judge against human verdicts (see _judged.py)

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


def target_of(cand: Candidate) -> str:
    """The string the registry's `model:` holds for a candidate."""
    return cand.entry.target


def projected_monthly(decisions: list[Decision]) -> tuple[float, float, int] | None:
    """Monthly spend now and after, over tasks with a volume and a known current price."""
    before = after = 0.0
    counted = 0
    for d in decisions:
        if not d.monthly_volume or d.cost_per_1k_current is None:
            continue
        new = d.cost_per_1k_recommended if d.cost_per_1k_recommended is not None else d.cost_per_1k_current
        before += d.cost_per_1k_current * d.monthly_volume / 1000
        after += new * d.monthly_volume / 1000
        counted += 1
    return (before, after, counted) if counted else None


def candidate_results(task: Task, cands: dict[str, Candidate], frame: Any,
                      judged: Any = None) -> list[CandidateResult]:
    """Per-candidate figures from the task's current results (a DataFrame slice). With human
    verdicts on a judged task (`judged`, decide/_judged.py), a model's bound is the one
    corrected for the judge's error, and the plain one is kept beside it."""
    from . import stats

    out = []
    total = len(task.golden)
    for name in task.spec.candidates:
        cand = cands[name]
        res = CandidateResult(model=name, target=target_of(cand), provider=cand.provider,
                              available=cand.available, cases=total, spec_hash=task.spec_hash(name))
        rows = frame[frame["model"] == name] if len(frame) else frame
        if len(rows):
            f = figures(rows)
            bound = stats.lower_bound(f["scores"], task.spec.confidence)
            res.n, res.mean, res.lower, res.method = bound.n, bound.mean, bound.lower, bound.method
            for key in ("error_rate", "p50_ms", "p95_ms", "cost_per_call", "completion_tokens_max",
                        "length_rate", "run_ids", "eval_cost_per_call", "judge_errors"):
                setattr(res, key, f[key])
            policy = task.spec.judge
            corrected = None if judged is None else judged.corrected(
                name, task.spec.confidence, policy.bound if policy is not None else "exact")
            if corrected is not None:
                res.plain_lower, res.human_labels = res.lower, corrected.n_labeled
                res.lower = corrected.lower
                res.method = f"{corrected.method}, {corrected.n_labeled} human verdicts"
        res.qualifies, res.why_not = _qualifies(task, res, judged)
        out.append(res)
    return out


def _judge_trusted(task: Task, judged: Any) -> str:
    """Why judge evidence may not qualify a model on this task ("" when it may)."""
    from ._judged import uses_judge

    policy = task.spec.judge
    if policy is None or policy.min_agreement is None or not uses_judge(task):
        return ""
    where = f"judge.labels in {task.path}"
    if judged is None or judged.agreement is None:
        return f"the judge's agreement with people is not measured; add human verdicts ({where})"
    value = judged.agreement.value(policy.agreement)
    if not value >= policy.min_agreement:  # a NaN kappa (undefined) does not pass either
        shown = "undefined" if math.isnan(value) else f"{value:.2f}"
        return (f"judge agreement ({policy.agreement}) {shown} < min_agreement {policy.min_agreement:g} "
                f"on {judged.agreement.n} human verdicts")
    return ""


def _qualifies(task: Task, r: CandidateResult, judged: Any = None) -> tuple[bool, str]:
    spec = task.spec
    if r.n == 0:
        why = "not evaluated" + ("" if r.available else " (not available here)")
        return False, why
    if r.n < r.cases:
        return False, f"evaluated on {r.n} of {r.cases} cases; run `tierwise run {task.name} --models {r.model}`"
    if r.lower < spec.threshold:
        return False, f"lower bound {r.lower:.3f} < {spec.threshold:g} (mean {r.mean:.3f}, n={r.n})"
    if spec.max_error_rate is not None and r.error_rate > spec.max_error_rate:
        return False, f"error rate {r.error_rate:.1%} > {spec.max_error_rate:.1%}"
    if spec.max_p95_latency_ms is not None and not (r.p95_ms <= spec.max_p95_latency_ms):
        return False, f"p95 latency {r.p95_ms:.0f} ms > {spec.max_p95_latency_ms:.0f} ms"
    if r.cost_per_call is None:
        return False, "no price known; add price: to its tierwise.yaml entry"
    untrusted = _judge_trusted(task, judged)
    if untrusted:
        return False, untrusted
    return True, ""


def pick(results: list[CandidateResult]) -> tuple[CandidateResult | None, list[CandidateResult]]:
    """The cheapest qualifying candidate and its fallbacks (next cheapest, other providers first)."""
    qualifying = sorted((r for r in results if r.qualifies),
                        key=lambda r: (r.cost_per_call, -r.lower, -r.mean, r.model))
    if not qualifying:
        return None, []
    best, rest = qualifying[0], qualifying[1:]
    fallbacks: list[CandidateResult] = []
    providers = {best.provider}
    for r in rest:  # first pass: one per new provider, cheapest first
        if len(fallbacks) < MAX_FALLBACKS and r.provider not in providers:
            fallbacks.append(r)
            providers.add(r.provider)
    for r in rest:  # then fill with the cheapest remaining
        if len(fallbacks) < MAX_FALLBACKS and r not in fallbacks:
            fallbacks.append(r)
    fallbacks.sort(key=lambda r: (r.provider == best.provider, r.cost_per_call, r.model))
    return best, fallbacks


def decide(task: Task, cands: dict[str, Candidate], frame: Any, current: dict[str, Any] | None,
           volume: float | None = None) -> Decision:
    """Apply the decision rule to one task."""
    from . import stats
    from ._judged import task_judged

    judged = task_judged(task, frame)
    results = candidate_results(task, cands, frame, judged)
    by_target = {r.target: r for r in results}
    current_res = by_target.get(current["model"]) if current else None
    best, fallbacks = pick(results)
    decision = Decision(task=task.name, threshold=task.spec.threshold, confidence=task.spec.confidence,
                        status="no_data", current=current, current_model=current_res.model if current_res else None,
                        recommended=None, fallbacks=[], entry=None, changed=False, reason="", candidates=results,
                        monthly_volume=volume)
    if judged is not None and judged.agreement is not None:
        policy = task.spec.judge
        decision.judge_agreement = {**judged.agreement.to_dict(), "labels": judged.labels,
                                    "unmatched_labels": judged.unmatched,
                                    "measure": policy.agreement if policy else "accuracy",
                                    "min_agreement": policy.min_agreement if policy else None}
    decision.sample_size_note = stats.sample_size_note(len(task.golden), task.spec.threshold, task.spec.confidence)
    if current_res is not None and current_res.cost_per_call is not None:
        decision.cost_per_1k_current = current_res.cost_per_call * 1000
    evaluated = [r for r in results if r.n]
    if best is None:
        if not evaluated:
            decision.reason = "no candidate has results yet; run `tierwise run " + task.name + "`"
            return decision
        top = max(evaluated, key=lambda r: (r.lower, r.mean))
        decision.status = "no_qualifier"
        decision.reason = (f"nothing qualifies; best is {top.model} ({top.why_not}); "
                           f"{'entry left as it is' if current else 'no entry written'}")
        near = _near_miss(task, top)
        if near:
            decision.notes.append(near)
        return decision
    decision.recommended = best.model
    decision.fallbacks = [f.model for f in fallbacks]
    decision.entry = _entry(task, best, fallbacks)
    decision.cost_per_1k_recommended = best.cost_per_call * 1000
    decision.changed = current is None or any(current.get(k) != v for k, v in decision.entry.items())
    decision.status = "recommend" if decision.changed else "keep"
    decision.reason = _reason(results, best)
    decision.notes = _notes(task, best)
    if current_res is not None and current_res.model != best.model and current_res.n:
        decision.comparison = compare(frame, current_res.model, best.model)
    return decision


def _near_miss(task: Task, top: CandidateResult) -> str | None:
    """When the best mean clears the bar but its bound does not: how many cases would show it."""
    from . import stats

    if top.method == "bootstrap" or not top.mean > task.spec.threshold or top.lower >= task.spec.threshold:
        return None
    needed = stats.cases_needed(task.spec.threshold, task.spec.confidence, true_rate=top.mean)
    if needed is None or needed <= top.n:
        return None
    return (f"{top.model}'s mean {top.mean:.3f} is above {task.spec.threshold:g} but {top.n} cases cannot show it "
            f"at {task.spec.confidence:.0%} confidence; at that rate about {needed} cases would")


def _entry(task: Task, best: CandidateResult, fallbacks: list[CandidateResult]) -> dict[str, Any]:
    params = task.params()
    entry: dict[str, Any] = {"model": best.target, "fallbacks": [f.target for f in fallbacks]}
    entry["max_tokens"] = params.get("max_tokens") or suggested_max_tokens(best)
    if "temperature" in params:
        entry["temperature"] = params["temperature"]
    return entry


def suggested_max_tokens(r: CandidateResult) -> int | None:
    """When the spec sets none: observed longest answer with headroom, rounded up to 8."""
    if math.isnan(r.completion_tokens_max) or r.completion_tokens_max <= 0:
        return None
    return int(math.ceil(r.completion_tokens_max * 1.5 / 8.0) * 8)


def _reason(results: list[CandidateResult], best: CandidateResult) -> str:
    qualifying = [r for r in results if r.qualifies]
    short = [r for r in results if r.n and not r.qualifies and (r.cost_per_call or 0) <= (best.cost_per_call or 0)]
    text = f"cheapest of {len(qualifying)} qualifying"
    if short:
        cheaper = sorted(short, key=lambda r: (r.cost_per_call or 0, r.model))
        text += "; " + "; ".join(f"{r.model} fell short: {r.why_not}" for r in cheaper[:3])
    return text


def _notes(task: Task, best: CandidateResult) -> list[str]:
    notes = []
    max_tokens = task.params().get("max_tokens")
    if best.length_rate and best.length_rate > 0:
        notes.append(f"{best.length_rate:.0%} of {best.model}'s answers stopped at max_tokens={max_tokens} "
                     f"(finish_reason=length); consider raising max_tokens in {task.path}")
    return notes


def compare(frame: Any, current: str, proposed: str) -> Comparison | None:
    """Paired comparison on the cases both models answered: exact McNemar or paired bootstrap."""
    from . import stats

    a = frame[frame["model"] == current].set_index("case_id")["score"].fillna(0.0)
    b = frame[frame["model"] == proposed].set_index("case_id")["score"].fillna(0.0)
    common = a.index.intersection(b.index)
    if len(common) == 0:
        return None
    xa, xb = a.loc[common].to_numpy(dtype=float), b.loc[common].to_numpy(dtype=float)
    if stats.is_binary(xa) and stats.is_binary(xb):
        m = stats.mcnemar_exact(xa.astype(bool), xb.astype(bool))
        detail = (f"on {len(common)} shared cases: {proposed} right where {current} wrong {m.b_only}×, "
                  f"the reverse {m.a_only}×; exact McNemar p={m.p_value:.3g}")
        return Comparison(current, proposed, len(common), float(xa.mean()), float(xb.mean()), "mcnemar", m.p_value, detail)
    d = stats.paired_bootstrap(xa, xb)
    detail = (f"on {len(common)} shared cases: mean difference {d.diff:+.3f} "
              f"(95% CI {d.low:+.3f} to {d.high:+.3f}); paired bootstrap p={d.p_value:.3g}")
    return Comparison(current, proposed, len(common), float(xa.mean()), float(xb.mean()), "paired_bootstrap",
                      d.p_value, detail)


def _clean(value: Any) -> Any:
    """NaN -> None so the JSON document is valid JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
