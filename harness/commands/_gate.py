"""`tierwise gate`: is every registry.yaml entry backed by current, passing evidence?

Each entry is checked against its recorded evidence by harness.registry (no store, no keys, no
model calls: a fresh CI checkout is enough). `base` gates the entries that changed against a git
ref first and lists them; `rerun` evaluates the changed tasks (all without `base`) again and
judges them on fresh results instead, and only then are LiteLLM and the store touched.
"""

from __future__ import annotations

from typing import Any

from ..errors import RegistryError
from ..project import Project
from ..registry import (
    FAIL,
    PARAM_KEYS,
    PASS,
    GateResult,
    TaskGate,
    catalog_name,
    changes_since,
    check_cascade,
    check_entry,
    check_noninferiority,
    evidence_path,
    fix_for_target,
    read_evidence,
    read_registry,
    registry_at,
    rerun_problems,
    run_fix,
    stage_targets,
    threshold_text,
    value_text,
    write_junit,
)
from ..util import shown_path
from ..decide import CLAIM_LIVE, entry_cascade


def gate(project: Project, base: str | None = None, rerun: bool = False, store: str | None = None,
         progress: bool = False, run_group: str | None = None, junit: str | None = None) -> GateResult:
    """Check every registry entry against its evidence (or fresh results with `rerun`).

    With `rerun` and `run_group`, the fresh results are those the group's shard jobs stored
    (`tierwise run --shard i/n --run-group NAME`): nothing is called here, and the group must
    be complete. `junit`: also write JUnit XML there, one test case per registry entry."""
    path = project.registry_path
    shown = shown_path(path, project.root)
    if not path.exists():
        raise RegistryError(f"{shown}: not found; fix: `tierwise run` then `tierwise recommend --write`, "
                            f"and commit {shown} with {evidence_path(path).name}")
    registry = read_registry(path)
    try:
        evidence, evidence_problem = read_evidence(path), ""
    except RegistryError as exc:
        evidence, evidence_problem = None, str(exc).split("; fix:")[0]

    changes: dict[str, list[str]] = {}
    removed: list[str] = []
    if base is not None:
        changes, removed = changes_since(project, base, registry, evidence.tasks if evidence else {})

    to_rerun = [n for n in registry if n in project.tasks and (base is None or changes.get(n))] if rerun else []
    fresh = _rerun(project, {n: registry[n] for n in to_rerun}, store, progress, run_group) if to_rerun else {}

    before: dict[str, dict[str, Any]] = {}
    if base is not None and any(t.spec.max_regression is not None for t in project.tasks.values()):
        before = registry_at(project, base)
    verdicts = []
    for name, entry in registry.items():
        if name in fresh:
            verdict = fresh[name]
        elif "cascade" in entry:
            verdict = check_cascade(project, name, entry, evidence, evidence_problem)
            if verdict.status == PASS:
                verdict = check_noninferiority(project, name, entry, evidence, before.get(name)) or verdict
        else:
            verdict = check_entry(project, name, entry, evidence, evidence_problem)
            if verdict.status == PASS:
                verdict = check_noninferiority(project, name, entry, evidence, before.get(name)) or verdict
        verdict.changes = changes.get(name, [])
        verdicts.append(verdict)
    verdicts.sort(key=lambda v: not v.changed)  # stable: changed entries first, registry order kept
    ungated = [n for n in project.tasks if n not in registry]
    result = GateResult(verdicts, shown, base, removed, ungated)
    if junit:
        write_junit(result, junit)
    return result


