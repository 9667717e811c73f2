"""The labelling queue: what a person can answer, in the order that helps the decision most.

Three kinds of item:

- **judge**: one candidate's output on a case of a judged task (a grader calls a judge model),
  not yet given a human verdict. The answer (pass / fail) is appended to the task's labels file
  (`judge.labels`, else golden_sets/TASK.labels.jsonl) as `{"case", "model", "output", "verdict",
  "by", "at"}`.
- **pairwise**: the same, for a task graded by a blind comparison (the `pairwise` grader is its
  only grader that calls a model): the input and two answers — the candidate's output and what the
  grader compared it with (the case's reference, or the `against:` model's output) — in a random
  order fixed per item, neither named. The person picks the better one or calls them equally good;
  the outcome for the candidate's output (win / tie / loss) becomes pass or fail exactly as the
  grader's `rate` makes the judge's (non_loss: a win or a tie passes), and is appended to the
  labels file like a judge verdict, the preference kept in its `note`. The order on the page and
  in the data the page holds is the blind one; the server finds which answer was the candidate's
  from the item's key.
- **golden**: a production input drafted by `tierwise audit --sample` (golden_sets/TASK.candidates.jsonl)
  that is not in the golden set yet. The answer (the expected value: one of the outputs shown,
  or edited) is appended to the golden set as a case, with who and when in its `metadata`.

Outputs are shown blind (no model name, no judge verdict) and, where there are several, in a
random order fixed per case.

The order. Judge items: candidates first by how far one more verdict on one of their outputs is
expected to move the bound the decision uses (decide's `corrected_lower_bound`), weighted by how
near that bound is to the bar (a candidate far above or below the bar does not change the
decision by one verdict): E|Δ| / (|bound − threshold| + E|Δ|). E|Δ| averages the four outcomes
(judge pass/fail × person pass/fail) at the current rates: the judge's pass share, and its
over-/under-grading seen in the verdicts so far (add-one smoothed). WITHIN a candidate the order
is random (seeded by the case id), never "most likely wrong first": the corrected bound is valid
only when the labelled outputs are a random sample of that candidate's outputs, and picking the
outputs the judge seems to have got wrong would bias the measured over-grading. This ordering
is a heuristic for where to spend a person's time; it promises nothing itself. Candidates it
ranks equal (often all at 0, when no single verdict can move a bound) go the candidate the
decision names first, then by how near the bar their mean is.

Golden items come in the order `audit --sample` wrote them (newest captured first): with one
captured output per input there is no disagreement to rank by.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ITEMS = 500  # a page carries at most this many items; answering reloads the rest


@dataclass
class Item:
    key: str                      # opaque to the page: the server finds the item again from it
    kind: str                     # judge | pairwise | golden
    task: str
    case: str
    input: str
    outputs: list[str]            # blind, in a fixed random order
    priority: float = 0.0
    reference: str = ""           # the case's reference answer (golden set `expected`), for the person
    model: str = ""               # whose output (kept on the server: the page never sees it)


@dataclass
class TaskQueue:
    task: str
    kind: str                     # judge | pairwise | golden
    target: str                   # the file answers go to, relative to the project
    items: list[Item] = field(default_factory=list)
    done: int = 0                 # answers already in the file (retracted ones left out)
    settle: str = ""              # how many more answers would settle the task, at current rates
    counted: int | None = None    # judge verdicts in the file that are about a current output (the decision's)
    not_counted: str = ""         # why the rest of the file's verdicts do not count
    short: str = ""               # when the queue holds fewer items than `settle` needs: why, and the command
    note: str = ""
    rubric: str = ""              # what the judge is asked, shown beside each item: people judge by the same


def build_queues(project: Any, rec: Any) -> list[TaskQueue]:
    """Every task's queue (judged tasks: judge verdicts; tasks with sampled inputs: golden cases)."""
    queues = []
    frame = rec.frame
    for d in rec.decisions:
        task = project.tasks[d.task]
        if task.uses_judge:
            rows = frame[frame["task"] == d.task] if frame is not None and len(frame) else None
            queues.append(judge_queue(project, task, d, rows))
        drafted = project.root / "golden_sets" / f"{d.task}.candidates.jsonl"
        if drafted.is_file():
            queues.append(golden_queue(project, task, d, drafted))
    return queues


# ---- judge verdicts ------------------------------------------------------------------------------


