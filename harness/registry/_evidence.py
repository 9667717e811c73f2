"""The evidence behind each registry entry: one versioned model, read and written here and
nowhere else (recommend writes it, the gate and the report read it).

It sits beside the registry as `<registry>.evidence.json`, committed with it, so `tierwise
gate` can check every entry on a fresh checkout without the results database. The format is
documented in docs/evidence.md.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import Field, ValidationError, model_serializer

from ..errors import RegistryError
from ..fingerprint import EVIDENCE_DIGEST_KEY, evidence_digest
from ..util import Strict, atomic_write, tierwise_version

if TYPE_CHECKING:  # the gate reads evidence at start-up; a decision's module loads SciPy
    from ..decide import CandidateResult, Decision
    from ..project import Project, Task

EVIDENCE_VERSION = 1


class ModelEvidence(Strict):
    """What one model scored on the task's golden set, and what it was measured as."""

    model: str                       # catalog name
    target: str                      # the registry `model:` string
    spec_hash: str                   # fingerprint.spec_hash: spec + catalog entry it was measured with
    identity: dict[str, Any] | None = None  # fingerprint.candidate_identity (no secrets), to say what changed
    n: int = Field(ge=0)
    mean: float | None = None
    lower: float
    method: str = ""
    error_rate: float | None = None
    p95_ms: float | None = None
    cost_per_call: float | None = None
    run_ids: list[str] = Field(default_factory=list)
    price_map_version: str = ""
    # Added within version 1 (optional; older files read as before):
    adjusted_p: float | None = None  # the procedure's adjusted p-value (qualifies iff <= 1 - confidence)
    level: float | None = None       # the level the procedure tested it at; `lower` is the bound at 1 - level
    adaptive: str = ""               # an adaptive run's line for it ("qualified at 60 of 200: …")
    settled: bool = False            # settled by an adaptive run on n < all cases
    cost_spread: float | None = None  # a measured (compute) price's 95 % half-width (decide/_cost.py)
    repeats: int = 1                 # results per case; n counts cases
    plain_lower: float | None = None  # a judged task: the bound on the judge's grades alone
    human_labels: int = 0             # human verdicts that corrected `lower` (see decide/_judged.py)
    successes: int | None = Field(None, ge=0)  # pass/fail scores: cases passed of n (the gate recomputes
                                               # the exact bound from them; registry/_consistency.py)


class NonInferiorityEvidence(Strict):
    """The recommended model against the entry it replaced, on the same cases."""

    incumbent: str                   # the registry `model:` it replaced
    incumbent_model: str             # its catalog name
    n: int = Field(ge=0)
    margin: float
    diff: float | None = None
    lower: float | None = None
    p_value: float | None = None
    method: str = ""
    shown: bool
    required: bool = False           # the spec set max_regression


class StageEvidence(Strict):
    """One stage of a cascade: the model, the signals it defers on (as registry.yaml writes them),
    and how often it deferred among the cases that reached it, with a two-sided exact interval."""

    model: str                       # catalog name
    target: str                      # the registry string of the stage's model
    spec_hash: str                   # fingerprint.spec_hash of the stage's model, as for a model record
    identity: dict[str, Any] | None = None
    defer: list[Any] = Field(default_factory=list)  # [] for the last stage, which always answers
    seen: int = Field(ge=0)          # cases that reached this stage
    answered: int = Field(ge=0)      # of those, the cases it answered
    deferral_rate: float | None = None  # (seen - answered) / seen
    interval: list[float] = Field(default_factory=list)  # two-sided Clopper-Pearson at the task's confidence
    run_ids: list[str] = Field(default_factory=list)
    cost_per_call: float | None = None  # the stage's own cost per call on every case (as a model)


