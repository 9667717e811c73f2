"""What the report shows, worked out once for the HTML, Markdown and JSON renderings.

Per task: the verdict in words, what to do with the registry, how far the best candidate
fell short, and one row per candidate. For the project: the registry diff that
`tierwise recommend --write` would make, and the runs the figures come from.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..decide import CandidateResult, Decision, cascade_result, entry_label, projected_monthly
from ._fmt import pct, score

VERDICTS = {  # status -> (short label, css class)
    "recommend": ("change", "change"),
    "keep": ("keep", "keep"),
    "no_qualifier": ("nothing qualifies", "none"),
    "no_data": ("no results", "nodata"),
}


@dataclass
class ModelRow:
    """One candidate of one task, with the figures the recommender used and a role."""

    c: CandidateResult
    role: str                 # recommended | fallback | qualifies | falls short | not evaluated
    prompt_tokens: float = math.nan
    completion_tokens: float = math.nan
    errors: int = 0
    current: bool = False

    @property
    def cost_per_1k(self) -> float | None:
        return None if self.c.cost_per_call is None else self.c.cost_per_call * 1000

    @property
    def eval_cost_per_1k(self) -> float | None:
        """What judging 1,000 of its outputs costs: evaluation cost, not the model's own."""
        value = self.c.eval_cost_per_call
        return None if value is None or math.isnan(value) else value * 1000


@dataclass
class TaskView:
    d: Decision
    description: str
    path: str
    golden_set: str
    golden_hash: str
    cases: int
    verdict: str
    verdict_class: str
    action: str                       # one sentence: what to do with the registry entry
    best: CandidateResult | None      # the recommended one, else the best evaluated one
    shortfall: str = ""               # for no_qualifier: how far the best one fell short, and what would help
    saving_per_1k: float | None = None
    monthly_saving: float | None = None
    rows: list[ModelRow] = field(default_factory=list)
    chart: Any = None                 # _svg.Chart
    cascade_charts: list[Any] = field(default_factory=list)  # _cascade_svg.CascadeChart, one per cascade with a grid
    limits: str = ""
    entry_changes: list[tuple[str, str, str]] = field(default_factory=list)  # key, before, after
    judged: bool = False              # a grader calls a judge: show plain and corrected bounds, judge cost
    eval_costs: tuple[float, float] | None = None  # this evaluation's candidate calls, judge calls (USD)


def task_views(project: Any, rec: Any) -> list[TaskView]:
    from ..decide import summarize
    from ._cascade_svg import cascade_charts
    from ._svg import cost_quality_chart

    summary = summarize(rec.frame)
    figures = {(r.task, r.model): r for r in summary.itertuples(index=False)}
    views = []
    for d in rec.decisions:
        task = project.tasks[d.task]
        label, css = VERDICTS.get(d.status, (d.status, "none"))
        view = TaskView(d=d, description=task.spec.description.strip(), path=task.path,
                        golden_set=task.spec.golden_set, golden_hash=task.golden.sha256, cases=len(task.golden),
                        verdict=label, verdict_class=css, action=_action(d), best=_best(d),
                        limits=_limits(task.spec))
        if d.status == "no_qualifier" and view.best is not None:
            view.shortfall = _shortfall(view.best, d)
        if d.status == "recommend" and d.cost_per_1k_current is not None and d.cost_per_1k_recommended is not None:
            view.saving_per_1k = d.cost_per_1k_current - d.cost_per_1k_recommended
            if d.monthly_volume:
                view.monthly_saving = view.saving_per_1k * d.monthly_volume / 1000
        view.rows = [_row(d, c, figures.get((d.task, c.model))) for c in d.candidates]
        view.judged = task.uses_judge
        if view.judged:
            view.eval_costs = _eval_costs(rec.frame, d.task)
        view.chart = cost_quality_chart(d)
        view.cascade_charts = cascade_charts(d)
        view.entry_changes = _entry_changes(d)
        views.append(view)
    return views


def _eval_costs(frame: Any, task: str) -> tuple[float, float] | None:
    """What evaluating the task's current results cost: the candidates' calls and the judge's."""
    if frame is None or not len(frame) or "eval_cost" not in frame:
        return None
    rows = frame[frame["task"] == task]
    return float(rows["cost"].fillna(0).sum()), float(rows["eval_cost"].fillna(0).sum())


def judge_share(costs: tuple[float, float] | None) -> float | None:
    """The judge's share of what an evaluation cost."""
    if not costs or sum(costs) <= 0:
        return None
    return costs[1] / sum(costs)


