"""`tierwise gate`: is every registry.yaml entry backed by current, passing evidence?

The gate runs on a fresh CI checkout: no results database, no keys, no model calls. It reads
registry.yaml and its evidence file, recomputes the spec and golden-set hashes from the current
evals/ and golden_sets/ (load_project calls no model), and checks each entry:

- the evidence is for exactly the registry's model, fallbacks, max_tokens and temperature;
- it was measured on the current spec, prompt and golden set (otherwise it is *stale*);
- its lower confidence bound clears the task's current threshold and limits.

With `base` the entries that changed against a git ref are gated (and listed) first. With
`rerun` the changed tasks (all without `base`) are evaluated again and judged on fresh
results instead of the recorded evidence; only then are litellm and the store touched.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ModelEntry
from .errors import RegistryError, TierwiseError
from .project import Project
from .registry import atomic_write, evidence_path, read_evidence, read_registry

PASS, FAIL, STALE = "pass", "fail", "stale"
PARAM_KEYS = ("max_tokens", "temperature")
RECORD_KEYS = ("model", "target", "spec_hash", "golden_hash", "n", "lower", "confidence", "params", "fallbacks")


@dataclass
class TaskGate:
    """The verdict on one registry entry."""

    task: str
    status: str                 # pass | fail | stale
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


def gate(project: Project, base: str | None = None, rerun: bool = False, store: str | None = None,
         progress: bool = False) -> GateResult:
    """Check every registry entry against its evidence (or fresh results with `rerun`)."""
    path = project.registry_path
    shown = _shown(path, project.root)
    if not path.exists():
        raise RegistryError(f"{shown}: not found; fix: `tierwise run` then `tierwise recommend --write`, "
                            f"and commit {shown} with {evidence_path(path).name}")
    registry = read_registry(path)
    try:
        evidence, evidence_problem = read_evidence(path)["tasks"], ""
    except RegistryError as exc:
        evidence, evidence_problem = {}, str(exc).split("; fix:")[0]

    changes: dict[str, list[str]] = {}
    removed: list[str] = []
    if base is not None:
        changes, removed = _changes(project, base, registry, evidence)

    to_rerun = [n for n in registry if n in project.tasks and (base is None or changes.get(n))] if rerun else []
    fresh = _rerun(project, {n: registry[n] for n in to_rerun}, store, progress) if to_rerun else {}

    verdicts = []
    for name, entry in registry.items():
        if name in fresh:
            verdict = fresh[name]
        else:
            verdict = check_entry(project, name, entry, evidence.get(name), evidence_problem)
        verdict.changes = changes.get(name, [])
        verdicts.append(verdict)
    verdicts.sort(key=lambda v: not v.changed)  # stable: changed entries first, registry order kept
    ungated = [n for n in project.tasks if n not in registry]
    return GateResult(verdicts, shown, base, removed, ungated)


def _run_fix(task: str, models: list[str] | None = None) -> str:
    only = f" --models {','.join(models)}" if models else ""
    return f"tierwise run {task}{only} && tierwise recommend {task} --write"


def check_entry(project: Project, name: str, entry: dict[str, Any], record: Any,
                evidence_problem: str = "") -> TaskGate:
    """Judge one registry entry against its recorded evidence; calls no model, reads no store."""
    task = project.tasks.get(name)
    if task is None:
        return TaskGate(name, FAIL, "registry entry has no eval spec (no evals/*.yaml defines this task)",
                        f"restore its spec in evals/, or remove tasks.{name} from {project.config.registry}")
    fix = _run_fix(name)
    if evidence_problem:
        return TaskGate(name, FAIL, f"no evidence: {evidence_problem}",
                        f"{fix}, and commit {evidence_path(project.registry_path).name}")
    model = entry.get("model")
    if record is None:
        return TaskGate(name, FAIL, f"registry model {model} has no evidence", _fix_for_target(project, name, model))
    bad = _malformed(record)
    if bad:
        return TaskGate(name, FAIL, f"evidence for {name} is malformed ({bad})", fix)
    if model != record["target"]:
        return TaskGate(name, FAIL, f"registry model {model} has no evidence (the evidence is for {record['target']})",
                        _fix_for_target(project, name, model))

    problems: list[str] = []   # the entry differs from what was measured
    restore = []
    for key in PARAM_KEYS:
        have, measured = entry.get(key), record["params"].get(key)
        if have != measured:
            problems.append(f"registry {key} {_v(have)} but the evidence was measured with {key} {_v(measured)}")
            restore.append(f"{key}: {_v(measured)}")
    if restore:
        fix = (f"set {', '.join(restore)} back in {project.config.registry}, or change params: in {task.path} "
               f"and run {_run_fix(name)}")
    records = {r["target"]: r for r in record["fallbacks"]}
    fallbacks = entry.get("fallbacks") or []
    fallbacks = fallbacks if isinstance(fallbacks, list) else [fallbacks]
    problems += [f"fallback {fb} has no evidence" for fb in fallbacks if fb not in records]
    stale = _staleness(project, task, record, [records[fb] for fb in fallbacks if fb in records])
    if problems:
        return TaskGate(name, FAIL, "; ".join(problems + stale), fix)
    if stale:
        return TaskGate(name, STALE, "stale evidence: " + "; ".join(stale), fix)

    quality = _quality(task, record, "")
    quality += [q for fb in fallbacks for q in _quality(task, records[fb], "fallback ")]
    if quality:
        return TaskGate(name, FAIL, "; ".join(quality), fix)
    text = f"{record['model']}, lower {record['lower']:.3f} ≥ {_t(task.spec.threshold)} (n={record['n']})"
    if fallbacks:
        text += "; fallbacks " + ", ".join(f"{records[fb]['model']} {records[fb]['lower']:.3f}" for fb in fallbacks)
    return TaskGate(name, PASS, text)


def _malformed(record: Any) -> str:
    if not isinstance(record, dict):
        return "not an object"
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(record["params"], dict) or not isinstance(record["fallbacks"], list):
        return "params must be an object and fallbacks a list"
    if not isinstance(record["n"], int) or not isinstance(record["confidence"], (int, float)):
        return "n and confidence must be numbers"
    for r in [record, *record["fallbacks"]]:
        if not isinstance(r, dict) or not all(isinstance(r.get(k), str) for k in ("model", "target", "spec_hash")) \
                or not isinstance(r.get("lower"), (int, float)):
            return "a model record needs model, target, spec_hash and lower"
    return ""


def _staleness(project: Project, task: Any, record: dict[str, Any], fallbacks: list[dict[str, Any]]) -> list[str]:
    """Why the evidence no longer describes what the current catalog, spec and golden set ask for."""
    stale = _stale_model(project, task, record, record["params"])
    for fb in fallbacks:
        stale += [f"fallback {s}" for s in _stale_model(project, task, fb, record["params"])]
    if record["golden_hash"] != task.golden.sha256:
        count = f"{record['n']} → {len(task.golden)} cases" if record["n"] != len(task.golden) else "cases edited"
        stale.append(f"{task.spec.golden_set} changed since the evidence ({count})")
    if record["confidence"] != task.spec.confidence:
        stale.append(f"confidence changed from {record['confidence']:g} to {task.spec.confidence:g} in {task.path}")
    return stale


def _stale_model(project: Project, task: Any, record: dict[str, Any], measured: dict[str, Any]) -> list[str]:
    """Why one model's record no longer describes what the current catalog and spec would run."""
    name = record.get("model")
    entry = project.config.models.get(name)
    if entry is None:
        return [f"{name} is no longer in tierwise.yaml models"]
    if target(entry) != record.get("target"):
        return [f"tierwise.yaml models.{name} now points to {target(entry)}, "
                f"the evidence is for {record.get('target')}"]
    if record.get("spec_hash") != task.spec_hash(name):
        return [f"{task.path} changed since the evidence for {name} ({_spec_change(task, measured)})"]
    return []


