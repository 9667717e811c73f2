"""The library calls behind `tierwise audit`: where the money goes, per task and per pipeline
run, what the current recommendation would change, and which tasks to evaluate next."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..decide import CLAIM_LIVE
from ..fmt import cents
from ._backing import Backing, backings
from ._figures import SECONDS_PER_MONTH, Pipelines, TaskFigures, calls_of, pipelines, span_seconds, task_figures
from ._monitor_rows import MonitorRow
from ._read import from_ledger

JSON_VERSION = 1
# The ledger's rate stands for a month only once it covers a week (weekdays and weekends, not a
# burst: 100 calls in 1.6 minutes read as 1.3 million a month); until then tierwise.yaml's
# volumes: are the projection, and a task without one is projected from the ledger with a note.
MIN_WINDOW_S = 7 * 86400.0


@dataclass
class Projection:
    """Monthly spend at the measured rate: now (what production ran), and after: with the registry's
    entries and the current recommendation applied.

    After: the price of the model that will run (the recommended one; else the registry's entry, when
    the ledger's calls ran another model, as after a promotion) applied to the tokens measured per call
    (its own evaluated cost per call when no tokens were measured); other tasks stay as they are.
    """

    task: str
    calls_per_month: float
    now: float
    after: float | None
    recommended: str | None = None
    basis: str = ""
    volume_from: str = ""   # where calls_per_month comes from: the ledger's rate or tierwise.yaml's volumes:
    ran: str | None = None  # the model that answered most of the ledger's calls
    from_registry: bool = False  # after is the registry's entry, which production did not run yet
    claim: str = ""         # what backs the model after: "offline bound" or "live non-inferiority" (_backing.py)
    backing: str = ""       # that claim's figures, one line


@dataclass
class Opportunity:
    task: str
    potential: float      # US dollars a month that evaluation could save at most
    why: str


@dataclass
class AuditResult:
    source: str
    calls: int
    attempts: int
    spend: float
    span_s: float | None
    tasks: list[TaskFigures]
    pipelines: Pipelines | None
    projections: list[Projection] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sample: dict[str, Any] | None = None
    monitors: list[MonitorRow] = field(default_factory=list)  # live monitors (audit/_monitors.py)

    @property
    def alarms(self) -> list[MonitorRow]:
        return [m for m in self.monitors if m.state == "alarm"]

    def to_dict(self) -> dict[str, Any]:
        """The stable `--json` document (version 1)."""
        data = asdict(self)
        data["version"] = JSON_VERSION
        return data

    def text(self) -> str:
        from ._text import audit_text

        return audit_text(self)


def summarise(rows: list[dict[str, Any]], source: str) -> AuditResult:
    """Per-task and per-pipeline figures of a table of attempts."""
    calls = calls_of(rows)
    attempts: dict[str, int] = {}
    for row in rows:
        attempts[row["task"]] = attempts.get(row["task"], 0) + 1
    result = AuditResult(source=source, calls=len(calls), attempts=len(rows), spend=sum(c.cost for c in calls),
                         span_s=span_seconds(calls), tasks=task_figures(calls, attempts), pipelines=pipelines(calls))
    if not rows:
        result.notes.append("no usage yet: call tasks through harness.Client (it writes the ledger), "
                            "or pass --from with a usage export")
    return result


def measured_volumes(project: Any, store: str | None = None, min_window_s: float = MIN_WINDOW_S) -> dict[str, float]:
    """Calls per month per task at the ledger's measured rate, once the ledger covers at least
    `min_window_s` ({} before: a shorter ledger is a burst, not a month); it replaces
    tierwise.yaml's hand-written volumes: in `recommend`."""
    calls = calls_of(from_ledger(project.store_url(store)))
    span = span_seconds(calls)
    if span is None or span < min_window_s:
        return {}
    counts: dict[str, int] = {}
    for c in calls:
        counts[c.task] = counts.get(c.task, 0) + 1
    return {task: n * SECONDS_PER_MONTH / span for task, n in counts.items()}


# -- inside -------------------------------------------------------------------------


def pricer(project: Any):
    """price(model, prompt_tokens, completion_tokens) from the catalog, else LiteLLM's price map."""
    from ..models import Candidate, ModelEntry, cost_of, provider_for, resolve_candidates

    by_name: dict[str, Any] = {}
    if project is not None:
        models = project.config.models
        names = [n for n in models if not provider_for(models[n].kind).imports_code]  # never the user's code
        for name, cand in resolve_candidates(project.config, names, check_keys=False).items():
            by_name[name] = by_name[cand.entry.target] = cand

    def price(model: str, pt: int, ct: int) -> float | None:
        cand = by_name.get(model)
        if cand is None:  # not in the catalog: a LiteLLM model string, as LiteLLM's spend logs name it
            cand = Candidate(name=model, kind="litellm", entry=ModelEntry(litellm=model), litellm_model=model)
        return cost_of(cand, pt, ct, None)

    return price


def _volume(project: Any, t: TaskFigures, span_s: float | None) -> tuple[float | None, str]:
    """A task's calls per month and where they come from: the ledger's rate once it covers
    MIN_WINDOW_S, else tierwise.yaml's volumes:, else the ledger's rate with a warning."""
    days = f"{span_s / 86400:.1f} days" if span_s is not None and span_s >= 86400 else \
        f"{(span_s or 0) / 60:.1f} minutes"
    if span_s is not None and span_s >= MIN_WINDOW_S:
        return t.calls * SECONDS_PER_MONTH / span_s, f"ledger rate over {days}"
    volume = project.config.volumes.get(t.task)
    if volume is not None:
        return float(volume), f"volumes: in tierwise.yaml (ledger covers {days} < 7 days)"
    if span_s is None:
        return None, ""
    return t.calls * SECONDS_PER_MONTH / span_s, f"ledger rate over only {days} (< 7 days)"


def project_spend(project: Any, result: AuditResult, decisions: dict[str, Any], cands: dict[str, Any]) -> None:
    """Monthly spend per task, now and with the recommendation applied (`decisions` by task, `cands`
    the candidates by catalog name), and the biggest opportunities; calls a month from _volume."""
    volumes = {t.task: _volume(project, t, result.span_s) for t in result.tasks}
    if all(v is None for v, _ in volumes.values()):
        result.notes.append("fewer than two timed calls and no volumes: in tierwise.yaml: no monthly projection")
        return
    short = [task for task, (_, where) in volumes.items() if where.startswith("ledger rate over only")]
    if short:
        result.notes.append(f"the ledger covers less than 7 days, so its rate may be a burst's: {', '.join(short)} "
                            f"projected from it anyway; set volumes: {{{short[0]}: CALLS_PER_MONTH}} in tierwise.yaml")
    backed, unread = backings(project)
    result.notes.extend(unread)
    for t in result.tasks:
        monthly, where = volumes[t.task]
        if monthly is None:
            continue
        now = t.cost_per_call * monthly
        proj = Projection(t.task, monthly, now, now, basis="unchanged", volume_from=where, ran=_ran(t))
        decision = decisions.get(t.task)
        if decision is not None and decision.status == "recommend" and decision.recommended in cands:
            per_call, proj.basis = _after_per_call(t, decision, cands[decision.recommended])
            proj.after, proj.recommended = per_call * monthly, decision.recommended
            proj.claim = decision.claim
        elif decision is not None and decision.status == "recommend" and decision.cascade is not None \
                and decision.cost_per_1k_recommended is not None:  # its stages' cost on the cases each saw
            proj.after, proj.recommended = decision.cost_per_1k_recommended / 1000 * monthly, decision.recommended
            proj.basis = "its evaluated cost per call (a cascade: each stage on the cases it saw)"
            proj.claim = decision.claim
        elif t.task in backed:
            _registry_entry(proj, t, backed[t.task], decision, cands)
        result.projections.append(proj)
        entry = backed[t.task].model if t.task in backed else None
        result.opportunities.extend(_opportunity(project, t, proj, decision, cands, entry))
    result.opportunities.sort(key=lambda o: (-o.potential, o.task))
    del result.opportunities[5:]


def _ran(t: TaskFigures) -> str | None:
    """The model that answered most of a task's calls in the ledger (None: none answered)."""
    return max(t.models.items(), key=lambda kv: (kv[1], kv[0]))[0] if t.models else None


def _registry_entry(proj: Projection, t: TaskFigures, entry: Backing, decision: Any, cands: dict[str, Any]) -> None:
    """With no change recommended, after is the registry's entry and the claim that backs it; when the
    ledger's calls ran another model (the entry was written since, e.g. promoted on live evidence),
    the entry's price on the measured tokens, so the projection shows what the entry saves."""
    proj.claim, proj.backing = entry.claim, entry.text
    cand = cands.get(entry.model)
    # a usage export names a LiteLLM model as its provider reports it (gpt-4.1-mini for openai/gpt-4.1-mini)
    names = {entry.model, entry.target, entry.target.split("/", 1)[-1], getattr(cand, "litellm_model", None)}
    if proj.ran is None or proj.ran in names or cand is None:
        return
    per_call, basis = _after_per_call(t, decision, cand)
    proj.after, proj.recommended, proj.from_registry = per_call * proj.calls_per_month, entry.model, True
    proj.basis = f"the registry's entry (production ran {proj.ran}): {basis}"


def _after_per_call(t: TaskFigures, decision: Any, cand: Any) -> tuple[float, str]:
    from ..models import cost_of

    result = next((c for c in (decision.candidates if decision is not None else []) if c.model == cand.name), None)
    p50_s = result.p50_ms / 1000 if result is not None and result.p50_ms == result.p50_ms else None
    if t.mean_prompt_tokens:
        return (cost_of(cand, round(t.mean_prompt_tokens), round(t.mean_completion_tokens or 0), p50_s) or 0.0,
                "its price on the measured tokens per call")
    if result is not None and result.cost_per_call is not None:
        return result.cost_per_call, "its evaluated cost per call"
    if decision is not None and decision.recommended == cand.name and decision.cost_per_1k_recommended is not None:
        return decision.cost_per_1k_recommended / 1000, "its evaluated cost per call"
    return t.cost_per_call, "unchanged (no price known)"


def _opportunity(project: Any, t: TaskFigures, proj: Projection, decision: Any, cands: dict[str, Any],
                 entry: str | None = None) -> list[Opportunity]:
    """The most evaluation could save on a task a month, and how; `entry`: the registry's model, never an
    opportunity itself (it runs, or will once deployed: the base is then its projected cost)."""
    from ..models import cost_of, wall_priced

    if proj.now <= 0:
        return []
    if t.task not in project.tasks:
        return [Opportunity(t.task, proj.now, f"no eval spec yet: add evals/{t.task}.yaml and a golden set "
                                              f"(tierwise audit --sample {t.task} N drafts one from real inputs)")]
    if proj.after is not None and proj.after < proj.now and not proj.from_registry:
        live = decision.live if proj.claim == CLAIM_LIVE and decision is not None else None
        shown = f"is shown non-inferior to {live['incumbent']} on live traffic" if live else "already qualifies"
        return [Opportunity(t.task, proj.now - proj.after,
                            f"{proj.recommended} {shown}: tierwise recommend --write, then gate")]
    base = proj.after if proj.from_registry and proj.after is not None else proj.now
    evaluated = {c.model: c for c in decision.candidates} if decision is not None else {}
    priced = []
    for name in project.tasks[t.task].spec.candidates:
        cand = cands.get(name)
        if cand is None:
            continue
        p50 = getattr(evaluated.get(name), "p50_ms", float("nan"))
        if wall_priced(cand) and not p50 == p50:
            continue  # priced by its calls' wall time, and not timed yet: its cost is unknown
        latency_s = p50 / 1000 if p50 == p50 else None
        cost = cost_of(cand, round(t.mean_prompt_tokens or 0), round(t.mean_completion_tokens or 0), latency_s)
        if cost is not None:
            priced.append((cost, cand.weights_bytes != 0, name))  # on a tie, what needs no weights (a rule) first
    if not priced:
        return []
    cheapest, _, name = min(priced)
    potential = base - cheapest * proj.calls_per_month
    if potential <= 0 or name == entry:  # no candidate is cheaper than the registry's own model
        return []
    status = decision.reason if decision is not None and decision.reason else f"run `tierwise run {t.task}`"
    monthly = f"{cents(cheapest * proj.calls_per_month)}/month"
    if getattr(evaluated.get(name), "qualifies", False):  # it does qualify: say so, and what holds it back
        return [Opportunity(t.task, potential, f"{name} qualifies and would cost {monthly}; {status}")]
    return [Opportunity(t.task, potential, f"{name} would cost {monthly} if it qualifies; {status}")]
