"""Judging live shadow pairs: the task's `pairwise` grader, blind and in both orders, on each stored
pair (the incumbent's answer, the challenger's) not judged yet.

Where it runs. Never on the application's call path: the client only stores the pair (with
capture on, client/_shadow.py). `tierwise recommend` (and `tierwise audit`, which shows the
recommendation) calls `judge_shadow_pairs` when it reads a judged task's live evidence, before
decide/_live_pairwise.py bounds it. Verdicts are written in batches (store shadow_verdicts,
keyed by the shadow row and the grader's fingerprint, fingerprint.live_judge_hash), one transaction
each (runner/_judge_session.py): what waits is written every FLUSH_S seconds, at once when
store.VERDICT_BATCH wait, and when the read ends or is interrupted, so a crash loses at most the verdicts of its last second
(however slow the judge). A re-read resumes: a pair with a verdict is never judged again,
and a pair whose judge failed is recorded as failed (it counts against the challenger) and judged
again on the next read. The judge calls go through the run's own machinery (runner/_judging.py:
timeouts, retries, the response cache, the judge's price), with the offline grader's prompts and
verdict contract (graders/_judge.py), never a second judge.

The judge sees the task's input (the incumbent's rendered prompt, from the template variables the
ledger captured for the call) and the two answers labelled A and B, never a model's name. A local
(llama.cpp) judge is started in this process for the read, as a run starts it (models.Engines,
`local_threads:` from tierwise.yaml), only once there are pairs to judge, and stopped when they are
judged: a read with nothing to judge imports neither llama.cpp nor LiteLLM. An engine that cannot
start is a judge failure of every pair it was to judge: recorded with the reason, counted against
the challenger, and judged again by the next read.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..decide import live_grader
from ..fingerprint import live_judge_hash
from ..project import Case, Project, Task
from ..store import Store
from ._judge_session import LiveContext, ReadJudging, judge_each, ready_judge
from ._judging import Judging

MAX_PAIRS_PER_READ = 2000  # a backlog beyond this is judged by the next reads, never all at once
NO_INPUT = "the call's input is not in the usage ledger; fix: run the client with ledger on and capture=True"


class PairJudging(ReadJudging):
    """What one read judged of a task's shadow pairs (`left`: over MAX_PAIRS_PER_READ)."""

    def notes(self) -> list[str]:
        """The lines `recommend` shows about this read's judging."""
        out = [f"live pairs not judged: {self.note}"] if self.note else []
        out += self.said
        if self.judged:
            cost = f", ${self.cost:.4f}" if self.cost is not None else ", cost unknown"
            out.append(f"judged {self.judged} new shadow pairs ({self.calls} judge calls{cost})"
                       + (f"; {self.failed} judge failures, counted against the challenger until judged again"
                          if self.failed else ""))
        if self.left:
            out.append(f"{self.left} shadow pairs left for the next `tierwise recommend` (at most "
                       f"{MAX_PAIRS_PER_READ} a read)")
        return out


def judge_shadow_pairs(project: Project, task: Task, store: Store, rows: list[dict[str, Any]],
                       max_pairs: int = MAX_PAIRS_PER_READ) -> PairJudging:
    """Judge the task's stored shadow pairs that have no verdict yet (module docstring)."""
    out = PairJudging(task.name)
    grader = live_grader(task)
    if grader is None or task.spec.max_regression is None:
        return out
    out.judge = live_judge_hash(task, grader)
    name = grader.options.get("judge") or ""
    cand, out.note = ready_judge(project, task, name)
    if cand is None:
        return out
    done = store.shadow_verdicts(task.name, out.judge)
    todo = [r for r in rows if r["task"] == task.name and r["outcome"] == "ok" and r.get("output") is not None
            and r.get("incumbent_output") is not None
            and (r["id"] not in done or done[r["id"]]["outcome"] is None)]
    out.left = max(0, len(todo) - max_pairs)
    todo = todo[:max_pairs]
    if not todo:
        return out
    inputs = store.call_inputs(r["call_id"] for r in todo)

    return out.took(judge_each(project, name, cand, store, out.said, todo,
                               lambda judging, row: _judge_pair(task, grader, judging, row,
                                                                inputs.get(row["call_id"]), out.judge),
                               store.write_shadow_verdicts, lambda v: v["outcome"] is None,
                               lambda row, why: _pair_verdict(task, row, out.judge, error=why)))


def _pair_verdict(task: Task, row: dict[str, Any], judge: str, **values: Any) -> dict[str, Any]:
    return {"shadow_id": row["id"], "task": task.name, "judge": judge, "judged_at": time.time(),
            "outcome": None, "orders": None, "error": None, "eval_cost": 0.0, **values}


async def _judge_pair(task: Task, grader: Any, judging: Judging, row: dict[str, Any],
                      values: dict[str, Any] | None, judge: str) -> dict[str, Any]:
    """One pair's verdict row: the grader's outcome (win | tie | loss for the challenger), or a failure."""
    verdict = _pair_verdict(task, row, judge)
    if values is None:
        return {**verdict, "error": NO_INPUT}
    try:
        users = [m["content"] for m in task.render(row["incumbent"], values) if m["role"] == "user"]
    except Exception as exc:  # noqa: BLE001 - a prompt that no longer renders these values fails this pair only
        return {**verdict, "error": f"the task's prompt does not render the call's input: {exc}"}
    ctx = LiveContext(judging, row["challenger"], users[-1] if users else "", row["incumbent_output"])
    case = Case(f"shadow-{row['id']}", values, row["incumbent_output"])
    grade = await grader.agrade(row["output"], case, ctx)
    detail = grade.detail or {}
    verdict["eval_cost"] = detail.get("eval_cost")
    if "judge_error" in detail or "outcome" not in detail:
        return {**verdict, "error": grade.reason}
    return {**verdict, "outcome": detail["outcome"], "orders": json.dumps(detail.get("votes"), ensure_ascii=False)}
