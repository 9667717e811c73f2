"""Which claim backs each registry entry, read from the evidence file as `tierwise gate` reads it: the
*offline bound* (the model's lower bound on the golden set clears the threshold) or *live
non-inferiority* (the model was shown no worse than the incumbent, within the spec's margin, on
shadowed production calls; decide/_promote.py). The audit's spend projection and its "where evaluation
would pay most" read it, so an entry promoted on live evidence is projected as what runs next and is
never offered as a candidate that would save money "if it qualifies"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..decide import CLAIM_OFFLINE
from ..errors import TierwiseError
from ..registry import TaskEvidence, evidence_path, read_evidence, read_registry


@dataclass(frozen=True)
class Backing:
    """A registry entry's model and the claim its recorded evidence makes for it."""

    model: str    # catalog name
    target: str   # the registry `model:` string
    claim: str    # "offline bound" or "live non-inferiority"
    text: str     # the claim's figures, one line
    incumbent: str | None = None  # with a live claim: the catalog model it was shown no worse than


def backings(project: Any) -> tuple[dict[str, Backing], list[str]]:
    """The claim backing each single-model registry entry whose evidence names that model, by task;
    and a note per entry whose record cannot be read (that entry is projected without a claim)."""
    try:
        registry = read_registry(project.registry_path)
        evidence = read_evidence(project.registry_path, missing_ok=True)
    except TierwiseError as exc:
        return {}, [f"no registry claims read ({exc})"]
    out: dict[str, Backing] = {}
    notes: list[str] = []
    for task, entry in sorted(registry.items()):
        if not isinstance(entry, dict):
            continue
        try:
            record = evidence.record(task)
        except ValueError as exc:
            notes.append(f"{evidence_path(project.registry_path).name}: tasks.{task}: {exc}; "
                         f"its entry is projected without its claim")
            continue
        if record is None:
            continue
        if isinstance(entry.get("cascade"), list):  # backed by its offline bound; never projected as one model
            if record.cascade is not None and [s.target for s in record.cascade.stages] == \
                    [s.get("model") if isinstance(s, dict) else s for s in entry["cascade"]]:
                out[task] = Backing(f"cascade {record.cascade.name}", "", CLAIM_OFFLINE, _offline(record))
        elif record.target == entry.get("model"):
            out[task] = _backing(record)
    return out, notes


def _backing(record: TaskEvidence) -> Backing:
    live = record.live
    if live is None:
        return Backing(record.model, record.target, CLAIM_OFFLINE, _offline(record))
    what = "disagreement" if live.kind == "agreement" or live.pairwise is None else \
        f"judged loss (corrected by {live.pairwise.labels} human verdicts)"
    return Backing(record.model, record.target, live.claim,
                   f"{live.claim} to {live.incumbent_model}: {what} upper {live.upper:.3f} < max_regression "
                   f"{live.margin:g} on {live.calls} shadowed calls to {live.window_end}, at {live.confidence:.0%} "
                   f"(not an offline bound)", live.incumbent_model)


def _offline(record: TaskEvidence) -> str:
    return (f"{CLAIM_OFFLINE}: lower {record.lower:.3f} >= threshold {record.threshold:g} "
            f"(n={record.n}, at {record.confidence:.0%})")