class CascadeEvidence(Strict):
    """A certified cascade: its stages, the confidence threshold chosen down its grid and the
    chain of tests that chose it (decide/_cascade.py), and its deferral. The record's own model
    fields hold the cascade's figures at that threshold (n, mean, lower, cost, p95)."""

    name: str                        # the spec's name for it (its name:, else its stages joined by >)
    cascade_hash: str                # fingerprint.cascade_hash: stages, signals, a check's code, the grid
    stages: list[StageEvidence] = Field(min_length=2)
    threshold: float | None = None   # the chosen confidence threshold; None: no stage defers on confidence
    grid: list[float] = Field(default_factory=list)  # most deferring first; [] without a confidence stage
    p_values: list[float] = Field(default_factory=list)   # one per grid point, in testing order
    levels: list[float | None] = Field(default_factory=list)  # the level each was tested at (None: not reached)
    certified: list[bool] = Field(default_factory=list)   # which points were shown at or above the bar
    deferral_rate: float | None = None  # the first stage's
    deferral_interval: list[float] = Field(default_factory=list)


class PairwiseLive(Strict):
    """How the blind pairwise judge decided the shadow pairs of a judged task (decide/_live_pairwise.py)."""

    judge: str                       # the catalog judge of the task's pairwise grader
    judged: int = Field(ge=0)        # pairs with a verdict
    wins: int = Field(ge=0)
    ties: int = Field(ge=0)          # a split verdict (each order preferring a different answer) is a tie
    losses: int = Field(ge=0)
    judge_errors: int = Field(ge=0)  # no verdict: counted against the challenger
    challenger_errors: int = Field(ge=0)
    judge_upper: float               # the sequence on the counted share, at alpha/2
    miss_upper: float                # the sequence on the judge's misses against human verdicts, at alpha/2
    labels: int = Field(ge=0)        # human verdicts on the challenger's outputs
    misses: int = Field(ge=0)        # of them, outputs the judge passed and a person failed


class LiveEvidence(Strict):
    """Production evidence: the entry's model shown non-inferior to the incumbent on shadowed live
    calls (decide/_promote.py). Its presence says the claim backing the entry is live
    non-inferiority, not the offline bound; the gate accepts it while fresh. `kind` says how the
    calls were compared: `agreement` (equal outputs; `upper` bounds the disagreement rate) or
    `pairwise` (the judge; `disagreements` are the pairs counted against the challenger and
    `upper` = judge_upper + miss_upper bounds its loss rate)."""

    claim: Literal["live non-inferiority"] = "live non-inferiority"
    incumbent: str                   # the registry `model:` it was compared with (the first fallback)
    incumbent_model: str             # its catalog name
    calls: int = Field(ge=1)         # shadowed calls compared
    disagreements: int = Field(ge=0)
    window_start: str                # ISO time of the first and last shadowed call
    window_end: str
    upper: float                     # the upper confidence sequence on the disagreement rate after `calls`
    margin: float                    # the spec's max_regression it was tested against
    confidence: float
    method: str = ""
    offline_upper: float             # the model's golden-set upper bound (at or above the threshold)
    kind: Literal["agreement", "pairwise"] = "agreement"  # added within 1; absent means agreement
    pairwise: PairwiseLive | None = None                  # with kind pairwise

    @model_serializer(mode="wrap")
    def _agreement_as_before(self, handler: Any) -> dict[str, Any]:
        # Agreement evidence is written without the keys, so files from before read and write back byte for byte.
        data = handler(self)
        if self.kind == "agreement":
            data.pop("kind", None)
        if self.pairwise is None:
            data.pop("pairwise", None)
        return data


