"""The judged-fail drift monitor: the task's own judge on a sampled fraction of the incumbent's live
calls, against that model's judged fail rate on the golden set.

The claim. For a task graded by an `llm_judge` grader, with the client capturing (Client(capture=True)),
`tierwise audit` has the task's judge grade the captured output of a sampled fraction of the calls the
registry's model answered first (tierwise.yaml `monitor: {task: {judge_rate, judge_per_read}}`,
default 0.05 of the calls and at most 200 judged per read; runner/_live_judging.py), pointwise, with
the offline grader's prompts and verdict contract. The stream is the sampled calls with a verdict, in
call order; an event is a FAIL (the grade did not pass, or the judge gave no verdict, as a judge error
fails a grade offline). decide/_drift.rate_monitor, the construction the contract-failure monitor
uses, tests it against the evaluated rate: the model's latest stored result per golden case (calls
that failed with an error left out: the provider-error monitor counts those), failed when its
llm_judge grade did not pass. If every live call's chance of a judged FAIL, given the calls before
it, stays at or below the golden set's judged fail rate,

    P(the monitor ever raises an alarm, however often audit runs) <= alpha = 1 - the spec's confidence,

(Clopper-Pearson upper bound of the golden rate at alpha/2, a beta-binomial mixture martingale at
alpha/2, Ville's inequality; decide/_drift.py). The sample is decided by a hash of the call id
(runner/_live_judging.sampled), independent of the call's content, so the sampled stream has the
production stream's rate.

The assumption. The monitor sees the judge's verdicts, not the truth: it holds as a statement about
quality only if the judge errs on live outputs as it erred on the golden set's (the same rate of
false passes and false fails). Offline the judge may also have been shown the case's expected text as
a reference answer; live there is none, so a judge that leans on the reference may grade live
outputs more harshly, and the alarm then says so about the judge, not the model (the task's judge:
labels: agreement measures the judge offline only). Judge failures count as fails on both sides and
are judged again on the next read; a judge that starts failing live (an engine that cannot start, a
provider outage) raises the alarm until its calls are judged again, and the line says how many of
the judged calls were judge failures.

Measured (benchmarks/shadow.py, docs/decisions.md): golden set of 100, true fail rate 0.10, a judge
that fails good outputs at 0.05 and passes bad ones at 0.20 alike on both sides: false alarms on 0.005
of 1000 null streams of 6,000 judged calls; a rise to 0.25 detected on 0.471 of them, median delay
2,023 judged calls. With the judge twice as harsh live (false fails 0.10), the assumption broken,
false alarms on 0.110 of the streams.

Alternatives rejected. The golden set's judged rate plugged in as known: 0.388 false alarms on the
contract-failure benchmark (decide/_drift.py). A test of the mean score (scale: N judges): the grade's
own `passed` (score >= pass_at) is the verdict the grader states for both scales, and a 0/1 event keeps
the exact (Clopper-Pearson) bound on the baseline that a bounded mean would have to replace with a
looser one.

Limits. Only the llm_judge grader is run live (a pairwise grader needs a second answer: the shadow
route judges those pairs). A grader that takes its rubric from each case's expected text cannot judge
a live call: the line says so. The baseline is the latest stored result per case, whatever judge
options graded it; re-run the task after changing its judge.
"""

from __future__ import annotations

from typing import Any

from ._monitor_rows import MonitorRow, first_attempts, primary_model

FIX = ("re-evaluate the task with recent production cases in its golden set (tierwise audit --sample TASK N, "
       "then tierwise run TASK); if the judge is at fault, check it against people's verdicts (judge: labels:)")