def _spec_change(task: Any, measured: dict[str, Any]) -> str:
    """Name the part of the spec that changed, where the evidence lets us tell."""
    params = task.params()
    for key in PARAM_KEYS:
        if key in params and params[key] != measured.get(key):
            return f"params.{key} {_v(measured.get(key))} → {_v(params[key])}"
    return "prompt, output, params or graders"


def _quality(task: Any, record: dict[str, Any], label: str) -> list[str]:
    spec, out = task.spec, []
    lower, n = record["lower"], record.get("n") or 0
    if n < len(task.golden):
        out.append(f"{label}{record['model']} was evaluated on {n} of {len(task.golden)} cases")
    if not lower >= spec.threshold:  # also catches a NaN bound in a hand-edited evidence file
        was = record.get("threshold")
        note = f", recorded at threshold {_t(was)}" if isinstance(was, (int, float)) and was != spec.threshold else ""
        out.append(f"{label}{record['model']} lower {lower:.3f} < threshold {_t(spec.threshold)} (n={n}{note})")
    rate = record.get("error_rate")
    if spec.max_error_rate is not None and isinstance(rate, (int, float)) and rate > spec.max_error_rate:
        out.append(f"{label}{record['model']} error rate {rate:.1%} > max_error_rate {spec.max_error_rate:.1%}")
    p95 = record.get("p95_ms")
    if spec.max_p95_latency_ms is not None and isinstance(p95, (int, float)) and p95 > spec.max_p95_latency_ms:
        out.append(f"{label}{record['model']} p95 {p95:.0f} ms > max_p95_latency_ms {spec.max_p95_latency_ms:.0f}")
    return out


