"""The project commands: `tierwise init` (scaffold), `validate` (everything a run checks before
its first call) and `models` (the catalog with prices and availability)."""

from __future__ import annotations

from pathlib import Path

from .. import fmt
from ..models import Candidate, describe_structured, provider_for, resolve_candidates, wall_priced
from ..project import Project, init_project, load_catalog


def init(folder: str | Path) -> list[str]:
    """Scaffold a project in `folder`; the paths written."""
    return init_project(folder)


def validate(project: Project) -> tuple[list[str], str]:
    """Check specs, golden sets and the catalog, calling no model: the warnings a run would give
    (self-hosted models a task's contract reaches unconstrained) and the one-line summary."""
    from ..runner import check  # start-up time: the runner's plan loads only what validate needs

    warnings = check(project)
    cases = sum(len(t.golden) for t in project.tasks.values())
    return warnings, f"ok: {len(project.tasks)} tasks, {cases} cases, {len(project.config.models)} models"


def catalog_rows(project: Project) -> list[dict]:
    """The catalog, one row per model: kind, target, price, status and the constraints it is sent."""
    cands = resolve_candidates(project.config, list(project.config.models))
    rows = []
    for name, cand in cands.items():
        price = cand.entry.price
        if price and (price.input_per_mtok is not None or price.output_per_mtok is not None):
            token_price = _per_mtok(price.input_per_mtok or 0, price.output_per_mtok or 0, "set")
        else:
            token_price = _listed(cand)  # None: no list price; "": the provider charges nothing
        text = token_price or ("unpriced: add price: to tierwise.yaml" if token_price is None else "free")
        extras = []
        if price and price.per_call:
            extras.append(f"{fmt.price(price.per_call)}/call")
        if price and price.per_hour:
            extras.append(f"{fmt.price(price.per_hour)}/hour of compute")
            if price.stated_rate:
                extras[-1] += (f" at {price.output_tokens_per_s:g} output / {price.prompt_tokens_per_s:g} prompt"
                               " tokens a second (stated)")
            elif wall_priced(cand):
                extras[-1] += (" on wall time, which moves with the server's load: state price.output_tokens_per_s"
                               " and prompt_tokens_per_s for a price that holds still")
        if extras:  # a per_call or per_hour price prices a model LiteLLM's map does not know
            text = " + ".join(([token_price] if token_price else []) + extras)
        rows.append({"model": name, "kind": cand.kind, "target": cand.entry.ref, "price": text,
                     "available": cand.available, "status": cand.status, "why": cand.skip_reason or cand.note,
                     "constraints": describe_structured(cand)})
    return rows


def _listed(cand: Candidate) -> str | None:
    """The provider's list price as `tierwise models` states it; "" when the provider charges
    nothing itself (a python: rule, a local: model); None when it lists no price for the model."""
    provider = provider_for(cand.kind)
    prices = provider.list_price(cand)
    if prices is None:
        return None
    return _per_mtok(*prices, provider.price_list) if provider.price_list else ""


def _per_mtok(per_in: float, per_out: float, source: str) -> str:
    return f"{fmt.price(per_in)} in / {fmt.price(per_out)} out per Mtok ({source})"


def catalog_table(project_dir: str | Path) -> str:
    """`tierwise models`: reads tierwise.yaml only, so a broken spec or labels file never hides the catalog."""
    rows = catalog_rows(load_catalog(project_dir))
    lines = [f"{'model':<18} {'kind':<8} {'target':<34} {'status':<10} price"]
    for r in rows:
        lines.append(f"{r['model']:<18.18} {r['kind']:<8} {str(r['target']):<34.34} {r['status']:<10} {r['price']}")
        if r["why"]:
            lines.append(f"{'':<18} {'':<8} ↳ {r['why']}")
        if r["constraints"] != "-":  # "-": nothing to say (a python: rule is sent no constraint)
            lines.append(f"{'':<18} {'':<8} ↳ constraints: {r['constraints']}")
    return "\n".join(lines)
