"""What a decision is: the figures per candidate, the decision for a task, and the registry
entry it proposes (model, fallbacks, max_tokens, temperature, call options)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..models import ModelEntry
from ..project import Task

if TYPE_CHECKING:  # the gate reads entries through this module and starts without numpy and scipy
    from ._noninferiority import Comparison


@dataclass
class CandidateResult:
    model: str
    target: str
    provider: str
    available: bool
    n: int = 0
    cases: int = 0
    mean: float = math.nan
    lower: float = 0.0
    method: str = ""
    error_rate: float = math.nan
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    cost_per_call: float | None = None
    cost_spread: float = 0.0       # half-width of the 95 % interval of a measured (compute) price (decide/_cost.py)
    weights_bytes: int | None = None  # a local model's weights file (0: a python rule): breaks cost ties
    completion_tokens_max: float = math.nan
    length_rate: float = math.nan
    run_ids: list[str] = field(default_factory=list)
    price_map_version: str = ""    # the LiteLLM price map its costs came from (newest_price_map of its runs)
    spec_hash: str = ""
    qualifies: bool = False
    why_not: str = ""
    p_value: float = math.nan      # one-sided p-value for "true mean < threshold"
    adjusted_p: float = math.nan   # Holm's adjusted p-value: qualifies on quality iff <= 1 - confidence
    level: float | None = None     # the level its p-value was compared with; `lower` is the bound at 1 - level
    repeats: int = 1               # results per case (a case's score is the mean of its repeats)
    consistency: dict[str, int] = field(default_factory=dict)  # "3 of 3" -> cases, with repeats
    adaptive: str = ""             # the adaptive run's line for it ("stopped at 60 of 200: upper bound …")
    settled: bool = False          # an adaptive run settled it (on `n` of `cases` cases)
    first_error: str = ""          # the first failed call's error, when any failed
    stale: bool = False            # has stored results, none under the current spec
    # Judge evidence (tasks whose graders call a judge): the bound on the judge's grades alone,
    # the human verdicts on this model's outputs that corrected it (decide/_judged.py), and
    # what evaluating one output cost (the judge's calls), apart from cost_per_call.
    plain_lower: float | None = None
    human_labels: int = 0
    human_mean: float | None = None  # people's mean verdict on its labelled outputs (pass rate for pass/fail)
    eval_cost_per_call: float = math.nan
    judge_errors: int = 0

DecisionStatus = Literal["recommend", "keep", "no_qualifier", "no_data"]


@dataclass
class Decision:
    task: str
    threshold: float
    confidence: float
    status: DecisionStatus
    current: dict[str, Any] | None
    current_model: str | None   # catalog name of the current entry's model, if known
    recommended: str | None
    fallbacks: list[str]
    entry: dict[str, Any] | None  # the proposed registry entry
    changed: bool
    reason: str
    candidates: list[CandidateResult]
    comparison: Comparison | None = None
    sample_size_note: str | None = None
    notes: list[str] = field(default_factory=list)
    cost_per_1k_current: float | None = None
    cost_per_1k_recommended: float | None = None
    monthly_volume: float | None = None
    procedure: str = ""          # which procedure decided, and its promise (Selection.describe)
    family: list[str] = field(default_factory=list)  # the candidates the procedure counted (the spec's list)
    adaptive: bool = False       # decided from an adaptive run's verdicts
    judge_agreement: dict[str, Any] | None = None  # the judge against human verdicts (see _judged.py)
    cascades: list[dict[str, Any]] = field(default_factory=list)  # each cascade's verdict (_cascade.py)
    cascade: dict[str, Any] | None = None  # the recommended cascade's verdict (one of `cascades`), else None
    # `cascades: suggest`: how many cascades the ladder suggests (all in the family) and the names of
    # those tried (decide/_cascade_data.py); None when the spec does not ask for suggestions
    suggested_cascades: dict[str, Any] | None = None
    claim: str = ""              # what backs the entry: "offline bound" or "live non-inferiority" (_promote.py)
    live: dict[str, Any] | None = None  # the live evidence behind a "live non-inferiority" claim

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


def registry_entry(task: Task, best: CandidateResult, fallbacks: list[CandidateResult],
                   pin: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"model": best.target, "fallbacks": [f.target for f in fallbacks]}
    entry.update(call_settings(task, [best.model, *(f.model for f in fallbacks)], suggested_max_tokens(best)))
    if pin:
        entry["pin"] = pin
    return entry


def call_settings(task: Task, models: list[str], suggested: int | None) -> dict[str, Any]:
    """What an entry carries beside its models: max_tokens (the spec's, else `suggested`), the
    temperature, and the call options of each of `models` (catalog names) that has any."""
    params = task.params()
    out: dict[str, Any] = {"max_tokens": params.get("max_tokens") or suggested}
    if "temperature" in params:
        out["temperature"] = params["temperature"]
    options = {task.models[m].target: registry_options(task.models[m]) for m in models}
    options = {target: opts for target, opts in options.items() if opts}
    if options:
        out["options"] = options
    return out


def entry_label(entry: dict[str, Any]) -> str:
    """A registry entry as one line: its model, or its cascade's stages (`cascade a > b`)."""
    if isinstance(entry.get("cascade"), list):
        return "cascade " + " > ".join(str(s.get("model")) if isinstance(s, dict) else str(s)
                                       for s in entry["cascade"])
    return str(entry.get("model"))


def entry_cascade(task: Task, entry: dict[str, Any] | None) -> str | None:
    """The name of the spec cascade a registry entry runs (matched on its stages' targets), or None."""
    if not entry or not isinstance(entry.get("cascade"), list):
        return None
    targets = [s.get("model") if isinstance(s, dict) else s for s in entry["cascade"]]
    for spec in task.spec.cascades:
        if [task.models[m].target for m in spec.models] == targets:
            return spec.label
    return None


def registry_options(entry: ModelEntry) -> dict[str, Any]:
    """A catalog entry's call options as the registry carries them: what the evaluation sent,
    never a key (api_key_env names the variable; `api_key: none` says none is needed)."""
    return {k: v for k, v in sorted(entry.call_options.items())
            if k != "api_key" or str(v).lower() == "none"}


def suggested_max_tokens(r: CandidateResult) -> int | None:
    """When the spec sets none: observed longest answer with headroom, rounded up to 8."""
    if math.isnan(r.completion_tokens_max) or r.completion_tokens_max <= 0:
        return None
    return int(math.ceil(r.completion_tokens_max * 1.5 / 8.0) * 8)


def newest_price_map(run_ids: list[str], run_versions: dict[str, Any]) -> str:
    """The price map a set of results was costed with: the newest among their runs' recorded
    `price_map_version` (runs/store); "" when none is recorded."""
    return sorted({run_versions.get(r) or "" for r in run_ids})[-1] if run_ids else ""


def _clean(value: Any) -> Any:
    """NaN -> None so the JSON document is valid JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
