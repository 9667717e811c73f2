"""Every identity that decides whether a stored result or a recorded piece of evidence is
still current, computed in this one place.

The runner's "can this stored result be reused" check and the gate's "is this evidence stale"
check call the same functions, so whatever changes a model's answers or their scores makes
both stale at once:

- a candidate's identity (what decides its answers) is its provider's to say
  (harness.models.candidate_identity): this module hashes it with what each call sends;
- `call_key`: one call: the candidate's identity and everything it is sent;
- `case_hash`: what a golden case asks and expects;
- `grader_hash`: the graders, their options, the code of custom graders, and the output
  contract (labels, schema) the graders read;
- `spec_hash`: everything in the spec and catalog that decides one model's outputs and scores;
- `evidence_digest`: one task's evidence record as `recommend --write` wrote it, so the gate
  can tell a record edited afterwards (by hand, a merge, a search-and-replace).
- `cascade_hash`: a cascade's stages (each one's spec_hash), their deferral signals (a check's
  code) and the grid its threshold is chosen from; not its name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence


class GoldenCase(Protocol):
    """What code below harness.project reads of a golden case: its hash here, and every grader
    (harness.graders takes it as `Case`). harness.project.Case, a frozen dataclass, is one."""

    @property
    def id(self) -> str: ...

    @property
    def vars(self) -> Mapping[str, Any]: ...

    @property
    def expected(self) -> Any: ...


class HashedTask(Protocol):
    """What the spec and grader hashes read of a task (harness.project.Task is one): its spec (the
    output contract), graders, the models its graders call, prompts and params, and the identity
    of any catalog model it names (its provider's to say)."""

    spec: Any
    graders: Sequence[Any]
    judges: Mapping[str, Any]

    def prompt_for(self, model: str) -> dict[str, str | None]: ...

    def params(self) -> dict[str, Any]: ...

    def identity(self, model: str) -> dict[str, Any]: ...

    def takes_vars(self, model: str) -> bool:
        """Whether the model is sent the case's variables rather than the rendered prompt (a python: rule)."""
        ...

_HARNESS_DIR = Path(__file__).resolve().parent
# Call options that choose credentials, not answers: never part of an identity (nor stored).
SECRET_OPTIONS = frozenset({"api_key", "api_key_env"})


def canonical(payload: Any) -> str:
    """The canonical JSON text of a payload (sorted keys), the input of every hash here."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)


def digest(payload: Any, length: int = 16) -> str:
    """A short sha256 of a payload's canonical JSON."""
    return hashlib.sha256(canonical(payload).encode()).hexdigest()[:length]


def file_sha256(path: str | Path) -> str:
    """The full sha256 of a file, computed once per (path, size, mtime) in a process."""
    path = Path(path)
    stat = path.stat()
    return _file_sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _file_sha256(path: str, _size: int, _mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_digest(import_path: str) -> str:
    """sha256 (short) of the file that defines `package.module:function`; "" when not found.

    Only that module's own file counts: a change in a module it imports is not seen.
    """
    module = import_path.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return ""
    origin = getattr(spec, "origin", None)
    if not origin or not Path(origin).is_file():
        return ""
    return file_sha256(origin)[:16]


def call_key(identity: dict[str, Any], messages: list[dict[str, str]], params: dict[str, Any],
             extra: dict[str, Any], variables: dict[str, Any] | None = None, repeat: int = 0, *,
             takes_vars: bool) -> str:
    """Identifies one call: the candidate and everything it is sent (`takes_vars`: a model sent
    the case's vars, not messages — a python: rule; its provider says).

    `repeat`: which of a case's repeated calls (`repeats: k`) this is; the first (0) keeps the
    key an unrepeated run has, so adding repeats reuses what is stored.
    """
    keys = CallKeys(identity, params, extra, takes_vars=takes_vars)
    return keys.key(canonical(variables if takes_vars else messages), repeat)


class CallKeys:
    """`call_key` for the many calls of one candidate with the same params: its payload is
    {"model": identity, "vars": …} for a model sent the vars (`takes_vars`: a python: rule),
    else {"model": identity, "messages": …,
    "params": …, "extra": …}, plus "repeat" past the first. Canonical JSON composes (an
    object's text is its fields' texts in key order), so the parts every call shares are
    serialised once, and what is sent (the vars or the messages) once per case, not once per
    candidate, with the very same text hashed."""

    def __init__(self, identity: dict[str, Any], params: dict[str, Any], extra: dict[str, Any], *,
                 takes_vars: bool):
        self.takes_vars = takes_vars
        self._fields = {"model": canonical(identity)}
        if not takes_vars:
            self._fields.update(params=canonical(params), extra=canonical(extra))
        self._sent = "vars" if takes_vars else "messages"
        self._around: dict[int, tuple[str, str]] = {}

    def key(self, sent: str, repeat: int = 0) -> str:
        """The key of one call, given canonical() of what it sends: the vars for a model that
        takes them, the messages otherwise."""
        around = self._around.get(repeat)
        if around is None:
            around = self._around[repeat] = self._text_around(repeat)
        return hashlib.sha256(f"{around[0]}{sent}{around[1]}".encode()).hexdigest()[:32]

    def _text_around(self, repeat: int) -> tuple[str, str]:
        """The payload's text before and after what is sent, fields in key order as canonical() has them."""
        fields = {**self._fields, self._sent: "\0"}  # canonical JSON never holds a raw NUL
        if repeat:
            fields["repeat"] = canonical(repeat)
        text = "{" + ", ".join(f"{json.dumps(name)}: {value}" for name, value in sorted(fields.items())) + "}"
        before, after = text.split("\0")
        return before, after


def case_hash(case: GoldenCase) -> str:
    """A stable hash of what a case asks and expects (not its line number)."""
    return digest([case.id, case.vars, case.expected])


# Bump when a built-in grader scores the same output differently, so stored grades are redone.
BUILTIN_GRADERS_VERSION = 2


def grader_code(grader: Any) -> str:
    """The code a grader runs: the digest of a `python` grader's function or of a custom
    registered grader's module, or the version of Tierwise's own graders."""
    if grader.name == "python":
        return source_digest(grader.options["function"])
    try:
        source = inspect.getsourcefile(grader.fn)
    except TypeError:
        source = None
    if not source or Path(source).resolve().is_relative_to(_HARNESS_DIR):
        return f"builtin-{BUILTIN_GRADERS_VERSION}"
    return file_sha256(source)[:16]


def _graders(task: HashedTask) -> list[dict[str, Any]]:
    out = []
    for g in task.graders:
        record: dict[str, Any] = {"name": g.name, "options": g.options, "weight": g.weight, "code": grader_code(g)}
        identity = getattr(g, "identity", None)
        if identity:
            record["identity"] = identity
        record.update(_judged_by(task, g))
        out.append(record)
    return out


def _judged_by(task: HashedTask, grader: Any) -> dict[str, Any]:
    """What a judge grader's scores also depend on: the judge's catalog entry and, for a pairwise
    comparison with another model, what decides that model's outputs (its entry and prompt)."""
    out: dict[str, Any] = {}
    judges = getattr(task, "judges", None) or {}
    judge = grader.options.get("judge")
    if judge and judge in judges:
        out["judge_identity"] = task.identity(judge)
    against = grader.options.get("against")
    if against and against in judges:
        identity = task.identity(against)
        out["against_identity"] = {"candidate": identity, "params": task.params(), "output": _output(task),
                                   "prompt": None if task.takes_vars(against) else task.prompt_for(against)}
    return out


def live_judge_hash(task: HashedTask, grader: Any) -> str:
    """The identity of a judge grader judging live outputs: a pairwise grader on shadow pairs
    (runner/_shadow_judging.py), an llm_judge on sampled incumbent calls (runner/_live_judging.py):
    its options and code and the judge's catalog entry, not `against:` (live, the other answer is
    the incumbent's own). A stored verdict is reused only under the same hash."""
    options = {k: v for k, v in grader.options.items() if k != "against"}
    judge = grader.options.get("judge")
    judges = getattr(task, "judges", None) or {}
    return digest({"name": grader.name, "options": options, "code": grader_code(grader),
                   "identity": getattr(grader, "identity", None) or {},
                   "judge_identity": task.identity(judge) if judge and judge in judges else None})


def _output(task: HashedTask) -> dict[str, Any] | None:
    return task.spec.output.model_dump(exclude_none=True) if task.spec.output else None


def grader_hash(task: HashedTask) -> str:
    """The graders (with their code) and the output contract they read (labels, schema)."""
    return digest({"graders": _graders(task), "output": _output(task)})


def spec_hash(task: HashedTask, model: str, identity: dict[str, Any]) -> str:
    """Everything in the spec and the catalog that decides this model's outputs and scores."""
    payload = {
        "prompt": None if task.takes_vars(model) else task.prompt_for(model),  # a rule gets the vars
        "output": _output(task),
        "params": task.params(),
        "graders": _graders(task),
        "candidate": identity,
    }
    return digest(payload)


EVIDENCE_DIGEST_KEY = "digest"


def evidence_digest(record: dict[str, Any]) -> str:
    """The sha256 (16 hex) of one task's evidence record as written (JSON values), its own
    digest field left out. Not a signature: anyone who can run this can recompute it, so it
    catches an edit made without Tierwise, not a forgery (`tierwise gate --rerun` does that)."""
    return digest({k: v for k, v in record.items() if k != EVIDENCE_DIGEST_KEY})


def cascade_hash(stages: list[tuple[str, list[Any]]], grid: list[float]) -> str:
    """What decides a cascade's answers, scores and chosen threshold: each stage's spec_hash (its
    candidate, prompt, params, graders) with its deferral signals as plain data and the code of a
    `check` verifier, and the grid the threshold is chosen from (a different grid is a different
    procedure). Its name is not part of it: renaming a cascade changes nothing it answers."""
    records = []
    for spec, signals in stages:
        checks = {s["check"]: source_digest(s["check"].removeprefix("python:"))
                  for s in signals if isinstance(s, dict) and "check" in s}
        records.append({"spec": spec, "defer": signals, "checks": checks})
    return digest({"stages": records, "grid": list(grid)})
