"""A cascade entry in registry.yaml: its format, read strictly (docs/formats.md). The gate's
checks of it against its evidence are in _cascade_gate.py.

    tasks:
      sentiment:
        cascade:                                   # instead of model: the stages, first asked first
          - {model: python:examples.rules:lexicon, defer: [abstain]}
          - {model: local:qwen2.5-0.5b, defer: [contract, {confidence: 0.95}]}
          - {model: local:qwen2.5-1.5b}           # the last stage always answers
        fallbacks: [openai/gpt-4.1-mini]           # when the last stage's provider fails
        max_tokens: 4
        temperature: 0

A stage's `defer:` lists its signals: `abstain`, `contract`, `{confidence: T}` (the threshold the
evaluation chose), `{agreement: m, of: k}`, `{check: "python:module:fn"}`; a stage whose call fails
always passes the call on. The client (harness/client/_cascade.py) runs it as written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import RegistryError

SIGNAL_NAMES = ("abstain", "contract")
SIGNAL_KEYS = {"confidence": ("confidence",), "agreement": ("agreement", "of"), "check": ("check",)}
_CHECK = re.compile(r"^python:[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_SIGNALS_TEXT = "abstain, contract, {confidence: T}, {agreement: m, of: k}, {check: python:module:fn}"


def check_cascade_entry(path: Path, name: str, entry: dict[str, Any]) -> None:
    """Refuse a malformed cascade entry with one line naming the place and the fix."""
    where = f"{path.name}: tasks.{name}"
    if "model" in entry:
        raise RegistryError(f"{where}: has both model: and cascade:; fix: keep one (a cascade's stages name its models)")
    stages = entry["cascade"]
    if not isinstance(stages, list) or len(stages) < 2:
        raise RegistryError(f"{where}.cascade: must list at least two stages, e.g. "
                            f"[{{model: python:rules:fn, defer: [abstain]}}, {{model: openai/gpt-4.1-mini}}]")
    for i, stage in enumerate(stages):
        place = f"{where}.cascade[{i}]"
        if not isinstance(stage, dict) or not isinstance(stage.get("model"), str) or not stage["model"]:
            raise RegistryError(f"{place}: a stage is a mapping with model: (a model string) and, but for the "
                                f"last, defer:")
        unknown = [k for k in stage if k not in ("model", "defer")]
        if unknown:
            raise RegistryError(f"{place}.{unknown[0]}: unknown key; known: model, defer")
        defer = stage.get("defer")
        if i == len(stages) - 1:
            if defer:
                raise RegistryError(f"{place}.defer: the last stage always answers; fix: remove its defer:")
            continue
        if not isinstance(defer, list) or not defer:
            raise RegistryError(f"{place}.defer: a stage before the last needs its deferral signals; known: "
                                f"{_SIGNALS_TEXT}")
        for j, signal in enumerate(defer):
            _check_signal(f"{place}.defer[{j}]", signal)
        names = [signal_key(s) for s in defer]
        if len(set(names)) != len(names):
            raise RegistryError(f"{place}.defer: lists a signal twice; fix: list each once")


def _check_signal(place: str, signal: Any) -> None:
    if isinstance(signal, str):
        if signal not in SIGNAL_NAMES:
            raise RegistryError(f"{place}: unknown signal {signal!r}; known: {_SIGNALS_TEXT}")
        return
    if not isinstance(signal, dict) or len(signal) < 1:
        raise RegistryError(f"{place}: a signal is a name or a one-key mapping; known: {_SIGNALS_TEXT}")
    kind = next((k for k in SIGNAL_KEYS if k in signal), None)
    if kind is None or set(signal) - set(SIGNAL_KEYS[kind]) or set(SIGNAL_KEYS[kind]) - set(signal):
        raise RegistryError(f"{place}: {dict(signal)} is not a signal; known: {_SIGNALS_TEXT}")
    value = signal[kind]
    if kind == "confidence" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                 or not 0.0 <= float(value) <= 1.0):
        raise RegistryError(f"{place}.confidence: must be the threshold in [0, 1] the evaluation chose")
    if kind == "agreement":
        of = signal["of"]
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (value, of)) or not 2 <= value <= of:
            raise RegistryError(f"{place}: agreement: m of: k must be whole numbers with 2 <= m <= k")
    if kind == "check" and (not isinstance(value, str) or not _CHECK.match(value)):
        raise RegistryError(f"{place}.check: must be python:module:function, e.g. python:checks:plausible_date")


def signal_key(signal: Any) -> str:
    """A registry signal's name: abstain | contract | confidence | agreement | check."""
    return signal if isinstance(signal, str) else next(iter(k for k in SIGNAL_KEYS if k in signal))


def stage_targets(entry: dict[str, Any]) -> list[str]:
    """Every model a cascade entry calls, stages first then fallbacks (one list for a model entry)."""
    stages = [s["model"] for s in entry["cascade"]] if isinstance(entry.get("cascade"), list) else [entry["model"]]
    return stages + [f for f in entry.get("fallbacks") or [] if f not in stages]


def yaml_cascade(stages: list[dict[str, Any]]) -> Any:
    """The stages as ruamel writes them: one flow mapping a line."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    def flow(value: Any) -> Any:
        if isinstance(value, dict):
            out: Any = CommentedMap((k, flow(v)) for k, v in value.items())
        elif isinstance(value, list):
            out = CommentedSeq(flow(v) for v in value)
        else:
            return value
        out.fa.set_flow_style()
        return out

    seq = CommentedSeq()
    for stage in stages:
        seq.append(flow(stage))
    return seq