def target(entry: ModelEntry) -> str:
    """The registry `model:` string for a catalog entry."""
    return entry.target


def _catalog_name(project: Project, task: Any, model: str | None) -> str | None:
    """The task candidate whose registry string is `model`."""
    return next((m for m in task.spec.candidates if target(project.config.models[m]) == model), None)


def _fix_for_target(project: Project, name: str, model: str | None) -> str:
    task = project.tasks[name]
    catalog = _catalog_name(project, task, model)
    if catalog is not None:
        return _run_fix(name, [catalog])
    return f"add {model} to tierwise.yaml models: and to candidates: in {task.path}, then {_run_fix(name)}"


# --rerun ---------------------------------------------------------------------------------------

def _rerun(project: Project, entries: dict[str, dict[str, Any]], store: str | None,
           progress: bool) -> dict[str, TaskGate]:
    """Evaluate these entries' models now and judge each entry on the fresh results."""
    from .decisions import recommend
    from .evaluate import run

    out: dict[str, TaskGate] = {}
    ready: dict[str, list[str]] = {}
    for name, entry in entries.items():
        task = project.tasks[name]
        wanted = [entry.get("model"), *(entry.get("fallbacks") or [])]
        names = [_catalog_name(project, task, t) for t in wanted]
        missing = [t for t, n in zip(wanted, names) if n is None]
        if missing:
            out[name] = TaskGate(name, FAIL, f"cannot re-evaluate: {missing[0]} is not a candidate in {task.path}",
                                 _fix_for_target(project, name, missing[0]), rerun=True)
            continue
        run(project, tasks=[name], models=names, store=store, progress=progress)
        ready[name] = names
    if not ready:
        return out
    rec = recommend(project, tasks=list(ready), store=store)
    for decision in rec.decisions:
        out[decision.task] = _judge_fresh(project, decision, entries[decision.task], ready[decision.task], rec.skipped)
    return out


def _judge_fresh(project: Project, decision: Any, entry: dict[str, Any], names: list[str],
                 skipped: dict[str, str]) -> TaskGate:
    name, task = decision.task, project.tasks[decision.task]
    fix = _run_fix(name)
    by_model = {c.model: c for c in decision.candidates}
    problems = []
    params = task.params()
    for key in PARAM_KEYS:
        if key in params and entry.get(key) != params[key]:
            problems.append(f"registry {key} {_v(entry.get(key))} but {task.path} evaluates with {_v(params[key])}")
    for i, model in enumerate(names):
        res = by_model[model]
        if not res.qualifies:
            why = skipped.get(model) or res.why_not
            problems.append(f"re-evaluated: {'fallback ' if i else ''}{model} does not qualify ({why})")
    if problems:
        return TaskGate(name, FAIL, "; ".join(problems), fix, rerun=True)
    main = by_model[names[0]]
    text = f"{main.model}, lower {main.lower:.3f} ≥ {_t(task.spec.threshold)} (n={main.n}), re-evaluated"
    if names[1:]:
        text += "; fallbacks " + ", ".join(f"{m} {by_model[m].lower:.3f}" for m in names[1:])
    return TaskGate(name, PASS, text, rerun=True)


# --base ----------------------------------------------------------------------------------------

