"""examples/live_stream.py end to end: a cheaper challenger promoted from live agreement, the gate
accepting it, and the drift injected half-way raising an alarm that `audit --check` exits 1 on."""

from __future__ import annotations

import json

from examples.live_stream import main


def test_the_live_stream_example_promotes_gates_and_raises_the_drift_alarm(tmp_path, capsys):
    assert main(["--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "recommend:  python:examples.live_stream:quick_router  [quick-router]   fallbacks: careful-router" in out
    assert "why:        live non-inferiority: quick-router disagreed with careful-router on" in out
    assert "PASS ticket_triage: quick-router, live non-inferior to careful-router" in out
    assert "ticket_triage: label mix: ALARM since" in out and "billing rose" in out
    assert out.rstrip().endswith("audit --check raised the drift (exit 1)")
    record = json.loads((tmp_path / "demo" / "registry.evidence.json").read_text())["tasks"]["ticket_triage"]
    assert record["model"] == "quick-router" and record["live"]["calls"] == 1200