def judge_rows(project: Any, task: str, store_url: str, ledger_rows: list[dict[str, Any]]) -> list[MonitorRow]:
    """The judged-fail monitor of one task ([] when it has no llm_judge, no sampled captured calls or a
    zero judge_rate); judges the sampled calls not judged yet first (bounded per read)."""
    from ..runner import judge_grader, sampled

    spec_task = project.tasks[task]
    grader = judge_grader(spec_task)
    settings = project.config.monitor_of(task)
    if grader is None or settings.judge_rate == 0:
        return []
    primary = primary_model(project, task)
    if primary is None:
        return []
    picked = [r for r in first_attempts(ledger_rows, task, primary)
              if r.get("outcome") in ("ok", "contract_failed") and r.get("output") is not None
              and sampled(r["call_id"], settings.judge_rate)]
    if not picked:
        return []
    monitor = f"judged fails ({grader.options.get('judge') or 'no judge'})"
    baseline = _evaluated(spec_task, primary, store_url, grader)
    if baseline is None:
        return [MonitorRow(task, monitor, "pending", None,
                           f"{len(picked)} sampled calls, but no judged golden-set results of {primary} to compare "
                           f"with; run `tierwise run {task}`")]
    return [_judged(project, spec_task, primary, store_url, picked, baseline, monitor, settings.judge_per_read)]


def _judged(project: Any, task: Any, primary: str, store_url: str, picked: list[dict[str, Any]],
            baseline: tuple[int, int], monitor: str, per_read: int) -> MonitorRow:
    from ..decide import rate_monitor
    from ..runner import judge_live_calls
    from ..store import Store

    store = Store(store_url)
    try:
        done = judge_live_calls(project, task, store, picked, per_read)
        verdicts = store.live_verdicts(task.name, done.judge) if done.judge else {}
    finally:
        store.close()
    judged = [(r, verdicts[r["call_id"]]) for r in picked if r["call_id"] in verdicts]
    failures = sum(v["passed"] is None for _, v in judged)
    about = [f"{len(judged)} of {len(picked)} sampled calls judged"]
    if failures:
        about.append(f"{failures} judge failures, counted as fails until judged again")
    if done.left:
        about.append(f"{done.left} left for the next read (at most {per_read} a read)")
    about += [f"judge: {s}" for s in done.said]
    if done.note:
        about.append(f"not judged: {done.note}")
    if not judged:
        return MonitorRow(task.name, monitor, "pending", None, "; ".join(about))
    n0, fails0 = baseline
    m = rate_monitor([v["passed"] is not True for _, v in judged], fails0, n0, 1 - task.spec.confidence, "fails")
    since = float(judged[m.since - 1][0]["at"]) if m.since else None
    head = f"at judged call {m.since}: " if m.since else "ok: "  # the stream counts judged calls, not calls
    return MonitorRow(task.name, monitor, "alarm" if m.alarm else "ok", since,
                      f"{head}{m.text.split(': ', 1)[1]} on the golden set ({'; '.join(about)})", FIX)


def _evaluated(task: Any, model: str, store_url: str, grader: Any) -> tuple[int, int] | None:
    """(cases, judged fails) of the model's latest stored result per golden case without an error,
    by the task's llm_judge grade; None without such results."""
    import pandas as pd

    from ..store import Store

    index = task.graders.index(grader)
    store = Store(store_url)
    try:
        frame = store.results_frame(tasks=[task.name], columns=["id", "model", "case_id", "error"])
        frame = frame[frame["model"] == model]
        if frame.empty:
            return None
        latest = frame.sort_values("id").drop_duplicates("case_id", keep="last")
        latest = latest[latest["error"].isna()]
        ids = [int(i) for i in latest["id"]]
        parts = [store.grades_frame(ids[i:i + 500]) for i in range(0, len(ids), 500)]  # bounded IN lists
    finally:
        store.close()
    if not parts:
        return None
    grades = pd.concat(parts, ignore_index=True)
    mine = grades[(grades["grader"] == "llm_judge") & (grades["idx"] == index)]
    if mine.empty:
        return None
    return len(mine), int((~mine["passed"].astype(bool)).sum())
