"""`tierwise gate` for a cascade entry: the checks a model entry gets (registry/_gate.py), made for
a cascade's evidence, with no store, no keys and no model call.

A cascade entry passes when
- its evidence is a cascade's, for exactly the entry's stages, signals and confidence threshold,
  and the entry's max_tokens, temperature, options and fallbacks are those measured;
- the record is consistent with itself (registry/_consistency.py for its figures and digest, and
  here: the fixed-sequence chain down the grid certified a prefix, each certified p-value is at most
  the level it was tested at, the threshold is the last certified point, the exact p-value at that
  point follows from the recorded successes and n, and the deferral counts add up stage by stage);
- it was measured on the current spec, catalog and golden set (each stage as a model is, and the
  cascade's own identity: its signals, a check's code, its grid), decided over every policy the
  spec names;
- its lower bound clears the task's threshold and limits, and the fallbacks' do.
"""

from __future__ import annotations

from typing import Any

from ..decide import entry_label, qualification
from ..project import Project
from ..util import below, threshold_text
from ..decide.stats import binomial_upper_tail
from ._consistency import ROUNDING, evidence_problems
from ._evidence import TaskEvidence, evidence_path
from ._gate import FAIL, PARAM_KEYS, PASS, STALE, TaskGate, _option_problems, _stale_model, _staleness, run_fix, value_text


def check_cascade(project: Project, name: str, entry: dict[str, Any], evidence: Any,
                  evidence_problem: str = "") -> TaskGate:
    """Judge one cascade entry against its recorded evidence; calls no model, reads no store."""
    task = project.tasks.get(name)
    label = entry_label(entry)
    if task is None:
        return TaskGate(name, FAIL, "registry entry has no eval spec (no evals/*.yaml defines this task)",
                        f"restore its spec in evals/, or remove tasks.{name} from {project.config.registry}")
    fix = run_fix(name)
    if evidence_problem:
        return TaskGate(name, FAIL, f"no evidence: {evidence_problem}",
                        f"{fix}, and commit {evidence_path(project.registry_path).name}")
    try:
        record = evidence.record(name)
    except ValueError as exc:
        return TaskGate(name, FAIL, f"evidence for {name} is malformed ({exc})", fix)
    if record is None:
        return TaskGate(name, FAIL, f"registry {label} has no evidence", fix)
    if record.cascade is None:
        return TaskGate(name, FAIL, f"registry {label} has no evidence (the evidence is for the model "
                                    f"{record.target})", fix)
    inconsistent = evidence_problems(evidence.tasks[name], record) + chain_problems(record)
    if inconsistent:
        return TaskGate(name, FAIL, f"evidence for {name} is inconsistent: {'; '.join(inconsistent)}",
                        f"{fix} (or check it afresh with tierwise gate --rerun)")
    cascade = record.cascade
    problems = entry_problems(entry, record)
    for key in PARAM_KEYS:
        have, measured = entry.get(key), record.params.get(key)
        if have != measured:
            problems.append(f"registry {key} {value_text(have)} but the evidence was measured with {key} "
                            f"{value_text(measured)}")
    records = {fb.target: fb for fb in record.fallbacks}
    fallbacks = list(entry.get("fallbacks") or [])
    stage_targets = [s.target for s in cascade.stages]
    problems += [f"fallback {fb} is a stage of the cascade" for fb in fallbacks if fb in stage_targets]
    problems += [f"fallback {fb} has no evidence" for fb in fallbacks if fb not in records and fb not in stage_targets]
    problems += _option_problems(entry, [*cascade.stages, *(records[fb] for fb in fallbacks if fb in records)])
    stale = _staleness(project, task, record, cascade.stages[0], [])
    for stage in cascade.stages[1:]:
        stale += _stale_model(project, task, stage, record.params)
    for fb in fallbacks:
        if fb in records:
            stale += [f"fallback {s}" for s in _stale_model(project, task, records[fb], record.params)]
    stale += cascade_staleness(task, record, stale)
    if problems:
        return TaskGate(name, FAIL, "; ".join(problems + stale), fix)
    if stale:
        return TaskGate(name, STALE, "stale evidence: " + "; ".join(stale), fix)
    # the rule recommend applies (decide/_qualify.py), to the cascade's recorded figures and today's spec
    verdict = qualification(task, record, record.judge_agreement, record.threshold)
    quality = family_problems(task, record) + [f"cascade {cascade.name} {why}" for why in verdict.shortfalls]
    quality += [verdict.judge] if verdict.judge else []
    quality += [f"fallback {records[fb].model} {why}" for fb in fallbacks if fb in records
                for why in qualification(task, records[fb], record.judge_agreement).shortfalls]
    if quality:
        return TaskGate(name, FAIL, "; ".join(quality), fix)
    at = f" at confidence >= {cascade.threshold:g}" if cascade.threshold is not None else ""
    text = (f"cascade {cascade.name}{at}, lower {below(record.lower)} ≥ {threshold_text(task.spec.threshold)} "
            f"(n={record.n}); first stage defers {cascade.deferral_rate:.1%}")
    if entry.get("pin"):
        text += f"; pinned ({entry['pin']})"
    if fallbacks:
        text += "; fallbacks " + ", ".join(f"{records[fb].model} {records[fb].lower:.3f}" for fb in fallbacks)
    return TaskGate(name, PASS, text)