def judge_lines(d: Decision, eval_costs: tuple[float, float] | None = None) -> list[str]:
    """A judged task's evidence in brief (terminal and Markdown): agreement with people, the
    bounds corrected for the judge, judge errors, and what judging cost."""
    from ._fmt import money

    out = []
    a = d.judge_agreement
    if a:
        kappa = "undefined" if a.get("kappa") is None else f"{a['kappa']:.2f}"
        need = f"; needs {a['measure']} ≥ {a['min_agreement']:g}" if a.get("min_agreement") is not None else ""
        out.append(f"judge agreement with {a['n']} human verdicts: accuracy {a['accuracy']:.2f}, "
                   f"Cohen's kappa {kappa}{need}")
    else:
        out.append(f"judge agreement: not measured (no human verdicts match the current outputs; "
                   f"`tierwise labels {d.task} --template` lists the outputs to judge)")
    for c in d.candidates:
        if c.human_labels and c.human_mean is not None:
            out.append(f"{c.model}: people passed {c.human_mean * c.human_labels:.3g} of {c.human_labels} labelled "
                       f"outputs ({pct(c.human_mean, 0)})")
        if c.plain_lower is not None:
            out.append(f"{c.model}: lower bound {score(c.lower)} corrected for the judge with {c.human_labels} human "
                       f"verdicts (judge alone {score(c.plain_lower)})")
        if c.judge_errors:
            out.append(f"{c.model}: {c.judge_errors} judge error{'s' if c.judge_errors != 1 else ''} (counted as fails)")
    share = judge_share(eval_costs)
    if eval_costs is not None:
        out.append(f"evaluation cost: candidates {money(eval_costs[0])}, judge {money(eval_costs[1])}"
                   + (f" ({pct(share, 0)} of it)" if share is not None else ""))
    return out


def _best(d: Decision) -> CandidateResult | None:
    by_model = {c.model: c for c in d.candidates}
    if d.cascade is not None:
        return cascade_result(d)
    if d.recommended:
        return by_model[d.recommended]
    evaluated = [c for c in d.candidates if c.n]
    return max(evaluated, key=lambda c: (c.lower, c.mean)) if evaluated else None


def _action(d: Decision) -> str:
    entry = d.entry or {}
    what = entry_label(entry)
    if d.status == "recommend" and d.current is None:
        return f"add the entry: {'' if entry.get('cascade') else 'model '}{what} ({d.recommended})"
    if d.status == "recommend":
        if entry_label(d.current) != what:
            return f"change from {entry_label(d.current)} to {what} ({d.recommended})" if entry.get("cascade") or \
                d.current.get("cascade") else f"change model from {d.current.get('model')} to {what} ({d.recommended})"
        keys = [k for k, v in entry.items() if d.current.get(k) != v]
        return f"keep {'' if entry.get('cascade') else 'model '}{what}; update {', '.join(keys)}"
    if d.status == "keep" and entry.get("pin"):  # kept for its reason, cheapest or not (the notes say what unpinning saves)
        return f"no change: {what} ({d.recommended}) is pinned ({entry['pin']})"
    if d.status == "keep":
        return f"no change: {what} ({d.recommended}) is still the cheapest that qualifies"
    if d.status == "no_qualifier":
        return "no change (" + ("the current entry stays" if d.current else "nothing to write") + ")"
    return f"no change: no results yet, run `tierwise run {d.task}`"


def _shortfall(best: CandidateResult, d: Decision) -> str:
    """How far the best candidate's bound fell short (the recommender's notes say what would help)."""
    if not (best.n and best.n == best.cases and best.lower < d.threshold):
        return ""
    return f"{best.model}'s lower bound is {d.threshold - best.lower:.3f} below the threshold"


def _limits(spec: Any) -> str:
    parts = [f"threshold {spec.threshold:g} on the lower bound at {pct(spec.confidence, 0)} confidence"]
    if spec.max_error_rate is not None:
        parts.append(f"error rate ≤ {pct(spec.max_error_rate)}")
    if spec.max_p95_latency_ms is not None:
        parts.append(f"p95 latency ≤ {spec.max_p95_latency_ms:,.0f} ms")
    return ", ".join(parts)


