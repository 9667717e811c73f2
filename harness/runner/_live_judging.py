"""Judging sampled live calls of the incumbent: the task's own `llm_judge` grader, pointwise, on the
captured output of a sampled fraction of production calls, for the judged-fail drift monitor
(audit/_judge_monitor.py).

What is sampled. The caller picks the calls (the first attempt of each call when the registry's
model made it, with its output captured: Client(capture=True)) and `sampled` keeps a fixed fraction
of them, decided by a hash of the call id: a re-read samples the same calls, and whether a call is
sampled says nothing about its input or output.

Where it runs. Never on the application's call path: `tierwise audit` judges the sampled calls that
have no verdict yet, oldest first, at most `judge_per_read` per task per read (tierwise.yaml
`monitor:`), before the monitor reads them. Each verdict is written as soon as it is had (store
live_verdicts, keyed by the call and the grader's fingerprint, fingerprint.live_judge_hash), so a
re-read resumes and never judges a call twice; a call whose judge failed is recorded as failed (with
the reason), counts as a fail, as a judge error fails a grade offline, and is judged again on the next
read. The judge calls go through the run's machinery (runner/_judging.py: timeouts, retries, the
response cache, the judge's price) with the offline grader's prompts and verdict contract
(graders/_judge.py). A local judge is started only once there are calls to judge
(runner/_judge_session.py): a read with nothing to judge imports neither llama.cpp nor LiteLLM.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from ..fingerprint import live_judge_hash
from ..project import Case, Project, Task
from ..store import Store
from ._judge_session import LiveContext, ReadJudging, judge_each, ready_judge
from ._judging import Judging
from ._shadow_judging import NO_INPUT

_SALT = b"tierwise live judge\0"


def sampled(call_id: str, rate: float) -> bool:
    """Whether a call is in the judged sample: a fixed function of its id, so every read agrees."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(_SALT + str(call_id).encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") < rate * 2 ** 64


def judge_grader(task: Task) -> Any | None:
    """The grader that judges a task's live outputs: its first `llm_judge` grader, or None."""
    return next((g for g in task.graders if g.name == "llm_judge"), None)


class LiveJudging(ReadJudging):
    """What one read judged of a task's sampled live calls (`left`: over judge_per_read)."""


def judge_live_calls(project: Project, task: Task, store: Store, calls: list[dict[str, Any]],
                     max_calls: int) -> LiveJudging:
    """Judge the sampled calls (ledger rows: call_id, at, model, output) that have no verdict yet."""
    out = LiveJudging(task.name)
    grader = judge_grader(task)
    if grader is None:
        return out
    out.judge = live_judge_hash(task, grader)
    if not (grader.options.get("rubric") or grader.options.get("rubric_file")):
        out.note = ("its llm_judge takes the rubric from each golden case's expected text, which a live call "
                    "has not; fix: give the grader rubric: or rubric_file:")
        return out
    done = store.live_verdicts(task.name, out.judge)
    todo = [r for r in calls if r["call_id"] not in done or done[r["call_id"]]["passed"] is None]
    out.left = max(0, len(todo) - max_calls)
    todo = todo[:max_calls]
    if not todo:
        return out
    name = grader.options.get("judge") or ""
    cand, out.note = ready_judge(project, task, name)
    if cand is None:
        return out
    inputs = store.call_inputs(r["call_id"] for r in todo)

    return out.took(judge_each(project, name, cand, store, out.said, todo,
                               lambda judging, row: _judge_call(task, grader, judging, row,
                                                                inputs.get(row["call_id"]), out.judge),
                               store.write_live_verdicts, lambda v: v["passed"] is None,
                               lambda row, why: _verdict(task, row, out.judge, error=why)))


def _verdict(task: Task, row: dict[str, Any], judge: str, **values: Any) -> dict[str, Any]:
    return {"call_id": row["call_id"], "task": task.name, "model": row["model"], "judge": judge,
            "at": float(row["at"] or 0.0), "judged_at": time.time(), "passed": None, "score": None,
            "error": None, "eval_cost": 0.0, **values}


async def _judge_call(task: Task, grader: Any, judging: Judging, row: dict[str, Any],
                      values: dict[str, Any] | None, judge: str) -> dict[str, Any]:
    """One call's verdict row: the grader's passed and score, or a failure with its reason."""
    if values is None:
        return _verdict(task, row, judge, error=NO_INPUT)
    try:
        users = [m["content"] for m in task.render(row["model"], values) if m["role"] == "user"]
    except Exception as exc:  # noqa: BLE001 - a prompt that no longer renders these values fails this call only
        return _verdict(task, row, judge, error=f"the task's prompt does not render the call's input: {exc}")
    ctx = LiveContext(judging, row["model"], users[-1] if users else "")
    grade = await grader.agrade(str(row["output"]), Case(f"live-{row['call_id']}", values, None), ctx)
    detail = grade.detail or {}
    cost = detail.get("eval_cost", 0.0)
    if "judge_error" in detail or "score" not in detail:
        return _verdict(task, row, judge, error=grade.reason or "the judge gave no verdict", eval_cost=cost)
    return _verdict(task, row, judge, passed=bool(grade.passed), score=float(grade.score), eval_cost=cost)