class TaskEvidence(ModelEvidence):
    """The recommended model's evidence, the task's bar, and its fallbacks' evidence."""

    params: dict[str, Any] = Field(default_factory=dict)   # max_tokens, temperature as evaluated
    golden_set: str
    golden_hash: str
    threshold: float
    confidence: float
    fallbacks: list[ModelEvidence] = Field(default_factory=list)
    tierwise_version: str = ""
    recorded_at: str = ""
    procedure: str = ""              # which procedure decided (added within version 1)
    family: list[str] | None = None  # the candidates its correction counted: the spec's list (added within 1)
    noninferiority: NonInferiorityEvidence | None = None  # added within version 1
    judge_agreement: dict[str, Any] | None = None  # the judge against human verdicts, when measured
    labels_hash: str | None = None                 # sha256 of the task's labels file then
    digest: str | None = None        # fingerprint.evidence_digest of this record as written (added within 1)
    cascade: CascadeEvidence | None = None  # the entry is a cascade (added within 1; absent for a model)
    live: LiveEvidence | None = None  # backed by live non-inferiority (added within 1; absent otherwise)

    @model_serializer(mode="wrap")
    def _no_cascade_key_for_a_model(self, handler: Any) -> dict[str, Any]:
        # A model's record is written without the keys, so files written before cascades and live
        # evidence read and write back byte for byte.
        data = handler(self)
        if self.cascade is None:
            data.pop("cascade", None)
        if self.live is None:
            data.pop("live", None)
        return data

    def records(self) -> dict[str, ModelEvidence]:
        """Every model's evidence (the main one and the fallbacks) by registry target."""
        out: dict[str, ModelEvidence] = {fb.target: fb for fb in self.fallbacks}
        out[self.target] = self
        return out


class EvidenceFile(Strict):
    """The whole file. Task records stay as read until asked for, so one malformed record
    fails its own registry entry in the gate, not every entry."""

    version: Literal[1] = EVIDENCE_VERSION
    tasks: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def record(self, task: str) -> TaskEvidence | None:
        """The task's evidence; None when there is none; ValueError saying what is malformed."""
        raw = self.tasks.get(task)
        if raw is None:
            return None
        try:
            return TaskEvidence.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"missing {where}" if first["type"] == "missing" else f"{where}: {first['msg']}") from None

    def cited_run_ids(self) -> set[str]:
        """Every run id the file cites, the fallbacks' included, read from the raw records so a
        record malformed elsewhere still protects its runs (`tierwise prune` keeps their rows)."""
        out: set[str] = set()
        for record in self.tasks.values():
            if not isinstance(record, dict):
                continue
            cascade = record.get("cascade")
            stages = (cascade.get("stages") or []) if isinstance(cascade, dict) else []
            for rec in [record, *(record.get("fallbacks") or []), *stages]:
                if isinstance(rec, dict):
                    out.update(str(r) for r in rec.get("run_ids") or [])
        return out


def evidence_path(registry_path: Path) -> Path:
    return registry_path.with_name(registry_path.stem + ".evidence.json")


def read_evidence(registry_path: Path, missing_ok: bool = False) -> EvidenceFile:
    """The evidence file; a missing (unless missing_ok) or malformed one is a RegistryError."""
    path = evidence_path(registry_path)
    if not path.exists():
        if missing_ok:
            return EvidenceFile()
        raise RegistryError(f"{path.name}: evidence file not found; fix: run `tierwise run` then "
                            f"`tierwise recommend --write` and commit {path.name}")
    try:
        return parse_evidence(path.read_bytes(), path.name)
    except OSError as exc:
        raise RegistryError(f"{path.name}: cannot read ({exc.strerror}); fix: check the file") from None


def parse_evidence(raw: bytes | str, shown: str) -> EvidenceFile:
    """Parse evidence text; every problem names the file and the fix."""
    fix = (f"fix: resolve it by hand (a merge conflict?) or delete {shown} and re-create it with "
           f"`tierwise recommend --write`")
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        doc = json.loads(text)
    except UnicodeDecodeError:
        raise RegistryError(f"{shown}: not UTF-8; {fix}") from None
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{shown}: malformed evidence ({exc}); {fix}") from None
    if not isinstance(doc, dict) or doc.get("version") != EVIDENCE_VERSION:
        raise RegistryError(f"{shown}: not a Tierwise evidence file (version {EVIDENCE_VERSION}); {fix}")
    try:
        return EvidenceFile.model_validate(doc)
    except ValidationError as exc:
        from ..project import pydantic_error

        raise RegistryError(f"{pydantic_error(exc, shown, EvidenceFile, RegistryError)}; {fix}") from None