def _rerun(project: Project, entries: dict[str, dict[str, Any]], store: str | None,
           progress: bool, run_group: str | None = None) -> dict[str, TaskGate]:
    """Evaluate these entries' models now (or read the run group's shards) and judge each
    entry on the fresh results."""
    # Imported here for start-up time: a gate that trusts the evidence loads no store, no
    # SQLAlchemy and no LiteLLM (tests/test_cli.py pins it).
    from ..runner import run
    from ._recommend import recommend

    out: dict[str, TaskGate] = {}
    group = _complete_group(project, store, run_group) if run_group else None
    ready: dict[str, list[str]] = {}
    for name, entry in entries.items():
        task = project.tasks[name]
        wanted = stage_targets(entry)
        names = [catalog_name(project, task, t) for t in wanted]
        missing = [t for t, n in zip(wanted, names) if n is None]
        if missing:
            out[name] = TaskGate(name, FAIL, f"cannot re-evaluate: {missing[0]} is not a candidate in {task.path}",
                                 fix_for_target(project, name, missing[0]), rerun=True)
            continue
        if group is None:
            run(project, tasks=[name], models=names, store=store, progress=progress)
        elif name not in group.tasks:
            out[name] = TaskGate(name, FAIL, f"run group {run_group!r} did not evaluate {name}",
                                 f"add {name} to the shard jobs' `tierwise run` (or run them for all tasks)",
                                 rerun=True)
            continue
        ready[name] = names
    if not ready:
        return out
    rec = recommend(project, tasks=list(ready), store=store)
    for decision in rec.decisions:
        out[decision.task] = _judge_fresh(project, decision, entries[decision.task], ready[decision.task], rec.skipped)
    return out


def _complete_group(project: Project, store: str | None, name: str) -> Any:
    from ..store import Store, require_complete  # start-up time: only --rerun --run-group reads the store

    with Store(project.store_url(store)) as db:
        return require_complete(db, name)


def _judge_fresh(project: Project, decision: Any, entry: dict[str, Any], names: list[str],
                 skipped: dict[str, str]) -> TaskGate:
    name, task = decision.task, project.tasks[decision.task]
    fix = run_fix(name)
    by_model = {c.model: c for c in decision.candidates}
    problems = []
    params = task.params()
    for key in PARAM_KEYS:
        if key in params and entry.get(key) != params[key]:
            problems.append(f"registry {key} {value_text(entry.get(key))} but {task.path} evaluates with {value_text(params[key])}")
    if "cascade" in entry:  # the cascade certified afresh at its threshold; its stages need not qualify alone
        problems += rerun_problems(decision, entry, entry_cascade(task, entry))
        stages = len(entry["cascade"])
        for model in names[stages:]:
            if not by_model[model].qualifies:
                problems.append(f"re-evaluated: fallback {model} does not qualify "
                                f"({skipped.get(model) or by_model[model].why_not})")
        if problems:
            return TaskGate(name, FAIL, "; ".join(problems), fix, rerun=True)
        row = next(c for c in decision.cascades if c["name"] == entry_cascade(task, entry))
        return TaskGate(name, PASS, f"cascade {row['name']}, lower {row['lower']:.3f} ≥ "
                                    f"{threshold_text(task.spec.threshold)} (n={row['n']}), re-evaluated", rerun=True)
    # an entry promoted on live traffic: recommend re-derived the claim from the fresh offline figures and
    # the stored shadow calls (decide/_promote.py); its fallbacks still qualify offline
    live = decision.claim == CLAIM_LIVE and decision.recommended == names[0]
    for i, model in enumerate(names):
        res = by_model[model]
        if not res.qualifies and not (live and i == 0):
            why = skipped.get(model) or res.why_not
            problems.append(f"re-evaluated: {'fallback ' if i else ''}{model} does not qualify ({why})")
    if problems:
        return TaskGate(name, FAIL, "; ".join(problems), fix, rerun=True)
    main = by_model[names[0]]
    text = f"{main.model}, lower {main.lower:.3f} ≥ {threshold_text(task.spec.threshold)} (n={main.n}), re-evaluated"
    if live:
        text = f"{main.model}, {decision.reason}, re-evaluated"
    if names[1:]:
        text += "; fallbacks " + ", ".join(f"{m} {by_model[m].lower:.3f}" for m in names[1:])
    return TaskGate(name, PASS, text, rerun=True)


