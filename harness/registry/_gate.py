"""`tierwise gate`: is every registry.yaml entry backed by current, passing evidence?

The gate runs on a fresh CI checkout: no results database, no keys, no model calls. It reads
registry.yaml and its evidence file, recomputes the spec and golden-set hashes from the current
evals/ and golden_sets/ (load_project calls no model), and checks each entry:

- the evidence is for exactly the registry's model, fallbacks, max_tokens and temperature;
- it was measured on the current spec, prompt and golden set (otherwise it is *stale*);
- it qualifies under the task's current threshold and limits by the rule `recommend` applies
  (harness.decide.qualification).

harness.commands.gate puts it together: `--base` (the entries that changed against a git ref,
gated and listed first) and `--rerun` (the changed tasks evaluated again and judged on fresh
results instead of the recorded evidence; only then are litellm and the store touched).
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from ..decide import entry_cascade, limit_shortfalls, live_shortfalls, qualification
from ..project import Project, Task
from ..util import below, threshold_text
from ._consistency import evidence_problems
from ._evidence import EvidenceFile, ModelEvidence, TaskEvidence, evidence_path

GateStatus = Literal["pass", "fail", "stale"]
PASS: GateStatus = "pass"
FAIL: GateStatus = "fail"
STALE: GateStatus = "stale"
PARAM_KEYS = ("max_tokens", "temperature")


@dataclass
class TaskGate:
    """The verdict on one registry entry."""

    task: str
    status: GateStatus
    message: str                # what holds, or what is wrong
    fix: str = ""               # the command (or edit) that fixes it
    changes: list[str] = field(default_factory=list)  # how it differs from --base; [] when unchanged
    rerun: bool = False         # judged on fresh results rather than recorded evidence

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def line(self) -> str:
        tag = " [changed]" if self.changed else ""
        text = f"{self.status.upper()} {self.task}{tag}: {self.message}"
        return text + (f"; fix: {self.fix}" if self.fix and self.status != PASS else "")


@dataclass
class GateResult:
    tasks: list[TaskGate]
    registry: str                                   # the registry file as shown to the user
    base: str | None = None
    removed: list[str] = field(default_factory=list)   # entries removed since base
    ungated: list[str] = field(default_factory=list)   # tasks with a spec but no registry entry

    @property
    def failures(self) -> list[TaskGate]:
        return [t for t in self.tasks if t.status != PASS]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        out = []
        if self.base is not None:
            changed = [f"{t.task} ({', '.join(t.changes)})" for t in self.tasks if t.changed]
            out.append(f"changed against {self.base}: {'; '.join(changed) or 'no registry entries'}"
                       + (f"; removed: {', '.join(self.removed)}" if self.removed else ""))
        out += [t.line for t in self.tasks]
        if self.ungated:
            out.append(f"not in {self.registry} (not gated): {', '.join(self.ungated)}")
        out.append(self.summary())
        return out

    def summary(self) -> str:
        if not self.tasks:
            return f"gate passed: {self.registry} has no entries to check"
        counts = {s: sum(t.status == s for t in self.tasks) for s in (PASS, FAIL, STALE)}
        text = (f"{len(self.tasks)} {self.registry} entries: {counts[PASS]} passed, {counts[FAIL]} failed, "
                f"{counts[STALE]} stale")
        if self.base is not None:
            text += f" ({sum(t.changed for t in self.tasks)} changed against {self.base})"
        return ("gate passed: " if self.ok else "gate failed: ") + text

    def text(self) -> str:
        return "\n".join(self.lines())


def run_fix(task: str, models: list[str] | None = None) -> str:
    only = f" --models {','.join(models)}" if models else ""
    return f"tierwise run {task}{only} && tierwise recommend {task} --write"


def check_entry(project: Project, name: str, entry: dict[str, Any], evidence: EvidenceFile | None,
                evidence_problem: str = "") -> TaskGate:
    """Judge one registry entry against its recorded evidence; calls no model, reads no store.
    `evidence` is None only with `evidence_problem`: why the file could not be read."""
    task = project.tasks.get(name)
    if task is None:
        return TaskGate(name, FAIL, "registry entry has no eval spec (no evals/*.yaml defines this task)",
                        f"restore its spec in evals/, or remove tasks.{name} from {project.config.registry}")
    fix = run_fix(name)
    if evidence_problem or evidence is None:
        return TaskGate(name, FAIL, f"no evidence: {evidence_problem}",
                        f"{fix}, and commit {evidence_path(project.registry_path).name}")
    model = entry.get("model")
    try:
        record = evidence.record(name)
    except ValueError as exc:
        return TaskGate(name, FAIL, f"evidence for {name} is malformed ({exc})", fix)
    if record is None:
        return TaskGate(name, FAIL, f"registry model {model} has no evidence", fix_for_target(project, name, model))
    inconsistent = evidence_problems(evidence.tasks[name], record)
    if inconsistent:
        return TaskGate(name, FAIL, f"evidence for {name} is inconsistent: {'; '.join(inconsistent)}",
                        f"{fix} (or check it afresh with tierwise gate --rerun)")
    records = record.records()  # every measured model of this task: the recommended one and its fallbacks
    pin = entry.get("pin")
    if model != record.target and not (pin and model in records):
        return TaskGate(name, FAIL, f"registry model {model} has no evidence (the evidence is for {record.target})",
                        fix_for_target(project, name, model))
    main = records[model]  # a pinned entry may keep any model whose evidence is recorded

    problems: list[str] = []   # the entry differs from what was measured
    restore = []
    for key in PARAM_KEYS:
        have, measured = entry.get(key), record.params.get(key)
        if have != measured:
            problems.append(f"registry {key} {value_text(have)} but the evidence was measured with {key} {value_text(measured)}")
            restore.append(f"{key}: {value_text(measured)}")
    if restore:
        fix = (f"set {', '.join(restore)} back in {project.config.registry}, or change params: in {task.path} "
               f"and run {run_fix(name)}")
    fallbacks = entry.get("fallbacks") or []
    fallbacks = fallbacks if isinstance(fallbacks, list) else [fallbacks]
    if model in fallbacks:  # a fallback that is the primary again adds nothing when the primary fails
        problems.append(f"registry model {model} is also its own fallback")
        fix = f"remove {model} from tasks.{name}.fallbacks in {project.config.registry}"
    problems += [f"fallback {fb} has no evidence" for fb in fallbacks if fb not in records]
    problems += _option_problems(entry, [records[t] for t in [model, *fallbacks] if t in records])
    stale = _staleness(project, task, record, main, [records[fb] for fb in fallbacks if fb in records])
    live = record.live if main is record else None  # the claim backing the entry (decide/_promote.py)
    if live is not None:
        failed, old = _live_check(project, task, live, fallbacks)
        problems, stale = problems + failed, stale + old
    if problems:
        return TaskGate(name, FAIL, "; ".join(problems + stale), fix)
    if stale:
        return TaskGate(name, STALE, "stale evidence: " + "; ".join(stale), fix)

    # the rule recommend applies (decide/_qualify.py), to the recorded figures and today's spec
    verdict = qualification(task, main, record.judge_agreement, record.threshold)
    shortfalls = limit_shortfalls(task, main) if live is not None else verdict.shortfalls
    quality = _family(task, record) + [f"{main.model} {why}" for why in shortfalls]
    quality += [verdict.judge] if verdict.judge else []
    quality += [f"fallback {records[fb].model} {why}" for fb in fallbacks
                for why in qualification(task, records[fb], record.judge_agreement).shortfalls]
    if quality:
        return TaskGate(name, FAIL, "; ".join(quality), fix)
    text = f"{main.model}, lower {below(main.lower)} ≥ {threshold_text(task.spec.threshold)} (n={main.n})"
    if live is not None:
        what = "disagreement" if live.kind == "agreement" else f"judged loss (corrected by {live.pairwise.labels} human verdicts)"
        text = (f"{main.model}, live non-inferior to {live.incumbent_model}: {what} upper {live.upper:.3f} < "
                f"{live.margin:g} on {live.calls} shadowed calls to {live.window_end}")
    if pin:
        text += f"; pinned ({pin})"
    if fallbacks:
        text += "; fallbacks " + ", ".join(f"{records[fb].model} {records[fb].lower:.3f}" for fb in fallbacks)
    return TaskGate(name, PASS, text)


def check_noninferiority(project: Project, name: str, entry: dict[str, Any], evidence: EvidenceFile,
                          old: dict[str, Any] | None) -> TaskGate | None:
    """When the spec sets max_regression: a changed entry, a model or a cascade, must be shown
    non-inferior to the model it replaced (the entry at --base, else the incumbent its evidence
    names); a FAIL verdict, or None. A change between cascades is not tested, so it fails."""
    task = project.tasks[name]
    margin = task.spec.max_regression
    if margin is None:
        return None
    record = evidence.record(name)
    ni = record.noninferiority
    if "cascade" in entry:
        if old is not None and "cascade" in old:
            if old == entry or entry_cascade(task, old) == record.cascade.name:
                return None  # the same cascade, its threshold or fallbacks updated
            return TaskGate(name, FAIL, f"{record.cascade.name} replaces another cascade, and a change between "
                                        f"cascades is not tested for non-inferiority (max_regression {margin:g} in "
                                        f"{task.path})", f"keep the cascade at {project.config.registry}'s base")
        replaced = (old or {}).get("model") or (ni.incumbent if ni else None)
        what = f"cascade {record.cascade.name}"
        fix = f"run {replaced} on the same cases and `tierwise recommend {name} --write`; or keep {replaced}"
    else:
        replaced = old.get("model") if old else (ni.incumbent if ni else None)
        if replaced == entry.get("model"):
            return None  # unchanged against --base
        if record.live is not None and record.live.incumbent == replaced:
            return None  # shown non-inferior to it on live traffic (checked in check_entry)
        what = entry.get("model")
        fix = (f"run the current model on the same cases (tierwise run {name}) and `tierwise recommend {name} "
               f"--write`; or keep {replaced}")
    if replaced is None:
        return None  # no incumbent on record (a first entry)
    if ni is None or ni.incumbent != replaced:
        return TaskGate(name, FAIL, f"{what} replaces {replaced} but its evidence holds no non-inferiority test "
                                    f"against {replaced} (max_regression {margin:g} in {task.path})", fix)
    if not ni.shown or ni.margin > margin:
        shown_as = what if "cascade" in entry else record.model
        return TaskGate(name, FAIL, f"{shown_as} is not shown non-inferior to {ni.incumbent_model} by {margin:g} "
                                    f"(lower bound {ni.lower:+.3f} on {ni.n} shared cases, margin {ni.margin:g})", fix)
    return None


def _live_check(project: Project, task: Task, live: Any, fallbacks: list[Any]) -> tuple[list[str], list[str]]:
    """Recorded live evidence against today's spec and its freshness window: (failures, staleness)."""
    from ..decide import FRESH_DAYS

    plan = project.config.shadow.get(task.name)
    fresh = plan.fresh_days if plan is not None else FRESH_DAYS
    try:
        end = _dt.datetime.fromisoformat(live.window_end).timestamp()
    except ValueError:
        return [f"live.window_end: {live.window_end!r} is not an ISO time"], []
    failed, stale = live_shortfalls(task, margin=live.margin, upper=live.upper, confidence=live.confidence,
                                    calls=live.calls, offline_up=live.offline_upper, window_end=end,
                                    fresh_days=fresh, now=time.time(), kind=live.kind)
    failed += _pairwise_check(live)
    if live.disagreements > live.calls:
        failed.append(f"live.disagreements: {live.disagreements} is more than calls {live.calls}")
    if not fallbacks or fallbacks[0] != live.incumbent:
        failed.append(f"the incumbent {live.incumbent} it was shown non-inferior to must stay its first fallback")
    return failed, stale


