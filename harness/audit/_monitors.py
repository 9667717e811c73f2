"""`tierwise audit`'s live monitors: each task's shadow challenger against its margin, and the
incumbent's output-label mix against the golden set's (harness/decide/_live.py, _drift.py).

Shown by `tierwise audit`; `tierwise audit --check` exits 1 when any monitor is in alarm, naming
the task, the monitor, since when and the fix (for a scheduled CI job). Each monitor replays its
stream from the store in call order, so looking at it after every call, or once a week, keeps the
same stated false-alarm rate.

What each needs: promotion needs shadow rows (harness/client/_shadow.py) and the spec's
`max_regression`. For a task a judge grades (open-ended outputs) the shadow monitor shows the
pairwise route (decide/_live_pairwise.py) from the verdicts already stored (store shadow_verdicts,
under the task's pairwise grader's fingerprint) and the human verdicts matched to the current
results: judged pairs, losses, ties and wins, failures, the corrected loss bound against
`max_regression`, PROMOTED by the rule `recommend` applies (decide/_promote.py
`pairwise_evidence`), else PENDING with what is missing. The monitor judges nothing itself: a
plain `tierwise audit` judges new pairs through the recommendation it shows, before the monitors
read them, and pairs not judged yet are counted as such. The label monitor needs captured outputs
(Client(capture=True)) of a task whose output is a set of choices, compared with the golden set's
expected labels; the rate monitors
("contract failures", "provider errors") need ledger rows and the registry model's stored results
for the task, whose errors and contract breaks (the client's own contract check, re-applied to the
stored outputs, latest result per case) are the evaluated rate. Production events are counted on
each call's first attempt when the registry's model made it (a call that started on a fallback
because the model was resting is not its evidence); an escalation is a contract failure of that
attempt, a fallback follows its provider error. Alpha per monitor is 1 - the spec's confidence.

Deferral monitors, for a cascade entry (in place of the two rate monitors above, which compare a
single model). A cascade's cost and quality were certified at the deferral rates the evaluation
measured: a stage that now defers more costs more (the dearer stages answer more), one that defers
less answers more cases itself than it was certified on, a quality risk. For each stage but the
last, the production stream is its attempts in the ledger (harness/client/_cascade.py writes `stage`
and `deferred`) in call order since the evidence was recorded (earlier rows ran an earlier entry);
the evaluated rate is the evidence's `cascade.stages[i]` (the cases that reached the stage, the ones
it deferred). Two rate monitors of decide/_drift.py at alpha / 2 each, "the deferral rate rose"
(events: deferred) and "it fell" (events: answered), so P(an alarm on a stage whose production rate
stays within the evaluated one) <= alpha however often audit runs; the line shows the evaluated
rate's two-sided interval from the evidence beside production's. A resting stage, passed over
without a call, is not an observation of it.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, Callable

from ._judge_monitor import judge_rows
from ._monitor_rows import MonitorRow, first_attempts, output_labels, primary_model

if TYPE_CHECKING:
    import pandas as pd


def live_monitors(project: Any, store_url: str, ledger_rows: list[dict[str, Any]],
                  current: Callable[[str], pd.DataFrame] | None = None) -> list[MonitorRow]:
    """Every monitor the store has data for, per task (tasks in name order). `current(task)`: the
    task's current stored results (those a recommendation reads), to match human verdicts to its
    outputs for a judged task's pairwise bound; without it no human verdict corrects the judge."""
    from ..decide import label_monitor, promotion
    from ..registry import read_evidence, read_registry
    from ..store import Store

    store = Store(store_url)
    try:
        shadow = store.shadow_calls()
    finally:
        store.close()
    registry = read_registry(project.registry_path)
    records = read_evidence(project.registry_path, missing_ok=True) if any("cascade" in e for e in registry.values()) \
        else None
    out: list[MonitorRow] = []
    for name, task in sorted(project.tasks.items()):
        spec = task.spec
        rows = [r for r in shadow if r["task"] == name]
        for challenger in sorted({r["challenger"] for r in rows}):
            mine = [r for r in rows if r["challenger"] == challenger]
            if spec.max_regression is None:
                out.append(MonitorRow(name, f"shadow {challenger}", "pending", None,
                                      f"{len(mine)} shadowed calls, but evals/{name}.yaml sets no max_regression; "
                                      f"set one to test non-inferiority"))
                continue
            if task.uses_judge:  # equal texts prove nothing for open-ended outputs: the pairwise route
                out += _pairwise_rows(task, mine, store_url, current)
                continue
            p = promotion([not r["agree"] for r in mine], spec.max_regression, spec.confidence)
            since = mine[p.since - 1]["at"] if p.since else None
            out.append(MonitorRow(name, f"shadow {challenger}", "promoted" if p.promoted else "pending", since, p.text))
        entry = registry.get(name) or {}
        if "cascade" in entry:
            out += _cascade_rows(project, name, entry, records, ledger_rows)
        else:
            out += _rate_rows(project, name, store_url, ledger_rows)
            out += judge_rows(project, name, store_url, ledger_rows)  # an llm_judge task (_judge_monitor.py)
        choices = spec.output.choices if spec.output is not None else None
        if choices:
            labels, times = output_labels(ledger_rows, name)
            if labels:
                golden = [str(c.expected) for c in task.golden.cases]
                m = label_monitor(labels, golden, choices, 1 - spec.confidence)
                since = times[m.since - 1] if m.since else None
                out.append(MonitorRow(name, "label mix", "alarm" if m.alarm else "ok", since, m.text, m.fix))
    return out