def labels_target(project: Any, task: Any) -> Path:
    """Where a task's human verdicts go: the spec's judge.labels, else golden_sets/TASK.labels.jsonl."""
    judge = task.spec.judge
    rel = judge.labels if judge is not None and judge.labels else f"golden_sets/{task.name}.labels.jsonl"
    return Path(rel) if Path(rel).is_absolute() else project.root / rel


def judge_rows(rows: Any) -> list[dict[str, Any]]:
    """The judged outputs: one dict per stored row that has an output and no error."""
    if rows is None or len(rows) == 0:
        return []
    from ..util import redactor

    hide = redactor()  # shown, keyed and written to the labels file redacted: a key known since it was stored too
    out = []
    for r in rows.itertuples(index=False):
        if isinstance(r.error, str) or not isinstance(r.output, str):
            continue
        out.append({"case": str(r.case_id), "model": r.model, "output": hide(r.output), "passed": bool(r.passed)})
    return out


def item_key(task: str, case: str, model: str, output: str, kind: str = "judge") -> str:
    ref = hashlib.sha256(json.dumps([model, output]).encode()).hexdigest()[:16]
    return f"{kind}:{task}:{ref}:{case}"


@dataclass(frozen=True)
class Pairwise:
    """A task graded by one blind comparison (the `pairwise` grader): what its outputs are compared
    with, and how its outcome becomes a pass (docs/judges.md)."""

    against: str                  # "reference" (the case's expected text) or a catalog model
    rate: str                     # non_loss: a win or a tie passes; win: only a win

    def reference(self, case: Any, outputs: dict[str, str]) -> str | None:
        """The text the output was compared with on this case (None: not known here)."""
        if self.against == "reference":
            return case.expected if isinstance(case.expected, str) and case.expected.strip() else None
        return outputs.get(self.against)

    def verdict(self, outcome: str) -> str:
        """A person's outcome (win | tie | loss of the output) as the judge's pass/fail would be."""
        return "pass" if outcome == "win" or (outcome == "tie" and self.rate == "non_loss") else "fail"


def pairwise_of(task: Any) -> Pairwise | None:
    """The task's blind comparison when it is the only grader that calls a model (else None: a
    person's pass/fail is the verdict to give)."""
    calling = [g for g in task.graders if getattr(g, "calls_models", False)]
    if len(calling) != 1 or calling[0].name != "pairwise" or calling[0].options.get("not"):
        return None
    options = calling[0].options
    return Pairwise(str(options.get("against", "reference")), str(options.get("rate", "non_loss")))


def blind_order(key: str) -> tuple[int, int]:
    """Where an item's output and its reference are shown (0 or 1), fixed per item by its key."""
    return (0, 1) if int(_shuffle_rank(key + ":order")[0], 16) % 2 == 0 else (1, 0)


