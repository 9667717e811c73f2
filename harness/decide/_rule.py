"""The decision rule: per task, the cheapest candidate whose quality clears the bar.

Quality is decided for all candidates together (decide/_selection.py, Holm's step-down), so the
chance that any candidate whose true mean is below the threshold qualifies stays at most
1 - confidence however many candidates a task has. The family is fixed before any score is
looked at: every candidate evaluated on every case (or, for an adaptive run, every candidate
of the task, with p-values that stay valid under its stopping rule, decide/_adaptive.py).
After that a candidate must also keep its error rate and p95 latency within the task's limits
and have a known price; removing candidates can only lower the error. The cheapest qualifying
one is recommended; the fallbacks are the next cheapest qualifying ones, preferring another
provider. A change against a current model with results is backed by a one-sided paired
non-inferiority test (decide/_noninferiority.py); when the spec sets `max_regression` a change
that is not shown non-inferior is not proposed. When nothing qualifies the registry entry is
left as it is and the decision says why.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..models import Candidate
from ..project import GRADE_TIMEOUT_S, Task
from ..util import below
from . import _cascade_policy as cascade_policy
from ._cost import cost_order_key, spread_of, tie_note
from ._decision import CandidateResult, Decision, entry_label, newest_price_map, registry_entry
from ._figures import figures
from ._noninferiority import compare
from ._qualify import qualification
from ._sample_size import near_miss, sample_size_note

if TYPE_CHECKING:  # loaded on first use below: a plain run's summary needs none of them
    import numpy as np
    import pandas as pd

    from ._adaptive import AdaptiveSettings
    from ._cascade import PolicySelection
    from ._judged import TaskJudged
    from ._selection import Selection
    from ._sequential import AdaptiveState

MAX_FALLBACKS = 2


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


def candidate_results(task: Task, cands: dict[str, Candidate], frame: pd.DataFrame,
                      used: dict[str, set[str]] | None = None, groups: dict[str, pd.DataFrame] | None = None,
                      stale: frozenset[str] = frozenset(), run_versions: dict[str, Any] | None = None
                      ) -> list[CandidateResult]:
    """Per-candidate figures from the task's current results (a DataFrame slice); the quality
    verdicts are filled in by `decide`. `used`: an adaptive run's cases per candidate (only those
    count); `stale`: the models with stored results that no longer match the spec; `run_versions`:
    each run's recorded price_map_version, by run id."""
    out = []
    total = len(task.golden)
    for name in task.spec.candidates:
        cand = cands[name]
        res = CandidateResult(model=name, target=target_of(cand), provider=cand.provider,
                              available=cand.available, cases=total, spec_hash=task.spec_hash(name),
                              weights_bytes=cand.weights_bytes)
        rows = groups.get(name, frame.iloc[:0]) if groups is not None else \
            (frame[frame["model"] == name] if len(frame) else frame)
        if used is not None and len(rows):
            rows = rows[rows["case_id"].isin(used.get(name, set()))]
        if len(rows):
            f = figures(rows)
            means = case_scores(rows)
            res.n, res.mean = len(means), float(means.mean())
            res.repeats = int(rows.groupby("case_id").size().max())
            if res.repeats > 1:
                res.consistency = consistency(rows)
            for key in ("error_rate", "p50_ms", "p95_ms", "cost_per_call", "completion_tokens_max",
                        "length_rate", "run_ids", "first_error", "eval_cost_per_call", "judge_errors"):
                setattr(res, key, f[key])
            res.cost_spread = spread_of(rows, cand.compute_priced)
            res.price_map_version = newest_price_map(res.run_ids, run_versions or {})
        res.stale = not len(rows) and name in stale
        out.append(res)
    return out


def case_scores(rows: pd.DataFrame) -> np.ndarray:
    """Each case's score (the mean of its repeats; failed calls count 0): the unit of every bound."""
    return rows["score"].fillna(0.0).clip(0, 1).groupby(rows["case_id"], sort=False).mean().to_numpy(dtype=float)


def consistency(rows: pd.DataFrame) -> dict[str, int]:
    """How many cases passed how many of their repeats: {"3 of 3": 180, "2 of 3": 15, ...}."""
    passed = rows["passed"].fillna(False).astype(bool)
    per_case = passed.groupby(rows["case_id"]).agg(["sum", "count"])
    counts: dict[str, int] = {}
    for k, n in sorted(zip(per_case["sum"], per_case["count"]), key=lambda kn: (-kn[1], -kn[0])):
        label = f"{int(k)} of {int(n)}"
        counts[label] = counts.get(label, 0) + 1
    return counts