def _pairwise_rows(task: Any, rows: list[dict[str, Any]], store_url: str,
                   current: Callable[[str], pd.DataFrame] | None) -> list[MonitorRow]:
    """A challenger's pairwise route against each incumbent it shadowed, from the stored verdicts."""
    from ..decide import live_grader, pairwise_evidence, pairwise_shortfall, task_judged
    from ..fingerprint import live_judge_hash
    from ..store import Store

    challenger, monitor = rows[0]["challenger"], f"shadow {rows[0]['challenger']}"
    grader = live_grader(task)
    if grader is None:
        return [MonitorRow(task.name, monitor, "pending", None,
                           f"{len(rows)} shadowed calls; a judge grades {task.name} and none compares answers pairwise "
                           f"(agreement bounds the loss only for outputs graded by value); fix: add a `pairwise` "
                           f"grader to {task.path}")]
    with Store(store_url) as store:
        verdicts = store.shadow_verdicts(task.name, live_judge_hash(task, grader))
    judged = task_judged(task, current(task.name)) if current is not None else None
    out = []
    for incumbent in dict.fromkeys(r["incumbent"] for r in rows):
        ev = pairwise_evidence(task, rows, incumbent, challenger, verdicts, judged)
        assert ev is not None  # rows of the pair, a pairwise grader and max_regression: the caller checked
        p = ev.pairwise or {}
        waiting = (f"; {p['pending']} pairs not judged yet (`tierwise recommend` judges them)"
                   if p.get("pending") and ev.calls else "")
        if ev.shown:
            text = (f"non-inferior on live traffic (judged loss < {ev.margin:g} at {ev.confidence:.0%}) against "
                    f"{incumbent}: {ev.text}{waiting}")
            out.append(MonitorRow(task.name, monitor, "promoted", None, text))
        else:
            text = f"against {incumbent}: {ev.text}{waiting}; {pairwise_shortfall(task, ev)}"
            out.append(MonitorRow(task.name, monitor, "pending", None, text))
    return out


def _rate_rows(project: Any, task: str, store_url: str, ledger_rows: list[dict[str, Any]]) -> list[MonitorRow]:
    """The contract-failure and provider-error monitors of one task (none without a baseline)."""
    from ..decide import rate_monitor

    primary = primary_model(project, task)
    if primary is None:
        return []
    firsts = first_attempts(ledger_rows, task, primary)
    if not firsts:
        return []
    evaluated = _evaluated(project, task, primary, store_url)
    if evaluated is None:
        return []
    n0, errors0, broken0 = evaluated
    alpha = 1 - project.tasks[task].spec.confidence
    times = [float(r["at"]) for r in firsts]
    rows = []
    for monitor, outcome, base in (("contract failures", "contract_failed", broken0), ("provider errors", "error", errors0)):
        m = rate_monitor([r["outcome"] == outcome for r in firsts], base, n0, alpha, monitor)
        since = times[m.since - 1] if m.since else None
        rows.append(MonitorRow(task, monitor, "alarm" if m.alarm else "ok", since, m.text, m.fix))
    return rows