def _changes(project: Project, base: str, registry: dict[str, dict[str, Any]],
             evidence: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Per registry entry, how it differs from `base` (entry, spec, golden set, evidence); and removed ones."""
    git = _Git(project.root, base)
    reg_path = project.registry_path
    old_text = git.show(reg_path)
    old_registry = _parse_registry(old_text, reg_path.name) if old_text is not None else {}
    old_evidence = _parse_evidence(git.show(evidence_path(reg_path)))
    changes: dict[str, list[str]] = {}
    for name, entry in registry.items():
        if name not in old_registry:
            changes[name] = ["added"]
            continue
        found: list[str] = []
        if old_registry[name] != entry:
            found.append(_entry_change(old_registry[name], entry))
        task = project.tasks.get(name)
        if task is not None:
            for rel in (task.path, task.spec.golden_set):
                path = project.root / rel
                old = git.show(path, binary=True)
                if old != (path.read_bytes() if path.exists() else None):
                    found.append(f"{rel} changed")
        if old_evidence.get(name) != evidence.get(name):
            found.append("evidence changed")
        changes[name] = found
    removed = [n for n in old_registry if n not in registry]
    return changes, removed


def _entry_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = [k for k in ("model", "fallbacks", "max_tokens", "temperature") if old.get(k) != new.get(k)]
    if keys == ["model"]:
        return f"model {old.get('model')} → {new.get('model')}"
    return "entry changed: " + ", ".join(keys)


def _parse_registry(text: str, filename: str) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_text(text, encoding="utf-8")
        return read_registry(path)


def _parse_evidence(text: str | None) -> dict[str, Any]:
    try:
        doc = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    tasks = doc.get("tasks") if isinstance(doc, dict) else None
    return tasks if isinstance(tasks, dict) else {}


class _Git:
    """Read files as they were at a ref, from the repository that holds the project."""

    def __init__(self, root: Path, ref: str):
        if shutil.which("git") is None:
            raise TierwiseError("--base needs git, which is not installed here; fix: install git or drop --base")
        self.root, self.ref = root, ref
        inside = self._git("rev-parse", "--show-toplevel")
        if inside.returncode != 0:
            raise TierwiseError(f"--base {ref}: {root} is not inside a git repository; fix: run the gate in a "
                                f"checkout, or drop --base")
        if ref.startswith("-") or self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
            raise TierwiseError(f"--base {ref}: unknown git ref; fix: pass a branch, tag or commit that exists "
                                f"(in CI, fetch it first: git fetch origin <branch>, and use origin/<branch>)")

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(self.root), *args], capture_output=True)

    def show(self, path: Path, binary: bool = False) -> Any:
        """The file's content at the ref; None when it did not exist there."""
        try:
            rel = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None  # outside the project: not tracked with it
        done = self._git("show", f"{self.ref}:./{rel}")
        if done.returncode != 0:
            return None
        return done.stdout if binary else done.stdout.decode("utf-8", errors="replace")


# JUnit -----------------------------------------------------------------------------------------

def write_junit(result: GateResult, path: str | Path) -> None:
    """JUnit XML, one test case per registry entry, so CI systems show the gate natively."""
    failures = len(result.failures)
    suites = ET.Element("testsuites", name="tierwise", tests=str(len(result.tasks)), failures=str(failures),
                        errors="0", skipped="0", time="0")
    suite = ET.SubElement(suites, "testsuite", name="tierwise gate", tests=str(len(result.tasks)),
                          failures=str(failures), errors="0", skipped="0", time="0")
    for t in result.tasks:
        case = ET.SubElement(suite, "testcase", classname="tierwise.gate", name=t.task, time="0")
        if t.status == PASS:
            ET.SubElement(case, "system-out").text = t.line
            continue
        failure = ET.SubElement(case, "failure", message=t.message, type=t.status)
        failure.text = t.line + (f"\nchanged against {result.base}: {', '.join(t.changes)}" if t.changed else "")
    ET.indent(suites)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    atomic_write(Path(path), text)


# formatting ------------------------------------------------------------------------------------

def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _v(value: Any) -> str:
    return "(none)" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _t(value: float) -> str:
    """A threshold: two decimals unless it needs more."""
    if isinstance(value, float) and math.isfinite(value) and round(value, 2) != value:
        return f"{value:g}"
    return f"{value:.2f}"
