"""`tierwise models`: the catalog with prices and availability."""

from __future__ import annotations

from ..project import Project
from ._catalog import resolve_candidates
from ._structured import describe


def catalog_rows(project: Project) -> list[dict]:
    from ._pricing import is_priced, litellm_prices

    cands = resolve_candidates(project.config, list(project.config.models))
    rows = []
    for name, cand in cands.items():
        price = cand.entry.price
        if price and (price.input_per_mtok is not None or price.output_per_mtok is not None):
            text = f"${price.input_per_mtok or 0:g} in / ${price.output_per_mtok or 0:g} out per Mtok (set)"
        elif cand.kind == "litellm" and is_priced(cand.litellm_model or ""):
            per_in, per_out = litellm_prices(cand.litellm_model or "")
            text = f"${per_in * 1e6:g} in / ${per_out * 1e6:g} out per Mtok (LiteLLM)"
        elif cand.kind == "litellm":
            text = "unpriced: add price: to tierwise.yaml"
        else:
            text = "free"
        extras = []
        if price and price.per_call:
            extras.append(f"${price.per_call:g}/call")
        if price and price.per_hour:
            extras.append(f"${price.per_hour:g}/hour of compute")
        if extras:
            text = " + ".join(([text] if text != "free" else []) + extras)
        target = cand.entry.local if cand.kind == "local" else cand.litellm_model or cand.entry.python
        rows.append({"model": name, "kind": cand.kind, "target": target, "price": text,
                     "available": cand.available, "status": cand.status, "why": cand.skip_reason or cand.note,
                     "constraints": describe(cand)})
    return rows


def catalog_table(project: Project) -> str:
    rows = catalog_rows(project)
    lines = [f"{'model':<18} {'kind':<8} {'target':<34} {'status':<10} price"]
    for r in rows:
        lines.append(f"{r['model']:<18.18} {r['kind']:<8} {str(r['target']):<34.34} {r['status']:<10} {r['price']}")
        if r["why"]:
            lines.append(f"{'':<18} {'':<8} ↳ {r['why']}")
        if r["kind"] != "python":
            lines.append(f"{'':<18} {'':<8} ↳ constraints: {r['constraints']}")
    return "\n".join(lines)