def entry_problems(entry: dict[str, Any], record: TaskEvidence) -> list[str]:
    """Where a cascade entry differs from the cascade its evidence measured: the stages, each
    stage's signals, the confidence threshold."""
    measured = record.cascade.stages
    have = [s["model"] for s in entry["cascade"]]
    want = [s.target for s in measured]
    if have != want:
        return [f"registry cascade {' > '.join(have)} but the evidence is for {' > '.join(want)}"]
    out = []
    for i, (stage, rec) in enumerate(zip(entry["cascade"], measured)):
        if (stage.get("defer") or []) != rec.defer:
            out.append(f"registry cascade[{i}] ({stage['model']}) defers on {signals_text(stage.get('defer'))} but "
                       f"the evidence was measured with {signals_text(rec.defer)}")
    return out


def chain_problems(record: TaskEvidence) -> list[str]:
    """What makes a cascade record inconsistent with itself ('cascade.field: why')."""
    c = record.cascade
    points: list[float | None] = list(c.grid) or [None]
    if not len(c.p_values) == len(c.levels) == len(c.certified) == len(points):
        return [f"cascade: p_values, levels and certified need one entry per grid point ({len(points)})"]
    passed = [j for j, ok in enumerate(c.certified) if ok]
    if not passed:
        return ["cascade.certified: no grid point was certified, so the cascade does not qualify"]
    out = []
    if passed != list(range(len(passed))):
        out.append("cascade.certified: a fixed sequence certifies grid points in order, but a point is certified "
                   "after one that was not")
    for j in passed:
        p, level = c.p_values[j], c.levels[j]
        if level is None or not p <= level * (1 + 1e-9):
            out.append(f"cascade.p_values[{j}]: {p} is not at most the level it was tested at ({level})")
    chosen = passed[-1]
    if c.threshold != points[chosen]:
        out.append(f"cascade.threshold: {c.threshold} but the last certified grid point is {points[chosen]}")
    if record.level is not None and c.levels[chosen] is not None and abs(record.level - c.levels[chosen]) > 1e-12:
        out.append(f"level: {record.level} but the chain tested the chosen point at {c.levels[chosen]}")
    if record.successes is not None and record.method == "exact" and record.successes <= record.n:
        p = binomial_upper_tail(record.successes, record.n, record.threshold)
        if abs(p - c.p_values[chosen]) > max(1e-12, 1e-6 * p):
            out.append(f"cascade.p_values[{chosen}]: {c.p_values[chosen]} but {record.successes} of {record.n} "
                       f"cases against the bar {record.threshold:g} give {p:.6g}")
    written = [s for st in c.stages for s in st.defer if isinstance(s, dict) and "confidence" in s]
    if any(s["confidence"] != c.threshold for s in written):
        out.append(f"cascade.stages: a stage defers below confidence {written[0]['confidence']} but the chosen "
                   f"threshold is {c.threshold}")
    return out + _share_problems(record)