def _quality(task: Task, results: list[CandidateResult], frame: pd.DataFrame, state: AdaptiveState | None = None,
             data: dict[str, np.ndarray] | None = None, groups: dict[str, pd.DataFrame] | None = None,
             check_timeout_s: float = GRADE_TIMEOUT_S) -> Selection | PolicySelection | None:
    """Decide every candidate's quality together (Holm); fills p-values, bounds and why_not.
    `groups`: the frame's rows by model, when the caller has them already; `check_timeout_s`: the
    deadline of a cascade's verifier on each stored answer."""
    from ._selection import Candidate as Evidence
    from ._selection import select

    spec = task.spec
    by_model = {r.model: r for r in results}
    if state is not None:
        from ._adaptive import settled_lower
        from ._sequential import final_selection

        ranks = {n: float(i) for i, n in enumerate(state.stops)}
        if spec.cascades:  # the same anytime-valid p-values, in one family with the cascades
            from ._cascade_data import decide_with_cascades
            from ._sequential import adaptive_candidates

            if groups is None:
                groups = dict(tuple(frame.groupby("model", sort=False))) if len(frame) else {}
            singles = adaptive_candidates(state, ranks, len(spec.cascades))
            selection = decide_with_cascades(task, singles, groups, check_timeout_s)
        else:
            selection = final_selection(state, ranks)
        plan = state.plan
        for v in selection.verdicts:
            r = by_model.get(v.name)
            if r is None:
                continue
            stop = state.stops[v.name]
            level = v.level if v.level is not None else plan.alpha / plan.family_size
            r.lower = settled_lower(data[v.name][: stop.cases_run], plan, level)
            r.method, r.level = "anytime" if stop.cases_run < plan.total else "anytime+exact", v.level
            r.p_value, r.adjusted_p, r.adaptive = stop.p_value, v.adjusted_p, stop.text
            r.settled = stop.status in ("qualified", "cannot_qualify", "not_needed")
            r.qualifies = v.qualifies
            r.why_not = "" if v.qualifies else (stop.text if stop.status != "undecided" else
                                                _why(r, spec.threshold, level))
        return selection
    # The family is the spec's candidate list, fixed before any score is seen: a candidate without
    # results on every current case (not run, not run since a case was added, no key here) is
    # tested as having no evidence (p = 1), so re-running fewer candidates never buys a weaker
    # correction (issue 29: re-running only the best-looking cheap candidate after adding a case
    # took the wrong-pick rate to 5 in 40 with six near-bar candidates).
    tested = [r for r in results if r.n and r.n >= r.cases]
    if not tested:
        return None
    if groups is None:
        groups = dict(tuple(frame.groupby("model", sort=False)))
    scores = {r.model: case_scores(groups[r.model]) for r in tested}
    evidence = [Evidence(r.model, r.cost_per_call, scores=scores[r.model]) for r in tested]
    evidence += [Evidence(r.model, r.cost_per_call, successes=0, n=0) for r in results if r not in tested]
    if spec.cascades:  # cascades join the family (decide/_cascade.py); without them, Holm as before
        from ._cascade_data import decide_with_cascades

        selection = decide_with_cascades(task, evidence, groups, check_timeout_s)
    else:
        selection = select(evidence, spec.threshold, spec.confidence, procedure="holm")
    for v in selection.verdicts:
        r = by_model[v.name]
        if r not in tested:  # counted in the family, never qualifies; _limits says what it lacks
            continue
        r.lower, r.method, r.p_value, r.adjusted_p, r.level = v.lower, v.method, v.p_value, v.adjusted_p, v.level
        if r.repeats > 1 and v.method == "bootstrap":
            r.method = "cluster_bootstrap"
        r.qualifies = v.qualifies
        r.why_not = "" if v.qualifies else _why(r, spec.threshold, v.level, v.why_not)
    return selection


def _why(r: CandidateResult, threshold: float, level: float | None, fallback: str = "") -> str:
    if level is None:
        return fallback or "not tested: Holm's procedure stopped at a candidate with a larger p-value"
    return (f"lower bound {below(r.lower)} < {threshold:g} at {round((1 - level) * 100, 4):g}% "
            f"(mean {r.mean:.3f}, n={r.n})")