def _pairwise_check(live: Any) -> list[str]:
    """Pairwise live evidence holds together: its block, the correction, its counts (decide/_live_pairwise.py)."""
    from ..decide import MIN_MISS_LABELS

    p = live.pairwise
    if live.kind != "pairwise":
        return [] if p is None else ["live.pairwise is given but live.kind is not pairwise"]
    if p is None:
        return ["live.kind is pairwise but live.pairwise is missing"]
    out = []
    if p.labels < MIN_MISS_LABELS or p.misses > p.labels:
        out.append(f"live.pairwise: {p.labels} human verdicts ({p.misses} misses) cannot correct the judge")
    if live.upper + 2e-6 < min(1.0, p.judge_upper + p.miss_upper):  # each figure is written to 6 places
        out.append(f"live.upper {live.upper:.3f} is below judge_upper + miss_upper "
                   f"({p.judge_upper:.3f} + {p.miss_upper:.3f}): the judge is not corrected")
    if p.losses + p.judge_errors + p.challenger_errors != live.disagreements:
        out.append(f"live.pairwise: losses, judge errors and challenger errors do not add up to "
                   f"{live.disagreements} counted against it")
    return out


def _option_problems(entry: dict[str, Any], measured: list[ModelEvidence]) -> list[str]:
    """Where the entry's call options differ from those the evidence was measured with."""
    from ..fingerprint import SECRET_OPTIONS

    out = []
    for rec in measured:
        if rec.identity is None or "options" not in rec.identity:  # its provider records no call options
            continue
        have = {k: v for k, v in (entry.get("options") or {}).get(rec.target, {}).items() if k not in SECRET_OPTIONS}
        want = rec.identity.get("options") or {}
        if have != want:
            out.append(f"registry options for {rec.target} {have or '(none)'} but the evidence was measured with "
                       f"{want or '(none)'}")
    return out