def write_evidence(registry_path: Path, tasks: dict[str, TaskEvidence]) -> list[str]:
    """Merge these tasks' evidence into the evidence file, keeping every other task's (atomic).

    A record that differs from the stored one only in when it was recorded is not rewritten.
    A malformed existing file stops the write with its error: it is never silently replaced.
    Returns the tasks whose evidence changed."""
    path = evidence_path(registry_path)
    doc = read_evidence(registry_path, missing_ok=True)
    changed = []
    for name, evidence in tasks.items():
        new = evidence.model_dump(mode="json")
        new[EVIDENCE_DIGEST_KEY] = evidence_digest(new)
        if _without_time(doc.tasks.get(name)) != _without_time(new):
            doc.tasks[name] = new
            changed.append(name)
    if not changed:
        return []
    doc.tasks = dict(sorted(doc.tasks.items()))
    atomic_write(path, json.dumps(doc.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    return changed


def _without_time(record: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if record is None else {k: v for k, v in record.items() if k not in ("recorded_at", EVIDENCE_DIGEST_KEY)}


# A ModelEvidence is a decision's CandidateResult as written: every field is copied by name from
# it (tests/registry/test_evidence.py keeps the two in step), through these conversions, except
# the two a decision does not hold, which build_evidence adds.
_NOT_IN_A_DECISION = ("identity", "successes")
_WRITTEN: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("mean", "lower", "error_rate", "p95_ms", "adjusted_p", "plain_lower"),
                    lambda value: _r(value)),         # 6 decimals; NaN (not measured) as null
    "cost_spread": lambda spread: spread or None,     # only a measured (compute) price has one
}


def model_evidence(c: CandidateResult, identity: dict[str, Any]) -> dict[str, Any]:
    """One model's evidence record, as written, from its figures in a decision."""
    out = {name: _WRITTEN.get(name, lambda value: value)(getattr(c, name))
           for name in ModelEvidence.model_fields if name not in _NOT_IN_A_DECISION}
    if c.plain_lower is None:  # human_labels counts the verdicts that corrected `lower`: none here
        out["human_labels"] = 0
    return {**out, "identity": identity, "successes": _successes(c)}


def build_evidence(project: Project, decision: Decision) -> TaskEvidence:
    """The evidence record of one decided task (its recommended model and fallbacks)."""
    from ..models import candidate_identity

    task = project.tasks[decision.task]
    by_model = {c.model: c for c in decision.candidates}

    def record(name: str) -> dict[str, Any]:
        return model_evidence(by_model[name], candidate_identity(project.config.models[name]))

    entry = decision.entry
    assert entry is not None and decision.recommended is not None, "only a decision that recommends has evidence"
    main = record(decision.recommended) if decision.cascade is None else \
        _cascade_record(task, decision, record)
    return TaskEvidence.model_validate({
        **main,
        "params": {k: entry.get(k) for k in ("max_tokens", "temperature") if entry.get(k) is not None},
        "golden_set": task.spec.golden_set, "golden_hash": task.golden.sha256,
        "threshold": task.spec.threshold, "confidence": task.spec.confidence,
        "fallbacks": [record(name) for name in decision.fallbacks],
        "procedure": decision.procedure, "family": list(decision.family) or None,
        "noninferiority": _noninferiority(decision),
        **({"live": _live(project, decision)} if decision.live is not None else {}),
        "tierwise_version": tierwise_version(),
        "recorded_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        **({"judge_agreement": decision.judge_agreement} if decision.judge_agreement else {}),
        **({"labels_hash": task.labels.sha256} if task.labels is not None else {}),
    })


def _cascade_record(task: Task, decision: Decision, record: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The top-level fields of a cascade's record (its figures at the chosen threshold) and its
    `cascade` block; `record(name)` is a model's record, from which each stage takes its identity."""
    row = decision.cascade
    spec = next(c for c in task.spec.cascades if c.label == row["name"])
    stages = []
    for share, name, written in zip(row["stages"], spec.models, decision.entry["cascade"]):
        r = record(name)
        stages.append({"model": name, "target": r["target"], "spec_hash": r["spec_hash"], "identity": r["identity"],
                       "defer": written.get("defer", []), "seen": share["seen"], "answered": share["answered"],
                       "deferral_rate": _r(share["deferral_rate"]), "interval": [_r(x) for x in share["interval"]],
                       "run_ids": r["run_ids"], "cost_per_call": r["cost_per_call"]})
    run_ids = list(dict.fromkeys(i for s in stages for i in s["run_ids"]))
    return {
        "model": row["name"], "target": " > ".join(s["target"] for s in stages),
        "spec_hash": task.cascade_hash(spec), "n": row["n"], "mean": _r(row["mean"]), "lower": _r(row["lower"]),
        "method": row["method"], "error_rate": _r(row.get("error_rate")), "p95_ms": _r(row["p95_ms"]),
        "cost_per_call": row["cost_per_call"], "run_ids": run_ids,
        "price_map_version": max((record(s["model"])["price_map_version"] for s in stages), default=""),
        "level": row["level"], **({"successes": row["successes"]} if row.get("successes") is not None else {}),
        "cascade": {"name": row["name"], "cascade_hash": task.cascade_hash(spec), "stages": stages,
                    "threshold": row["threshold"], "grid": list(spec.thresholds),
                    "p_values": row["p_values"], "levels": row["levels"], "certified": row["certified"],
                    "deferral_rate": _r(row["deferral_rate"]),
                    "deferral_interval": [_r(x) for x in row["deferral_interval"]]},
    }


def _noninferiority(decision: Decision) -> dict[str, Any] | None:
    cmp = decision.comparison
    if cmp is None or cmp.proposed != decision.recommended or not decision.current:
        return None
    return {"incumbent": decision.current.get("model"), "incumbent_model": cmp.current, "n": cmp.n,
            "margin": cmp.margin, "diff": _r(cmp.diff), "lower": _r(cmp.lower), "p_value": _r(cmp.p_value),
            "method": cmp.test, "shown": cmp.shown, "required": cmp.required}


def _live(project: Project, decision: Decision) -> dict[str, Any]:
    """The live block of an entry promoted on shadow agreement (decide/_promote.py)."""
    from ..decide import METHOD, iso

    live = decision.live
    assert live is not None
    return {"incumbent": project.config.models[live["incumbent"]].target, "incumbent_model": live["incumbent"],
            "calls": live["calls"], "disagreements": live["disagreements"],
            "window_start": iso(live["window_start"]), "window_end": iso(live["window_end"]),
            "upper": _r(live["upper"]), "margin": live["margin"], "confidence": live["confidence"],
            "method": METHOD, "offline_upper": _r(live["offline_upper"]), **_pairwise(live)}


def _pairwise(live: dict[str, Any]) -> dict[str, Any]:
    """The pairwise figures of live evidence from the judge (decide/_live_pairwise.py); {} for agreement."""
    from ..decide import PAIRWISE_METHOD

    p = live.get("pairwise")
    if live.get("kind", "agreement") == "agreement" or p is None:
        return {}
    keys = ("judge", "judged", "wins", "ties", "losses", "judge_errors", "challenger_errors", "labels", "misses")
    return {"kind": "pairwise", "method": PAIRWISE_METHOD,
            "pairwise": {**{k: p[k] for k in keys}, "judge_upper": _r(p["judge_upper"]), "miss_upper": _r(p["miss_upper"])}}


def _successes(c: CandidateResult) -> int | None:
    """Cases passed, for a bound on pass/fail scores (method exact or wilson); None otherwise."""
    if c.method not in ("exact", "wilson") or not c.n or c.mean is None or math.isnan(c.mean):
        return None
    return round(c.mean * c.n)


def _r(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 6)