def pair_outputs(pair: Pairwise, rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """case -> model -> output, what `against: MODEL` compares with."""
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        out.setdefault(r["case"], {})[r["model"]] = r["output"]
    return out


def judge_queue(project: Any, task: Any, d: Any, rows: Any) -> TaskQueue:
    from ..util import shown_path

    target = labels_target(project, task)
    given = read_labels(target)
    judged = judge_rows(rows)
    golden = {c.id: c for c in task.golden.cases}
    labelled = [(r, [g for g in given if _matches(g, r)]) for r in judged]
    pair = pairwise_of(task)
    queue = TaskQueue(task.name, "pairwise" if pair else "judge", shown_path(target, project.root),
                      done=sum(1 for g in given if _verdict(g) is not None), rubric="" if pair else judge_rubric(task))
    compared = pair_outputs(pair, judged) if pair else {}
    unknown = 0
    if task.spec.judge is None or not task.spec.judge.labels:
        queue.note = (f"evals/{task.name}.yaml has no judge.labels: verdicts go to {queue.target}; add "
                      f"`judge: {{labels: {queue.target}}}` to the spec so decisions use them")
    by_model: dict[str, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = {}
    for r, labs in labelled:
        by_model.setdefault(r["model"], []).append((r, labs))
    results = {c.model: c for c in d.candidates}
    weight = {m: _weight(pairs, results.get(m), d) for m, pairs in by_model.items()}
    for model, pairs in by_model.items():
        for r, labs in pairs:
            if labs or r["case"] not in golden:
                continue
            case = golden[r["case"]]
            if pair is None:
                queue.items.append(Item(item_key(task.name, r["case"], model, r["output"]), "judge", task.name,
                                        r["case"], input_text(case.vars), [r["output"]], weight[model],
                                        reference_text(case.expected), model))
                continue
            if model == pair.against:
                continue  # compared with itself: a tie, nothing for a person to add
            reference = pair.reference(case, compared.get(r["case"], {}))
            if reference is None:
                unknown += 1
                continue
            key = item_key(task.name, r["case"], model, r["output"], "pair")
            shown = [r["output"], reference]
            queue.items.append(Item(key, "pairwise", task.name, r["case"], input_text(case.vars),
                                    [shown[i] for i in blind_order(key)], weight[model], model=model))
    if unknown:
        queue.note = "; ".join(filter(None, [queue.note, f"{unknown} outputs have nothing to compare with here "
                                             f"({pair.against}'s output for their case is not among the results)"]))
    named = named_candidate(d)
    tie = {m: _tie_rank(m, results, d, named[0].model if named else None) for m in by_model}
    queue.items.sort(key=lambda it: (-it.priority, tie.get(it.model, (2, 2.0)), _shuffle_rank(it.key)))
    _count_verdicts(queue, d, given, judged)
    queue.settle, more, model = _judge_settle(by_model, results, d)
    if model is not None:
        queue.short = _judge_short(queue, task, d, model, more, {r["case"] for r in judged if r["model"] == model})
    elif not judged:
        queue.short = f"no outputs to label: the task has no results yet; `tierwise run {task.name}` makes them"
    return queue


def _count_verdicts(queue: TaskQueue, d: Any, given: list[dict[str, Any]], judged: list[dict[str, Any]]) -> None:
    """How many of the file's verdicts the decision uses (they are about a current output), and why
    the rest are not: the decision's own count where it has one (decide's task_judged)."""
    verdicts = [g for g in given if _verdict(g) is not None]
    counted = sum(1 for g in verdicts if any(_matches(g, r) for r in judged))
    agreement = d.judge_agreement or {}
    if isinstance(agreement.get("labels"), int) and isinstance(agreement.get("unmatched_labels"), int):
        counted = agreement["labels"] - agreement["unmatched_labels"]
    queue.counted = counted
    queue.not_counted = not_counted(len(verdicts) - counted)


def not_counted(rest: int) -> str:
    """Why `rest` verdicts of a labels file do not count in the decision ("" for none)."""
    if rest <= 0:
        return ""
    return (f"{rest} were given on outputs that are not the current ones (a later run changed those outputs, "
            f"or that case has no output from that model now), so they do not count")


def _judge_short(queue: TaskQueue, task: Any, d: Any, model: str, more: int | None, with_output: set[str]) -> str:
    """When the queue holds fewer of `model`'s outputs than the settle line needs (or none at all):
    why, and the command that makes more outputs to label."""
    mine = sum(1 for it in queue.items if it.model == model)
    if more is not None and mine >= more and queue.items:
        return ""
    total = len(task.golden)
    missing = total - len(with_output & {c.id for c in task.golden.cases})
    have = f"{mine} of {model}'s outputs to label here" + (f" ({len(queue.items)} in all)" if len(queue.items) != mine else "")
    need = f", fewer than the {more} more the line above needs" if more is not None and more > mine else ""
    if missing > 0:
        why = ("the adaptive run stopped it early, once its verdict was settled" if d.adaptive
               else "the run covered only some cases: --limit, --shard or failed calls")
        return (f"{have}{need}: {missing} of the {total} cases of {task.name} have no output from {model} yet ({why}). "
                f"`tierwise run {task.name} --no-adaptive` gives every candidate's output on all {total} cases "
                f"(it calls only what is not stored yet); then reload this page")
    if more is None or more <= mine:
        return ""
    return (f"{have}{need}: every case of {task.name} already has its output from {model}, so more verdicts need "
            f"more cases: add cases to {task.spec.golden_set} and run `tierwise run {task.name}`")


def _matches(label: dict[str, Any], row: dict[str, Any]) -> bool:
    """A label read from the file is about this row (the rule of project/_labels.py's Label.matches)."""
    if str(label.get("case")) != row["case"]:
        return False
    output, model = label.get("output"), label.get("model")
    if isinstance(output, str):
        return output.strip() == row["output"].strip() and (model is None or model == row["model"])
    return model == row["model"]


def _verdict(label: dict[str, Any]) -> float | None:
    v = label.get("verdict")
    if v in ("pass", True):
        return 1.0
    if v in ("fail", False):
        return 0.0
    return float(v) if isinstance(v, (int, float)) and 0 <= v <= 1 else None


def _rates(pairs: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> tuple[list[float], list[float], list[float]]:
    """(human verdicts, judge verdicts on those outputs, judge verdicts on the unlabelled ones)."""
    human, judged, unlabelled = [], [], []
    for r, labs in pairs:
        verdicts = [v for v in (_verdict(g) for g in labs) if v is not None]
        if verdicts:
            human.append(sum(verdicts) / len(verdicts))
            judged.append(float(r["passed"]))
        else:
            unlabelled.append(float(r["passed"]))
    return human, judged, unlabelled


def _weight(pairs, result: Any, d: Any) -> float:
    """E|Δ bound| of one more verdict on this candidate, relative to its distance from the bar."""
    from ..decide import corrected_lower_bound

    human, judged, unlabelled = _rates(pairs)
    if not unlabelled or result is None:
        return 0.0
    plain = result.plain_lower if result.plain_lower is not None else result.lower
    now = result.lower
    p_judge = sum(judged + unlabelled) / len(judged + unlabelled)
    over = (sum(1 for h, j in zip(human, judged) if j > h) + 1) / (sum(1 for j in judged if j) + 2)
    under = (sum(1 for h, j in zip(human, judged) if j < h) + 1) / (sum(1 for j in judged if not j) + 2)
    rest = list(unlabelled)
    expected = 0.0
    for j, p_j in ((1.0, p_judge), (0.0, 1 - p_judge)):
        if p_j == 0 or j not in rest:
            continue
        left = list(rest)
        left.remove(j)
        p_wrong = over if j else under
        for h, p_h in ((1 - j, p_wrong), (j, 1 - p_wrong)):
            after = corrected_lower_bound(human + [h], judged + [j], left, d.confidence).lower
            expected += p_j * p_h * abs(min(plain, after) - now)
    return expected / (abs(now - d.threshold) + expected) if expected > 0 else 0.0


def _tie_rank(model: str | None, results: dict[str, Any], d: Any, named: str | None) -> tuple[int, float]:
    """Among candidates one verdict moves equally (often not at all: a corrected bound at 0 stays
    there), the candidate the decision names first, then the others by how near the bar their
    mean is: a trial on the example spent 13 of 20 verdicts on SmolLM2 (mean 0.000) while the
    model the decision is about waited. `named`: that candidate's model (named_candidate)."""
    if named is not None and named == model:
        return (0, 0.0)
    r = results.get(model)
    mean = getattr(r, "mean", None)
    return (1, abs(mean - d.threshold) if isinstance(mean, (int, float)) and mean == mean else 2.0)


def named_candidate(d: Any) -> tuple[Any, str] | None:
    """(the candidate the decision's own text names, its role): the recommended one, else the best
    evaluated (decide's best_evaluated, the one "nothing qualifies; best evaluated is …" names)."""
    from ..decide import best_evaluated

    by_model = {c.model: c for c in d.candidates}
    if d.recommended in by_model:
        return by_model[d.recommended], "recommended"
    evaluated = [c for c in d.candidates if c.n]
    return (best_evaluated(evaluated), "the decision's best evaluated") if evaluated else None


def _judge_settle(by_model, results: dict[str, Any], d: Any) -> tuple[str, int | None, str | None]:
    """(one line: how many more verdicts would settle the candidate the decision names, those more
    verdicts (None: none needed, or no number can), that candidate)."""
    from ..decide import labels_needed

    named = named_candidate(d)
    if named is None or named[0].model not in by_model:
        return "no judged outputs yet: run the task first", None, None
    c, role = named
    model, who = c.model, f"{c.model} ({role})"
    human, judged, unlabelled = _rates(by_model[model])
    over_count = sum(1 for h, j in zip(human, judged) if j > h)
    over = over_count / len(human) if human else 0.0
    if c.qualifies:
        return (f"{who} clears the bar (corrected bound {c.lower:.3f}; {len(human)} human verdicts on its outputs)",
                None, model)
    needed = labels_needed(judged + unlabelled, over, d.threshold, d.confidence, have=len(human))
    seen = f"over-grading {over_count} of {len(human)} verdicts so far" if human else "no verdicts yet"
    if needed is None:
        return (f"{who}: at the current rates ({seen}) no number of verdicts lifts its corrected bound "
                f"to {d.threshold:g}; more verdicts only confirm the shortfall (they still measure the judge: its "
                f"accuracy and kappa against people, which every judged decision of this task rests on)"), None, model
    more = max(0, needed - len(human))
    return (f"{who}: about {more} more human verdicts on its outputs would settle it "
            f"at the current rates ({seen}; {needed} in all)"), more, model


# ---- golden-set candidates -----------------------------------------------------------------------


def golden_queue(project: Any, task: Any, d: Any, drafted: Path) -> TaskQueue:
    from ..util import shown_path

    target = task.spec.golden_set
    target_path = Path(target) if Path(target).is_absolute() else project.root / target
    queue = TaskQueue(task.name, "golden", shown_path(target_path, project.root))
    known_ids = {c.id for c in task.golden.cases}
    known_vars = {json.dumps(c.vars, sort_keys=True) for c in task.golden.cases}
    for entry in read_jsonl(drafted):
        case_id, variables = entry.get("id"), entry.get("vars")
        if not isinstance(case_id, str) or not isinstance(variables, dict):
            continue
        if case_id in known_ids or json.dumps(variables, sort_keys=True) in known_vars:
            queue.done += 1
            continue
        outputs = _drafted_outputs(entry)
        order = sorted(range(len(outputs)), key=lambda i: _shuffle_rank(f"{case_id}:{i}"))
        queue.items.append(Item(f"golden:{task.name}:{case_id}", "golden", task.name, case_id,
                                input_text(variables), [outputs[i] for i in order]))
    queue.settle, more = _golden_settle(d)
    if more and len(queue.items) < more:
        queue.short = (f"{len(queue.items)} sampled inputs to label, fewer than the {more} more cases the line above "
                       f"needs: `tierwise audit --sample {task.name} N` drafts N more from the production ledger "
                       f"(or add cases to {task.spec.golden_set} by hand)")
    return queue


def _drafted_outputs(entry: dict[str, Any]) -> list[str]:
    """The outputs a drafted case carries (the incumbent's, a shadow challenger's, any others), each once."""
    seen: list[str] = []
    answers = [entry.get("incumbent"), entry.get("challenger")] + list(entry.get("outputs") or [])
    for a in answers:
        text = a.get("output") if isinstance(a, dict) else a
        if isinstance(text, str) and text not in seen:
            seen.append(text)
    return seen


def _golden_settle(d: Any) -> tuple[str, int | None]:
    """Golden cases the candidate the decision names needs at its current rate (decide's
    cases_needed, 80% power), and how many more that is (None: none, or no number)."""
    from ..decide import cases_needed

    named = named_candidate(d)
    if named is None or not named[0].method.startswith("exact") or math.isnan(named[0].mean):
        return "", None
    c, role = named
    who = f"{c.model} ({role})"
    if c.qualifies:
        return f"{who} clears the bar on {c.n} cases", None
    needed = cases_needed(d.threshold, d.confidence, c.mean)
    if needed is None:
        return f"{who}: its rate {c.mean:.3f} is at or below the bar {d.threshold:g}: more cases will not lift it", None
    more = max(0, needed - c.n)
    return (f"{who}: at its current rate {c.mean:.3f}, about {more} more golden cases "
            f"({needed} in all) clear the bar with 80% power"), more


# ---- shared ------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSONL file, skipping lines that are not JSON objects (shown, not trusted)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def read_labels(path: Path) -> list[dict[str, Any]]:
    """A labels file's verdict lines that no later line retracts (project/_labels.py's rule)."""
    from ..project import live_lines

    return [obj for _, _, obj in live_lines(((i, "", o) for i, o in enumerate(read_jsonl(path))), strict=False)]


REFERENCE_LIMIT = 4000  # characters of a reference answer shown on an item


def reference_text(expected: Any) -> str:
    """A case's reference answer as the page shows it ("" when the case has none), cut to a page's worth."""
    if expected is None:
        return ""
    text = expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)
    return text if len(text) <= REFERENCE_LIMIT else text[:REFERENCE_LIMIT] + " …[cut]"


def judge_rubric(task: Any) -> str:
    """The rubric of the task's judge graders, as the judge reads it."""
    rubrics = [g.get("rubric") for g in task.spec.graders if isinstance(g, dict) and isinstance(g.get("rubric"), str)]
    text = "\n\n".join(r.strip() for r in rubrics if r.strip())
    return text if len(text) <= REFERENCE_LIMIT else text[:REFERENCE_LIMIT] + " …[cut]"


def input_text(variables: dict[str, Any]) -> str:
    if len(variables) == 1:
        value = next(iter(variables.values()))
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "\n".join(f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                     for k, v in variables.items())


def _shuffle_rank(key: str) -> str:
    return hashlib.sha256(f"tierwise-view:{key}".encode()).hexdigest()


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