def _staleness(project: Project, task: Task, record: TaskEvidence, main: ModelEvidence,
               fallbacks: list[ModelEvidence]) -> list[str]:
    """Why the evidence no longer describes what the current catalog, spec and golden set ask for."""
    stale = _stale_model(project, task, main, record.params)
    for fb in fallbacks:
        stale += [f"fallback {s}" for s in _stale_model(project, task, fb, record.params)]
    if record.golden_hash != task.golden.sha256:
        count = f"{record.n} → {len(task.golden)} cases" if record.n != len(task.golden) else "cases edited"
        stale.append(f"{task.spec.golden_set} changed since the evidence ({count})")
    if record.confidence != task.spec.confidence:
        stale.append(f"confidence changed from {record.confidence:g} to {task.spec.confidence:g} in {task.path}")
    labels = getattr(task, "labels", None)
    if labels is not None and record.labels_hash is not None and record.labels_hash != labels.sha256:
        stale.append(f"{labels.path} (human verdicts) changed since the evidence")
    return stale


def _family(task: Task, record: TaskEvidence) -> list[str]:
    """Evidence decided over fewer candidates than the spec names was corrected for too few: a
    re-run of only the best-looking candidate must not buy a weaker bound (docs/decisions.md)."""
    named = list(task.spec.candidates)
    if record.family is not None:
        missing = [m for m in named if m not in record.family]
        if missing:
            return [f"the evidence was decided over {len(record.family)} candidates, not the {len(named)} "
                    f"{task.path} names (missing: {', '.join(missing)})"]
        return []
    counted = re.search(r" over (\d+) candidates?\b", record.procedure or "")
    if counted and int(counted.group(1)) < len(named):
        return [f"the evidence was decided over {counted.group(1)} candidates, not the {len(named)} {task.path} names"]
    return []


