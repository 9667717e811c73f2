"""Planning a run: which calls the specs ask for today, each with its call key. Calls nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from ..fingerprint import CallKeys, canonical
from ..models import Candidate, constraint, provider_for
from ..project import Case, Task


@dataclass
class Item:
    """One case for one model: the rendered messages and the key that identifies the call."""

    task: Task
    cand: Candidate
    case: Case
    messages: list[dict[str, str]]
    params: dict[str, Any]
    extra: dict[str, Any]
    call_key: str
    spec_hash: str
    repeat: int = 0  # which of the case's `repeats` (0-based); part of the call key
    case_hash: str = ""  # fingerprint.case_hash of the case (looked up when not given)

    @property
    def fingerprint(self) -> tuple[str, str, str]:
        """(call key, case hash, grader hash): a stored result is current when all three match."""
        return self.call_key, self.case_hash or self.task.case_hashes[self.case.id], self.task.grader_hash()

    @property
    def stored_params(self) -> dict[str, Any]:
        return {**self.params, **self.extra}


@dataclass
class Plan:
    items: list[Item] = field(default_factory=list)
    # models the graders call or compare with (judges, pairwise `against:`), by catalog name
    judges: dict[str, Candidate] = field(default_factory=dict)

    def state(self, tasks: list[Task]) -> dict[str, dict[str, Any]]:
        """What "current" meant for this run, per task: the golden set's hash, each case's hash
        and each planned model's spec hash. Kept in the run's info, so `tierwise diff` can read
        the results as they stood under this run's spec (decide/_diff.py)."""
        specs: dict[str, dict[str, str]] = {}
        for it in self.items:
            specs.setdefault(it.task.name, {})[it.cand.name] = it.spec_hash
        return {t.name: {"golden_hash": t.golden.sha256, "cases": dict(t.case_hashes),
                         "spec": specs.get(t.name, {})} for t in tasks}

    def current_keys(self) -> dict[tuple[str, str], dict[tuple[str, str], tuple[str, str, str]]]:
        """(task, model) -> (case id, call key) -> (call key, case hash, grader hash) the specs ask
        for now (one call key per repeat of a case).

        A stored row is current only when all three match: the same call for the same case,
        graded against the same expected answer by the same graders.
        """
        keys: dict[tuple[str, str], dict[tuple[str, str], tuple[str, str, str]]] = {}
        for it in self.items:
            keys.setdefault((it.task.name, it.cand.name), {})[(it.case.id, it.call_key)] = it.fingerprint
        return keys


def plan_run(tasks: list[Task], candidates: dict[str, Candidate], limit: int | None = None,
             shard: tuple[int, int] | None = None, repeats: int | None = None) -> Plan:
    """Every (task, candidate, case, repeat) the specs ask for, rendered and keyed. `repeats`
    overrides each spec's `repeats:`."""
    plan = Plan()
    for task in tasks:
        cases = task.golden.cases[:limit] if limit else task.golden.cases
        hashes = task.case_hashes
        if shard:
            index, count = shard
            cases = tuple(c for c in cases if int(hashes[c.id], 16) % count == index - 1)
        params = task.params()
        times = repeats or task.spec.repeats
        # What a call sends, rendered and serialised once per case: candidates sharing a prompt
        # share its messages, models sent the vars (python: rules) share those (fingerprint.CallKeys).
        rendered: dict[tuple, list[list[dict[str, str]]]] = {}
        sent: dict[tuple | None, list[str]] = {}
        for name in task.spec.candidates:
            cand = candidates.get(name)
            if cand is None:
                continue
            extra = constraint(task, cand)
            spec_hash = task.spec_hash(name)
            keys = CallKeys(cand.identity, params, extra, takes_vars=provider_for(cand.kind).takes_vars)
            prompt = tuple(task.prompt_for(name).items())
            if prompt not in rendered:
                rendered[prompt] = [_render(task, name, case) for case in cases]
            what = None if keys.takes_vars else prompt  # None: the vars
            if what not in sent:
                sent[what] = [canonical(c.vars) for c in cases] if keys.takes_vars else \
                    [canonical(m) for m in rendered[prompt]]
            for case, shared, case_sent in zip(cases, rendered[prompt], sent[what]):
                # a python: rule's messages are only stored; a model's are its own to send
                messages = shared if keys.takes_vars else [dict(m) for m in shared]
                for r in range(times):
                    key = keys.key(case_sent, repeat=r)
                    plan.items.append(Item(task, cand, case, messages, params, extra, key, spec_hash, r,
                                           hashes[case.id]))
    return plan


def _render(task: Task, model: str, case: Any) -> list[dict[str, str]]:
    """One case's messages for a model, with a render failure located in the spec and golden set."""
    try:
        return task.render(model, case.vars)
    except SpecError:  # the sandbox refused the template: already located
        raise
    except Exception as exc:  # noqa: BLE001 - a filter can raise anything on a case's values
        raise SpecError(f"{task.path}: prompt: cannot render case {case.id!r} "
                        f"({task.spec.golden_set}:{case.line}) for {model}: {exc}") from None
