"""examples/live_stream.py end to end: a cheaper router promoted from live agreement, a cheaper
reply writer promoted from judged live pairs, the gate accepting both with its reasons, and the drift
injected half-way raising an alarm that `audit --check` exits 1 on."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from examples.live_stream import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The example run once (about 20 s): its folder and everything it printed."""
    folder = tmp_path_factory.mktemp("live") / "demo"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["--dir", str(folder)]) == 0
    return folder, printed.getvalue()


def test_the_live_stream_example_promotes_gates_and_raises_the_drift_alarm(demo):
    folder, out = demo
    assert "recommend:  python:examples.live_stream:quick_router  [quick-router]   fallbacks: careful-router" in out
    assert "why:        live non-inferiority: quick-router disagreed with careful-router on" in out
    assert "PASS ticket_triage: quick-router, live non-inferior to careful-router" in out
    assert "ticket_triage: label mix: ALARM since" in out and "billing rose" in out
    assert out.rstrip().endswith("audit --check raised the drift (exit 1)")
    tasks = json.loads((folder / "registry.evidence.json").read_text())["tasks"]
    assert tasks["ticket_triage"]["model"] == "quick-router" and tasks["ticket_triage"]["live"]["calls"] == 1200


def test_the_reply_task_is_promoted_from_judged_live_pairs_and_the_gate_says_why(demo):
    folder, out = demo
    # offline the challenger falls short once the judge is corrected by people's verdicts
    assert "quick-reply offline: lower bound corrected for the judge's error 0.871 < 0.9" in out
    assert "note:       judged 1200 new shadow pairs (2400 judge calls" in out
    assert "PASS ticket_reply: quick-reply, live non-inferior to careful-reply: judged loss (corrected by 120 human " \
           "verdicts) upper" in out
    live = json.loads((folder / "registry.evidence.json").read_text())["tasks"]["ticket_reply"]["live"]
    p = live["pairwise"]
    assert (live["kind"], p["judge"], p["judged"], p["judge_errors"]) == ("pairwise", "reply-rubric", 1200, 0)
    assert p["losses"] + p["ties"] + p["wins"] == 1200 and 0 < p["losses"] < 30  # the rare tickets (1 in 100)
    assert (p["labels"], p["misses"]) == (120, 1)  # people failed one reply the rubric passed
    assert live["upper"] == pytest.approx(p["judge_upper"] + p["miss_upper"], abs=1e-5) and live["upper"] < 0.15
    assert f"judged pairs (reply-rubric): {p['losses']} losses" in out
    # audit's shadow monitor reads the same stored verdicts and shows the bound the evidence records
    audit = out[out.index("$ tierwise audit --check"):]
    assert (f"ticket_reply: shadow quick-reply: PROMOTED: non-inferior on live traffic (judged loss < 0.15 at 95%) "
            f"against careful-reply: {p['losses']} losses, {p['ties']} ties, 0 wins in 1200 judged pairs; loss upper "
            f"bound {live['upper']:.3f} = judge {p['judge_upper']:.3f} + misses {p['miss_upper']:.3f} (1 of 120 human "
            f"verdicts) < 0.15 at 95%") in audit
    assert "has its pairwise grader judge the pairs" not in audit


@pytest.mark.parametrize("args, why", [
    (["--calls", "0"], "--calls must be between 1 and 100,000, got 0"),
    (["--calls", "100001"], "--calls must be between 1 and 100,000"),
])
def test_a_bad_stream_size_is_refused_with_exit_2(tmp_path, capsys, args, why):
    with pytest.raises(SystemExit) as exit_:
        main(["--dir", str(tmp_path / "demo"), *args])
    assert exit_.value.code == 2 and why in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_a_folder_the_example_did_not_make_is_never_deleted(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit) as exit_:
        main(["--dir", str(mine)])
    assert exit_.value.code == 2 and "is not a live_stream demo folder; fix: name a new or empty folder" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"