def _row(d: Decision, c: CandidateResult, fig: Any) -> ModelRow:
    if c.model == d.recommended:
        role = "recommended"
    elif c.model in d.fallbacks:
        role = "fallback"
    elif c.qualifies:
        role = "qualifies"
    elif c.n:
        role = "falls short"
    else:
        role = "not evaluated"
    row = ModelRow(c, role, current=c.model == d.current_model)
    if fig is not None:
        row.prompt_tokens, row.completion_tokens, row.errors = fig.prompt_tokens, fig.completion_tokens, fig.errors
    return row


def _entry_changes(d: Decision) -> list[tuple[str, str, str]]:
    if not d.entry or not d.changed:
        return []
    before = d.current or {}
    keys = [k for k in ("model", "cascade", "fallbacks", "max_tokens", "temperature") if k in d.entry or k in before]
    return [(k, _yaml_value(before.get(k)), _yaml_value(d.entry.get(k)))
            for k in keys if before.get(k) != d.entry.get(k)]


def _yaml_value(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value) if isinstance(value, list) else str(value)


@dataclass
class RegistryDiff:
    path: str
    exists: bool
    lines: list[tuple[str, str]]  # (kind: add | del | ctx | hunk, text)
    text: str                     # the unified diff, for Markdown and JSON


def registry_diff(project: Any, rec: Any) -> RegistryDiff:
    """The change `tierwise recommend --write` would make to registry.yaml, made on a copy."""
    from ..registry import update_registry

    path = project.registry_path
    shown = _relative(path, project.root)
    entries = {d.task: d.entry for d in rec.decisions if d.entry is not None and d.changed}
    before = path.read_bytes().decode("utf-8-sig", errors="replace") if path.exists() else ""
    after = before
    if entries:
        with tempfile.TemporaryDirectory(prefix="tierwise-report-") as tmp:
            copy = Path(tmp) / path.name
            if path.exists():
                shutil.copyfile(path, copy)
            update_registry(copy, entries)
            after = copy.read_text(encoding="utf-8")
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                     f"a/{shown}", f"b/{shown}", lineterm=""))
    lines = []
    for line in diff[2:]:
        kind = "hunk" if line.startswith("@@") else {"+": "add", "-": "del"}.get(line[:1], "ctx")
        lines.append((kind, line))
    return RegistryDiff(shown, path.exists(), lines, "\n".join(diff))


@dataclass
class RunInfo:
    id: str
    started: str
    finished: str
    status: str
    tierwise_version: str
    litellm_version: str
    price_map_version: str
    argv: str
    tasks: list[str]
    skipped: dict[str, str]
    results: int


def run_infos(rec: Any) -> list[RunInfo]:
    """The runs whose results the figures use, newest first."""
    used: dict[str, int] = {}
    if rec.frame is not None and len(rec.frame):
        used = rec.frame["run_id"].value_counts().to_dict()
    out = []
    for r in rec.runs:
        if r["id"] not in used:
            continue
        try:
            info = json.loads(r.get("info") or "{}")
        except json.JSONDecodeError:
            info = {}
        out.append(RunInfo(r["id"], _when(r.get("started_at")), _when(r.get("finished_at")), r.get("status") or "",
                           r.get("tierwise_version") or "", r.get("litellm_version") or "",
                           r.get("price_map_version") or "", r.get("argv") or "", info.get("tasks") or [],
                           info.get("skipped") or {}, int(used[r["id"]])))
    return sorted(out, key=lambda i: i.started, reverse=True)


def _when(ts: float | None) -> str:
    if ts is None or (isinstance(ts, float) and math.isnan(ts)):
        return ""
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def headline(views: list[TaskView]) -> str:
    """One sentence for the top of the page and the PR comment."""
    counts = {k: sum(v.d.status == k for v in views) for k in VERDICTS}
    parts = [f"{counts['recommend']} to change", f"{counts['keep']} unchanged"]
    if counts["no_qualifier"]:
        parts.append(f"{counts['no_qualifier']} with nothing qualifying")
    if counts["no_data"]:
        parts.append(f"{counts['no_data']} without results")
    return f"{len(views)} task{'s' if len(views) != 1 else ''}: " + ", ".join(parts)


def quality(c: CandidateResult | None, confidence: float) -> str:
    if c is None or not c.n:
        return "–"
    return f"{score(c.mean)} (≥ {score(c.lower)} at {pct(confidence, 0)}, n={c.n})"


def monthly(views: list[TaskView]) -> tuple[float, float, int] | None:
    """Projected monthly spend now and after, over tasks with a volume and both prices."""
    return projected_monthly([v.d for v in views])

