"""The project commands: `tierwise init` (scaffold), `validate` (everything a run checks before
its first call) and `models` (the catalog with prices and availability)."""

from __future__ import annotations

from pathlib import Path

from ..models import describe_structured, is_priced, litellm_prices, resolve_candidates, wall_priced
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
            text = f"${price.input_per_mtok or 0:g} in / ${price.output_per_mtok or 0:g} out per Mtok (set)"
        elif cand.kind == "litellm" and is_priced(cand.litellm_model or ""):
            per_in, per_out = litellm_prices(cand.litellm_model or "")
            text = f"${per_in * 1e6:g} in / ${per_out * 1e6:g} out per Mtok (LiteLLM)"
        elif cand.kind == "litellm" and not (price and (price.per_call or price.per_hour)):
            text = "unpriced: add price: to tierwise.yaml"
        else:
            text = "free"
        extras = []
        if price and price.per_call:
            extras.append(f"${price.per_call:g}/call")
        if price and price.per_hour:
            extras.append(f"${price.per_hour:g}/hour of compute")
            if price.stated_rate:
                extras[-1] += (f" at {price.output_tokens_per_s:g} output / {price.prompt_tokens_per_s:g} prompt"
                               " tokens a second (stated)")
            elif wall_priced(cand):
                extras[-1] += (" on wall time, which moves with the server's load: state price.output_tokens_per_s"
                               " and prompt_tokens_per_s for a price that holds still")
        if extras:
            text = " + ".join(([text] if text != "free" else []) + extras)
        target = cand.entry.local if cand.kind == "local" else cand.litellm_model or cand.entry.python
        rows.append({"model": name, "kind": cand.kind, "target": target, "price": text,
                     "available": cand.available, "status": cand.status, "why": cand.skip_reason or cand.note,
                     "constraints": describe_structured(cand)})
    return rows


def catalog_table(project_dir: str | Path) -> str:
    """`tierwise models`: reads tierwise.yaml only, so a broken spec or labels file never hides the catalog."""
    rows = catalog_rows(load_catalog(project_dir))
    lines = [f"{'model':<18} {'kind':<8} {'target':<34} {'status':<10} price"]
    for r in rows:
        lines.append(f"{r['model']:<18.18} {r['kind']:<8} {str(r['target']):<34.34} {r['status']:<10} {r['price']}")
        if r["why"]:
            lines.append(f"{'':<18} {'':<8} ↳ {r['why']}")
        if r["kind"] != "python":
            lines.append(f"{'':<18} {'':<8} ↳ constraints: {r['constraints']}")
    return "\n".join(lines)