def _stale_model(project: Project, task: Task, record: ModelEvidence, measured: dict[str, Any]) -> list[str]:
    """Why one model's record no longer describes what the current catalog and spec would run."""
    from ..models import candidate_identity

    name = record.model
    entry = project.config.models.get(name)
    if entry is None:
        return [f"{name} is no longer in tierwise.yaml models"]
    if entry.target != record.target:
        return [f"tierwise.yaml models.{name} now points to {entry.target}, the evidence is for {record.target}"]
    if name not in task.models:
        return [f"{name} is no longer a candidate in {task.path}"]
    if record.spec_hash == task.spec_hash(name):
        return []
    identity = candidate_identity(entry)
    if record.identity is not None and record.identity != identity:
        return [f"tierwise.yaml models.{name} changed since the evidence ({_identity_change(record.identity, identity)})"]
    return [f"{task.path} changed since the evidence for {name} ({_spec_change(task, measured)})"]


def _identity_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Name what changed in a catalog entry's identity: a call option, the weights, the rule's code."""
    if old.get("kind") != new.get("kind"):
        return f"kind {old.get('kind')} → {new.get('kind')}"
    # Named by what the identity records (its provider's choice), not by its kind.
    if "weights" in new:  # a local model's weights file
        weights = new.get("weights") or {}
        if "missing" in weights:
            return f"weights file {weights['missing']} not found"
        return f"weights file changed (sha256 {str((old.get('weights') or {}).get('sha256'))[:12]}… → " \
               f"{str(weights.get('sha256'))[:12]}…)"
    if "source" in new and "function" in new:  # a python: rule's source file
        return f"source of {new.get('function')} changed"
    before, after = old.get("options") or {}, new.get("options") or {}
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if keys:
        return "call options changed: " + ", ".join(f"{k} {before.get(k)!r} → {after.get(k)!r}" for k in keys)
    fields = sorted(k for k in set(old) | set(new) if k != "options" and old.get(k) != new.get(k))
    return f"{', '.join(fields)} changed" if fields else "model changed"


def _spec_change(task: Task, measured: dict[str, Any]) -> str:
    """Name the part of the spec that changed, where the evidence lets us tell."""
    params = task.params()
    for key in PARAM_KEYS:
        if key in params and params[key] != measured.get(key):
            return f"params.{key} {value_text(measured.get(key))} → {value_text(params[key])}"
    return "prompt, output, params or graders"


def catalog_name(project: Project, task: Task, model: str | None) -> str | None:
    """The task candidate whose registry string is `model`."""
    return next((m for m in task.spec.candidates if project.config.models[m].target == model), None)


def fix_for_target(project: Project, name: str, model: str | None) -> str:
    task = project.tasks[name]
    catalog = catalog_name(project, task, model)
    if catalog is not None:
        return run_fix(name, [catalog])
    return f"add {model} to tierwise.yaml models: and to candidates: in {task.path}, then {run_fix(name)}"


# formatting ------------------------------------------------------------------------------------

def value_text(value: Any) -> str:
    return "(none)" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