def _evaluated(project: Any, task: str, model: str, store_url: str) -> tuple[int, int, int] | None:
    """(cases, errors, contract breaks) of the model's latest stored result per case; None if none."""
    from ..project import Contract
    from ..store import Store

    store = Store(store_url)
    try:
        frame = store.results_frame(tasks=[task], columns=["id", "model", "case_id", "output", "error"])
    finally:
        store.close()
    frame = frame[frame["model"] == model]
    if frame.empty:
        return None
    latest = frame.sort_values("id").drop_duplicates("case_id", keep="last")
    contract = Contract(project.tasks[task])
    errors = int(latest["error"].notna().sum())
    broken = sum(contract.verdict(out or "").reason is not None
                 for out, err in zip(latest["output"], latest["error"]) if not isinstance(err, str))
    return len(latest), errors, int(broken)


DEFERRAL_FIX = ("re-evaluate the task with recent production cases in its golden set (tierwise audit --sample "
                "TASK N, then tierwise run TASK and tierwise recommend TASK --write)")


def _cascade_rows(project: Any, task: str, entry: dict[str, Any], records: Any,
                  ledger_rows: list[dict[str, Any]]) -> list[MonitorRow]:
    """One deferral monitor per stage but the last of a cascade entry whose evidence is a cascade's."""
    from ..decide import rate_monitor

    try:
        record = records.record(task) if records is not None else None
    except ValueError:  # a malformed record: the gate says so; there is no baseline to monitor against
        return []
    cascade = getattr(record, "cascade", None)
    if cascade is None or [s.target for s in cascade.stages] != [s.get("model") for s in entry["cascade"]]:
        return []
    alpha = 1 - project.tasks[task].spec.confidence
    since = _recorded(record.recorded_at)
    out = []
    for number, stage in enumerate(cascade.stages[:-1], start=1):
        rows = [r for r in ledger_rows if r["task"] == task and r.get("stage") == number
                and r["model"] == stage.model and (since is None or (r["at"] or 0.0) >= since)]
        if not rows:
            continue
        deferred = [r.get("deferred") is not None for r in rows]
        k0, n0 = stage.seen - stage.answered, stage.seen
        rose = rate_monitor(deferred, k0, n0, alpha / 2, "rose")
        fell = rate_monitor([not d for d in deferred], stage.answered, n0, alpha / 2, "fell")
        fired = [m for m in (rose, fell) if m.alarm]
        first = min(fired, key=lambda m: m.since) if fired else None
        lo, hi = (stage.interval + [None, None])[:2]
        evaluated = f"{k0}/{n0} = {k0 / n0:.3f} evaluated" if n0 else "none evaluated"
        if lo is not None and hi is not None:
            evaluated += f" [{lo:.3f}, {hi:.3f}]"
        seen = f"deferred {sum(deferred)}/{len(rows)} = {sum(deferred) / len(rows):.3f}"
        monitor = f"deferral stage {number} ({stage.model})"
        if first is None:
            out.append(MonitorRow(task, monitor, "ok", None, f"ok: {seen} against {evaluated}"))
            continue
        at = rows[first.since - 1]["at"]
        out.append(MonitorRow(task, monitor, "alarm", at, f"ALARM since call {first.since}: the deferral rate "
                                                         f"{first.monitor}: {seen} against {evaluated}", DEFERRAL_FIX))
    return out


def _recorded(recorded_at: str) -> float | None:
    """The evidence's recorded_at as unix time (None when absent or unreadable: every row counts)."""
    try:
        return _dt.datetime.fromisoformat(recorded_at).timestamp() if recorded_at else None
    except ValueError:
        return None