def _share_problems(record: TaskEvidence) -> list[str]:
    """The deferral counts: each stage saw what the one before deferred, the last answered all."""
    c = record.cascade
    seen = record.n
    for i, s in enumerate(c.stages):
        last = i == len(c.stages) - 1
        if s.seen != seen or s.answered > s.seen or (last and s.answered != s.seen):
            return [f"cascade.stages[{i}]: saw {s.seen} and answered {s.answered}, but {seen} cases reached it"
                    + (" and the last stage answers every one" if last else "")]
        rate = (s.seen - s.answered) / s.seen if s.seen else None
        if rate is not None and (s.deferral_rate is None or abs(s.deferral_rate - rate) > ROUNDING):
            return [f"cascade.stages[{i}].deferral_rate: {s.deferral_rate} but it deferred {s.seen - s.answered} "
                    f"of {s.seen}"]
        if rate is not None and len(s.interval) == 2 and not s.interval[0] - ROUNDING <= rate <= s.interval[1] + ROUNDING:
            return [f"cascade.stages[{i}].interval: {s.interval} does not contain its deferral rate {rate:.6g}"]
        seen = s.seen - s.answered
    if c.deferral_rate != c.stages[0].deferral_rate:
        return [f"cascade.deferral_rate: {c.deferral_rate} is not the first stage's {c.stages[0].deferral_rate}"]
    return []


def cascade_staleness(task: Any, record: TaskEvidence, stale: list[str]) -> list[str]:
    """Why the cascade itself no longer is what the spec names: gone, other stages, or (when no
    stage is stale) its signals, a check's code or its grid changed."""
    c = record.cascade
    spec = next((s for s in task.spec.cascades if s.label == c.name), None)
    if spec is None:
        return [f"cascade {c.name} is no longer a candidate in {task.path}"]
    if spec.models != [s.model for s in c.stages]:
        return [f"cascade {c.name} in {task.path} now has the stages {' > '.join(spec.models)}"]
    if not stale and task.cascade_hash(spec) != c.cascade_hash:
        grid = "" if list(spec.thresholds) == list(c.grid) else " (its grid changed)"
        return [f"cascade {c.name}'s signals, check code or grid changed in {task.path} since the evidence{grid}"]
    return []


def family_problems(task: Any, record: TaskEvidence) -> list[str]:
    """A cascade's evidence must have been decided over every policy the spec names (a smaller
    family buys a weaker correction, docs/decisions.md)."""
    named = list(task.spec.candidates) + [c.label for c in task.spec.cascades]
    if record.family is None:
        return [f"the evidence does not record the {len(named)} policies it was decided over"]
    missing = [m for m in named if m not in record.family]
    if missing:
        return [f"the evidence was decided over {len(record.family)} policies, not the {len(named)} {task.path} "
                f"names (missing: {', '.join(missing)})"]
    return []


def signals_text(defer: Any) -> str:
    """A stage's signals as the registry spells them: [contract, {confidence: 0.95}]."""
    def one(signal: Any) -> str:
        if isinstance(signal, dict):
            return "{" + ", ".join(f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}"
                                   for k, v in signal.items()) + "}"
        return str(signal)

    return "(none)" if not defer else "[" + ", ".join(one(s) for s in defer) + "]"


def rerun_problems(decision: Any, entry: dict[str, Any], name: str | None) -> list[str]:
    """`gate --rerun` of a cascade entry: fresh results must certify the cascade at the entry's
    threshold or a less deferring one (certified grid points are a prefix, most deferring first)."""
    row = next((c for c in decision.cascades if c["name"] == name), None) if name else None
    if row is None:
        return [f"re-evaluated: {entry_label(entry)} is not a cascade in the spec"]
    if not row.get("qualifies"):
        return [f"re-evaluated: cascade {name} does not qualify ({row.get('why_not')})"]
    wanted = next((s["confidence"] for st in entry["cascade"] for s in st.get("defer") or []
                   if isinstance(s, dict) and "confidence" in s), None)
    if wanted is None:
        return []
    grid = [p["threshold"] for p in row.get("curve") or []]
    if wanted not in grid or not row["certified"][grid.index(wanted)]:
        return [f"re-evaluated: cascade {name} is certified down to confidence {row['threshold']:g}, not at the "
                f"entry's {wanted:g}"]
    return []
