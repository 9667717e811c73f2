"""A fourth kind of model, added in this file alone: `replay:` answers with outputs recorded in a
JSONL file (one line per input: {"vars": …, "output": …, "prompt_tokens": …, "completion_tokens": …}).

Registered with @provider the way a grader is registered with @grader, it goes through the real
commands — validate, models, run, recommend --write, gate — and harness.Client, in a project
under tmp_path, with no other module of Tierwise touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.fingerprint import canonical, file_sha256
from harness.models import CallResult, Provider, provider, skip
from tests.projfix import spec, tierwise, write_project


@provider("replay")
class Replay(Provider):
    """Recorded outputs, looked up by the case's variables; priced by the recorded tokens."""

    def identity(self, entry) -> dict[str, Any]:
        path = Path(entry.ref)
        return {"kind": "replay", "file": entry.ref, "sha256": file_sha256(path) if path.is_file() else None}

    def resolve(self, cand, config, check_keys: bool) -> None:
        path = Path(cand.entry.ref)
        if not path.is_file():
            skip(cand, f"{path} does not exist; fix: record the outputs first")
            return
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        cand.loaded = {canonical(r["vars"]): r for r in lines}

    async def call(self, cand, messages, params, extra, *, retries, backoff_base_s, variables, api_base, api_key):
        found = cand.loaded.get(canonical(variables))
        if found is None:
            return CallResult(attempts=1, error="no recorded output for these variables", error_type="NotRecorded")
        return CallResult(output=found["output"], finish_reason="stop", attempts=1, latency_ms=1.0,
                          prompt_tokens=found["prompt_tokens"], completion_tokens=found["completion_tokens"])


N = 40
LABELS = ("yes", "no")
PRICES = {"cheap": 0.1, "mid": 1.0, "dear": 10.0}  # dollars per Mtok, in and out


def _cases() -> list[dict[str, Any]]:
    return [{"id": f"c{i:03d}", "vars": {"text": f"case {i}"}, "expected": LABELS[i % 2]} for i in range(N)]


def _record(path: Path, wrong_every: int | None) -> None:
    """Recorded outputs for every case, wrong on every `wrong_every`-th one."""
    rows = []
    for i, case in enumerate(_cases()):
        right = wrong_every is None or i % wrong_every
        output = case["expected"] if right else LABELS[(i + 1) % 2]
        rows.append({"vars": case["vars"], "output": output, "prompt_tokens": 50, "completion_tokens": 1})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    recordings = root / "recordings"
    _record(recordings / "cheap.jsonl", wrong_every=3)  # 2/3 right: below the bar
    _record(recordings / "mid.jsonl", wrong_every=None)
    _record(recordings / "dear.jsonl", wrong_every=None)
    models = {name: {"replay": str(recordings / f"{name}.jsonl"),
                     "price": {"input_per_mtok": price, "output_per_mtok": price}} for name, price in PRICES.items()}
    models["unrecorded"] = {"replay": str(recordings / "missing.jsonl")}
    write_project(root, models=models, golden={"t": _cases()},
                  specs={"t": spec(output={"choices": list(LABELS)}, threshold=0.8, candidates=list(PRICES))})
    return root


def test_a_fourth_provider_goes_through_validate_run_recommend_gate_and_the_client(tmp_path, monkeypatch, capsys):
    import harness

    root = _project(tmp_path)
    p = str(root)
    code, out, err = tierwise(monkeypatch, capsys, "validate", "--project", p)
    assert code == 0, err
    assert "ok: 1 tasks, 40 cases, 4 models" in out

    code, out, _ = tierwise(monkeypatch, capsys, "models", "--project", p)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in {*PRICES, "unrecorded"}}
    assert rows["mid"].split()[1:2] == ["replay"] and " ready " in rows["mid"] and "$1 in / $1 out per Mtok (set)" in rows["mid"]
    assert " skipped " in rows["unrecorded"] and "missing.jsonl does not exist" in out

    code, out, err = tierwise(monkeypatch, capsys, "run", "--project", p, "--quiet")
    assert code == 0, out + err

    code, out, err = tierwise(monkeypatch, capsys, "recommend", "--project", p, "--write")
    assert code == 0, out + err
    entry = yaml.safe_load((root / "registry.yaml").read_text())["tasks"]["t"]
    assert entry["model"] == f"replay:{root / 'recordings' / 'mid.jsonl'}"  # the cheapest that qualifies
    assert entry["fallbacks"] == [f"replay:{root / 'recordings' / 'dear.jsonl'}"]
    evidence = json.loads((root / "registry.evidence.json").read_text())
    assert "replay" in json.dumps(evidence)  # the provider's identity is the evidence's

    code, out, err = tierwise(monkeypatch, capsys, "gate", "--project", p)
    assert code == 0, out + err
    assert "PASS t: mid" in out

    with harness.Client(root) as client:
        reply = client.complete("t", text="case 3")
    assert (reply.output, reply.parsed, reply.model, reply.outcome) == ("no", "no", "mid", "ok")
    assert reply.cost == pytest.approx(51 * PRICES["mid"] / 1e6)  # its recorded tokens at its price


def test_an_edited_recording_makes_the_evidence_stale(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    p = str(root)
    for command in (["run", "--quiet"], ["recommend", "--write"]):
        code, out, err = tierwise(monkeypatch, capsys, command[0], "--project", p, *command[1:])
        assert code == 0, out + err
    _record(root / "recordings" / "mid.jsonl", wrong_every=5)  # the recording behind the registry changed
    code, out, _ = tierwise(monkeypatch, capsys, "gate", "--project", p)
    assert code == 1
    assert "tierwise.yaml models.mid changed since the evidence (sha256 changed)" in out


def test_a_dry_run_estimates_the_fourth_providers_calls_from_their_prompts(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path)
    code, out, err = tierwise(monkeypatch, capsys, "run", "--project", str(root), "--dry-run")
    assert code == 0, out + err
    row = {line.split()[1]: line.split() for line in out.splitlines() if line.split()[:1] == ["t"]}
    calls, tokens_in, dollars = int(row["mid"][2]), int(row["mid"][3]), float(row["mid"][5])
    assert calls == N and tokens_in > 0 and dollars > 0  # counted by the default tokenizer, at its price
    assert float(row["dear"][5]) == pytest.approx(10 * dollars, rel=0.01)


def test_an_unknown_kind_lists_the_registered_providers(tmp_path, monkeypatch, capsys):
    write_project(tmp_path, models={"rule": {"python": "rules:echo"}, "x": {"replai": "out.jsonl"}})
    code, _, err = tierwise(monkeypatch, capsys, "validate", "--project", str(tmp_path))
    assert code == 2
    assert ("tierwise.yaml: models.x: needs exactly one of litellm:, local:, python:, replay:; "
            "'replai' is not a registered provider: did you mean 'replay'?") in err
