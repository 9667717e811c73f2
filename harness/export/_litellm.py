"""registry.yaml as a LiteLLM Router / proxy config: one model group per task, named after
the task, with the registry's params; each fallback is a group of its own
(`<task>/fallback-<i>`) listed under router_settings.fallbacks, so a team that runs the
LiteLLM proxy calls `model="ticket_triage"` and gets the evidence-backed model and chain.

LiteLLM cannot call `python:` rules, and `local:` models need a server the proxy does not
start: such targets are left out, and a task whose primary is one of them is left out whole
(routing it elsewhere would not be what the evidence chose). A local model served by
llama-cpp-python's OpenAI-compatible server under its catalog name (the alias Tierwise itself
serves it by) is exported in that served form with `local_api_base`: `openai/<name>` at that
URL, with the same grammar or schema constraint the evaluation sent. What a model becomes in the
config is its provider's to say (Provider.router_params). The prompt stays with the caller:
the proxy does not render the task's template (Tierwise's client does).

A cascade entry is what LiteLLM cannot express: its router moves to a fallback on a provider error,
never on an answer (an abstention, a broken contract, a low probability, disagreeing samples, a
failed check). So no `<task>` group is written for it (calling one model under the task's name would
not be the certified policy); each stage LiteLLM can call becomes a group `<task>/stage-<i>`, with
the stage's params and constraint, the entry's fallbacks behind the last stage, for harness.Client
or the application to call in order and apply the signals itself; the config's header and
`skipped` say so, naming the signals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = """\
# LiteLLM Router / proxy config written by `tierwise export litellm` from {registry}.
# One model group per task: call model="<task>". Fallback groups are <task>/fallback-<i>.
# Regenerate after `tierwise recommend --write`; edits here are overwritten.
"""


@dataclass
class LitellmExport:
    config: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)   # task or target -> why it is not in the config
    path: Path | None = None

    def text(self) -> str:
        groups = len({m["model_name"] for m in self.config["model_list"]})
        lines = [f"wrote {self.path}: {groups} model groups" if self.path else f"{groups} model groups"]
        lines += [f"left out {what}: {why}" for what, why in self.skipped.items()]
        return "\n".join(lines)


def litellm_config(project: Any, num_retries: int | None = None, local_api_base: str | None = None) -> LitellmExport:
    """The registry's entries as a LiteLLM config dict (model_list and router_settings);
    `local_api_base`: where local models are served (else they are left out, with how to serve them)."""
    from ..client import build_routes
    from ..registry import read_registry

    registry = read_registry(project.registry_path)
    routes = build_routes(project, registry)
    out = LitellmExport({"model_list": [], "router_settings": {"fallbacks": []}})
    for task in registry:
        if task not in routes:
            out.skipped[task] = f"no evals/{task}.yaml, so its params are unknown"
    for task, route in routes.items():
        if route.stages:
            _cascade(out, task, route, local_api_base, project.config.registry)
            continue
        groups: list[str] = []
        for i, hop in enumerate(route.hops):
            model, why = _router_params(hop, local_api_base)
            if model is None:
                if i == 0:
                    out.skipped[task] = f"its model {hop.target} {why}"
                    break
                out.skipped[f"{task} fallback {hop.target}"] = why
                continue
            name = task if i == 0 else f"{task}/fallback-{len(groups)}"
            out.config["model_list"].append(_group(name, task, route, hop, model))
            groups.append(name)
        if len(groups) > 1:
            out.config["router_settings"]["fallbacks"].append({groups[0]: groups[1:]})
    settings = out.config["router_settings"]
    settings["num_retries"] = project.config.retries if num_retries is None else num_retries
    # registry values arrive as ruamel scalars (float and int subclasses): plain types for any writer
    out.config = json.loads(json.dumps(out.config))
    return out


def _group(name: str, task: str, route: Any, hop: Any, model: dict[str, Any]) -> dict[str, Any]:
    """One model group: the hop's model (as its provider routes it) with its call options, params and
    evaluated constraint."""
    from ..models import constraint

    params = {**model, **_options(hop.cand.call_options), **hop.params, **constraint(route.task, hop.cand)}
    return {"model_name": name, "litellm_params": params, "model_info": {"tierwise_task": task, "tierwise_model": hop.name}}


def _router_params(hop: Any, local_api_base: str | None) -> tuple[dict[str, Any] | None, str]:
    from ..models import provider_for

    return provider_for(hop.cand.kind).router_params(hop.cand, local_api_base)


def _cascade(out: LitellmExport, task: str, route: Any, local_api_base: str | None, registry: str) -> None:
    """A cascade entry: its stages as groups <task>/stage-<i>, no <task> group, and why."""
    from ..registry import signal_key

    signals = sorted({signal_key(s) for stage in route.entry["cascade"] for s in stage.get("defer") or []})
    count = len(route.stages)
    written: list[str] = []
    last: str | None = None
    for i, stage in enumerate(route.stages, start=1):
        model, why = _router_params(stage.hop, local_api_base)
        if model is None:
            out.skipped[f"{task} stage {i} {stage.hop.target}"] = why
            continue
        name = f"{task}/stage-{i}"
        out.config["model_list"].append(_group(name, task, route, stage.hop, model))
        written.append(name)
        last = name if i == count else last
    fallbacks = []
    for hop in route.hops[count:]:
        model, why = _router_params(hop, local_api_base)
        if model is None:
            out.skipped[f"{task} fallback {hop.target}"] = why
            continue
        name = f"{task}/fallback-{len(fallbacks) + 1}"
        out.config["model_list"].append(_group(name, task, route, hop, model))
        fallbacks.append(name)
    if last is not None and fallbacks:
        out.config["router_settings"]["fallbacks"].append({last: fallbacks})
    stages = f"its stages as {', '.join(written)} " if written else "none of its stages "
    out.skipped[task] = (f"a cascade: LiteLLM moves to a fallback on a provider error only and cannot pass a call on "
                         f"when a stage answers ({', '.join(signals)}), so there is no '{task}' group; exported "
                         f"{stages}for harness.Client or your code to call in order, applying the signals "
                         f"in {registry} tasks.{task}.cascade")


def write_litellm_config(project: Any, out: str | Path | None = None,
                         local_api_base: str | None = None) -> LitellmExport:
    """Write the config as YAML (default: litellm_config.yaml in the project root)."""
    import yaml

    from ..util import atomic_write

    export = litellm_config(project, local_api_base=local_api_base)
    path = Path(out) if out else project.root / "litellm_config.yaml"
    body = yaml.safe_dump(export.config, sort_keys=False, allow_unicode=True, width=4096)
    notes = "".join(f"# left out {what}: {why}\n" for what, why in export.skipped.items())
    atomic_write(path, HEADER.format(registry=project.config.registry) + notes + body)
    export.path = path
    return export


def _options(options: dict[str, Any]) -> dict[str, Any]:
    """Catalog call options in LiteLLM's terms; a key is referenced by its variable, never written."""
    out = {k: v for k, v in options.items() if k != "api_key_env"}
    if "api_key_env" in options:
        out["api_key"] = f"os.environ/{options['api_key_env']}"
    return out