def _limits(task: Task, r: CandidateResult, agreement: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether a candidate qualifies: results on every case, the procedure's quality verdict, then
    the rule the gate applies too (decide/_qualify.py); the reason when not."""
    if r.n == 0:
        if r.adaptive:
            return False, r.adaptive
        if not r.available:
            return False, "not evaluated (not available here)"
        if r.stale:
            return False, (f"not evaluated under the current spec (its stored results are for an earlier spec, "
                           f"catalog entry or golden set); run `tierwise run {task.name} --models {r.model}`")
        return False, f"not evaluated yet; run `tierwise run {task.name} --models {r.model}`"
    if r.error_rate == 1.0:
        return False, f"all {r.n} calls failed: {r.first_error}"
    if r.n < r.cases and not r.adaptive:
        return False, f"evaluated on {r.n} of {r.cases} cases; run `tierwise run {task.name} --models {r.model}`"
    if not r.qualifies:
        return False, r.why_not
    verdict = qualification(task, r, agreement)
    return verdict.qualifies, verdict.reason


def _correct_for_the_judge(task: Task, results: list[CandidateResult], judged: TaskJudged | None) -> None:
    """With human verdicts on a judged task, a model's bound is the one corrected for the judge's
    measured error (decide/_judged.py), the plain one kept beside it; a corrected bound under the
    bar cannot qualify, whatever the judge's grades alone say."""
    if judged is None:
        return
    policy = task.spec.judge
    for r in results:
        if not r.n:
            continue
        human = judged.models[r.model].human if r.model in judged.models else []
        if human:
            r.human_labels, r.human_mean = len(human), sum(human) / len(human)
        corrected = judged.corrected(r.model, task.spec.confidence, policy.bound if policy is not None else "exact")
        if corrected is None:
            continue
        r.plain_lower, r.human_labels = r.lower, corrected.n_labeled
        r.lower = min(r.lower, corrected.lower)
        r.method = f"{corrected.method}, {corrected.n_labeled} human verdicts"
        if r.qualifies and r.lower < task.spec.threshold:
            r.qualifies = False
            r.why_not = (f"lower bound corrected for the judge's error {below(r.lower)} < {task.spec.threshold:g} "
                         f"(judge alone {r.plain_lower:.3f}; {corrected.n_labeled} human verdicts)")
        elif not r.qualifies and r.why_not and r.lower < r.plain_lower:
            # the text was the judge's grades alone: say the bound the decision uses first
            r.why_not = (f"lower bound corrected for the judge's error {below(r.lower)} < {task.spec.threshold:g} "
                         f"({corrected.n_labeled} human verdicts); judge alone: {r.why_not}")


def pick(results: list[CandidateResult], first: CandidateResult | None = None
         ) -> tuple[CandidateResult | None, list[CandidateResult]]:
    """The cheapest qualifying candidate (or `first`) and its fallbacks (next cheapest, other
    providers first)."""
    # Ties on price (costs within their measured spread) go to the smaller weights, then the better
    # mean, then the smaller adjusted p-value: not to the lower bound, which with Holm depends on
    # the order ties in the p-values happened to be tested in (decide/_cost.py).
    qualifying = [r for r in results if r.qualifies]
    qualifying.sort(key=cost_order_key(qualifying))
    if not qualifying:
        return None, []
    best = first if first is not None else qualifying[0]
    # A fallback calls what the primary calls when they share a target (two catalog names for one
    # model, say at two prices): it would add nothing when the primary fails, so it is not one.
    targets, rest = {best.target}, []
    for r in qualifying:
        if r.target not in targets:
            targets.add(r.target)
            rest.append(r)
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


def decide(task: Task, cands: dict[str, Candidate], frame: pd.DataFrame, current: dict[str, Any] | None,
           volume: float | None = None, adaptive: AdaptiveSettings | None = None,
           stale: frozenset[str] = frozenset(), check_timeout_s: float = GRADE_TIMEOUT_S,
           run_versions: dict[str, Any] | None = None) -> Decision:
    """Apply the decision rule to one task. `adaptive`: the AdaptiveSettings of the task's
    adaptive run, when its verdicts (valid under optional stopping) are to decide; `stale`: models
    with results only under an old spec; `check_timeout_s`: a cascade verifier's deadline per answer
    (the project's grade_timeout_s); `run_versions`: each run's price_map_version, by run id."""
    state = data = used = None
    if adaptive is not None and adaptive.family_size < task.spec.family_size:
        # a run recorded over fewer policies than the spec names (candidates and cascades, listed
        # or suggested) is decided over the spec's family all the same (its p-values stay valid;
        # Holm over more is only stricter); never over fewer than the run stopped with
        adaptive = replace(adaptive, family_size=task.spec.family_size)
    if adaptive is not None and len(frame):
        from ._adaptive import case_sequence, replay

        state, data = replay(task, frame, adaptive)
        order = case_sequence(task)
        used = {name: set(order[:stop.cases_run]) for name, stop in state.stops.items()}
    groups = dict(tuple(frame.groupby("model", sort=False))) if len(frame) else {}
    from ._judged import task_judged

    judged = task_judged(task, frame)
    results = candidate_results(task, cands, frame, used, groups, stale, run_versions)
    selection = _quality(task, results, frame, state, data, groups, check_timeout_s)
    _correct_for_the_judge(task, results, judged)
    agreement = judged.agreement.to_dict() if judged is not None and judged.agreement is not None else None
    for r in results:
        r.qualifies, r.why_not = _limits(task, r, agreement)
    by_target: dict[str, CandidateResult] = {}
    for r in results:  # two catalog entries may share a target (one rule, two prices): the first names it
        by_target.setdefault(r.target, r)
    current_res = by_target.get(current.get("model")) if current else None
    best, fallbacks = pick(results)
    decision = Decision(task=task.name, threshold=task.spec.threshold, confidence=task.spec.confidence,
                        status="no_data", current=current, current_model=current_res.model if current_res else None,
                        recommended=None, fallbacks=[], entry=None, changed=False, reason="", candidates=results,
                        monthly_volume=volume, adaptive=state is not None)
    if judged is not None and judged.agreement is not None:
        policy = task.spec.judge
        decision.judge_agreement = {**judged.agreement.to_dict(), "labels": judged.labels,
                                    "unmatched_labels": judged.unmatched,
                                    "measure": policy.agreement if policy else "accuracy",
                                    "min_agreement": policy.min_agreement if policy else None}
    decision.procedure = selection.describe() if selection is not None else ""
    decision.family = list(task.spec.candidates) + [c.label for c in task.spec.cascades]
    decision.cascades = selection.cascade_rows() if selection is not None else []
    if task.spec.suggested_cascades:
        decision.suggested_cascades = {"suggested": len(task.spec.suggested_cascades),
                                       "tried": list(getattr(selection, "tried", ()))}
    from ._cascade import PolicySelection

    if isinstance(selection, PolicySelection):  # a cascade verifier that timed out, say
        decision.notes += selection.notes
    cascade_policy.note_current(task, decision)
    if state is not None and selection is not None:
        decision.procedure += "; adaptive run: p-values valid under its stopping rule (anytime-valid)"
    family = selection.family_size if selection is not None else task.spec.family_size
    decision.sample_size_note = sample_size_note(len(task.golden), task.spec.threshold, task.spec.confidence, family)
    if current_res is not None and current_res.cost_per_call is not None:
        decision.cost_per_1k_current = current_res.cost_per_call * 1000
    if state is not None and not state.done:
        decision.notes.append(f"the adaptive run of {task.name} is not finished; run `tierwise run {task.name} "
                              f"--adaptive` to continue it (its verdicts so far are valid, only less decided)")
    evaluated = [r for r in results if r.n]
    pin = (current or {}).get("pin")
    pin_note = None
    fallbacks_for = lambda last: pick(results, first=last)[1]  # noqa: E731 - a cascade's fallbacks, as a model's
    if pin and cascade_policy.keep_pinned(task, decision, fallbacks_for, agreement):
        return decision
    if pin and best is not None:
        if current_res is None or not current_res.qualifies:
            why = current_res.why_not if current_res is not None else "not a candidate of this task"
            decision.status = "keep"
            decision.reason = (f"pinned ({pin}): {entry_label(current)} does not qualify ({why}); the cheapest qualifying "
                               f"is {best.model}; entry left as it is; remove pin: from the entry to switch")
            return decision
        if current_res is not best:
            cheapest = best
            best, fallbacks = pick(results, first=current_res)
            saving = (best.cost_per_call - cheapest.cost_per_call) * 1000
            pin_note = (f"pinned ({pin}): {cheapest.model} is the cheapest qualifying; unpinning would save "
                        f"${saving:.4g} per 1,000 calls")
            decision.reason = f"pinned: {pin} (not the cheapest qualifying: {cheapest.model} is)"
    elif best is not None and current is not None and (current_res is None or current_res.model != best.model):
        best, fallbacks = _backed_change(task, frame, decision, results, current_res, best, fallbacks)
    if not pin and cascade_policy.choose(task, frame, decision, results, selection, best, current_res,
                                         fallbacks_for, agreement):
        return decision
    if best is None:
        if not evaluated:
            decision.reason = "no candidate has results yet; run `tierwise run " + task.name + "`"
            return decision
        top = best_evaluated(evaluated)
        decision.status = "no_qualifier"
        if not decision.reason:
            unevaluated = [r.model for r in results if not r.n]
            failed = [f"{r.model}: {r.why_not}" for r in evaluated if r is not top and r.error_rate == 1.0]
            decision.reason = (f"nothing qualifies; best evaluated is {top.model}{_people(top)} ({top.why_not}); "
                               + "".join(f"{f}; " for f in failed)
                               + (f"not evaluated under the current spec: {', '.join(unevaluated)}; "
                                  if unevaluated else "")
                               + ("entry left as it is" if current else "no entry written"))
        near = near_miss(task, top, family)
        if near:
            decision.notes.append(near)
        return decision
    decision.recommended = best.model
    decision.fallbacks = [f.model for f in fallbacks]
    decision.entry = registry_entry(task, best, fallbacks, pin)
    decision.cost_per_1k_recommended = best.cost_per_call * 1000
    decision.changed = current is None or any(current.get(k) != v for k, v in decision.entry.items())
    decision.status = "recommend" if decision.changed else "keep"
    decision.reason = decision.reason or _reason(results, best)
    decision.notes += _notes(task, best) + ([pin_note] if pin_note else [])
    decision.notes += [n for n in [tie_note([r for r in results if r.qualifies], best)] if n]
    return decision


def _backed_change(task: Task, frame: pd.DataFrame, decision: Decision, results: list[CandidateResult],
                   current_res: CandidateResult | None, best: CandidateResult, fallbacks: list[CandidateResult]
                   ) -> tuple[CandidateResult | None, list[CandidateResult]]:
    """Test the proposed change against the current model; when the spec requires it and
    non-inferiority is not shown, keep the current model if it qualifies, else propose nothing."""
    margin = task.spec.max_regression
    if current_res is not None and current_res.n:
        decision.comparison = compare(frame, current_res.model, best.model, margin or 0.0, task.spec.confidence,
                                      required=margin is not None)
    if margin is None or (decision.comparison is not None and decision.comparison.shown):
        return best, fallbacks
    current = entry_label(decision.current) if decision.current else "the current model"
    if decision.comparison is None:
        why = (f"{best.model} is not shown non-inferior to {current} (max_regression {margin:g} in {task.path}): "
               f"{current} has no results on these cases; "
               + (f"run `tierwise run {task.name} --models {current_res.model}`" if current_res is not None
                  else f"add it to candidates: in {task.path} and run it"))
    else:
        why = f"the change to {best.model} is not backed: {decision.comparison.detail}"
    if current_res is not None and current_res.qualifies:
        decision.reason = f"keeps {current_res.model}: {why}"
        return pick(results, first=current_res)
    decision.reason = f"nothing proposed: {why}; {'entry left as it is'}"
    return None, []


def best_evaluated(evaluated: list[CandidateResult]) -> CandidateResult:
    """The candidate to name when nothing qualifies: the highest bound, unless people judged
    its outputs worse than another's; then the one people passed most often (human verdicts
    outrank a judge's grades, and "best" must never contradict them)."""
    top = max(evaluated, key=lambda r: (r.qualifies, r.lower, r.mean))
    labelled = [r for r in evaluated if r.human_labels]
    if top.human_labels and labelled:
        people = max(labelled, key=lambda r: (r.qualifies, r.human_mean, r.lower, r.mean))
        if people.human_mean > top.human_mean:
            return people
    return top


def _people(r: CandidateResult) -> str:
    if not r.human_labels:
        return ""
    passed = r.human_mean * r.human_labels
    return f", people passed {passed:.3g} of its {r.human_labels} labelled outputs"


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


