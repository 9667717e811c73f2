"""The task page's run-to-run diff and bound-against-cases figures, the runs in progress
(/api/progress, polled by the pages while `tierwise run` writes), and the limits on every new
input (over HTTP, Starlette's TestClient)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the view extra (starlette, uvicorn) is part of dev")

from harness.commands import run_progress, view_config  # noqa: E402
from harness.project import load_project  # noqa: E402
from harness.runner import run  # noqa: E402
from harness.store import Store  # noqa: E402
from harness.view import create_app  # noqa: E402
from tests.view.viewfix import EVIL, rerun_saying_no, run_in_background, slow_project, view_project  # noqa: E402

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "t0ken-for-tests"


def _client(root, who="ana"):
    from starlette.testclient import TestClient

    client = TestClient(create_app(view_config(root, who, TOKEN, "127.0.0.1", PORT)), base_url=BASE)
    assert client.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303
    return client


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    return html[start:html.index("</section>", start)]


# ---- run to run ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = view_project(tmp_path_factory.mktemp("live") / "proj", labels="golden_sets/j.labels.jsonl")
    first = Store(load_project(root).store_url()).runs()[0]["id"]
    second = rerun_saying_no(root, group=EVIL)   # a run group's name is anyone's text
    return root, first, second


def test_the_task_page_shows_what_changed_between_the_last_two_runs(two_runs):
    root, first, _ = two_runs
    html = _client(root).get("/task/t").text
    compare = _section(html, "compare")
    row = re.search(r"<strong>echo</strong>.*?</tr>", compare, re.S).group(0)
    assert "8 → 8" in row and "1.000 → 0.125 (-0.875)" in row
    assert "7 now fail:" in row and "now pass" not in row
    flipped = re.findall(r'data-case="([^"]+)"', row)
    assert flipped == ["c0", "c2", "c3", "c4", "c5", "c6", "c7"]
    assert f"run {first}" in compare and "group &lt;script&gt;alert(1)&lt;/script&gt;" in compare
    assert "<script>alert(1)" not in html  # the group's name is shown as text


def test_two_named_runs_compare_in_the_order_given(two_runs):
    root, first, _ = two_runs
    client = _client(root)
    resp = client.get("/task/t", params={"a": EVIL, "b": first})
    assert resp.status_code == 200
    row = re.search(r"<strong>echo</strong>.*?</tr>", _section(resp.text, "compare"), re.S).group(0)
    assert "7 now pass:" in row and "now fail" not in row


@pytest.mark.parametrize("query, status, says", [
    ({"a": "nope-nope", "b": "nope-nah"}, 400, "is no run id or run group"),
    ({"a": "only-one"}, 400, "name two runs"),
    ({"a": "x" * 201, "b": "y"}, 400, "1 to 200 printable characters"),
    ({"a": "same", "b": "same"}, 400, "two different runs"),
])
def test_a_bad_run_pair_is_said_on_the_page(two_runs, query, status, says):
    resp = _client(two_runs[0]).get("/task/t", params=query)
    assert resp.status_code == status and says in _section(resp.text, "compare")
    assert "<script>alert(1)" not in resp.text


def test_one_run_has_nothing_to_compare_yet(tmp_path):
    root = view_project(tmp_path / "proj", labels="golden_sets/j.labels.jsonl")
    html = _client(root).get("/task/t").text
    assert "only one run" in _section(html, "compare") and 'id="run-a"' not in html


def test_a_long_address_is_refused_before_any_page_reads_it(two_runs):
    client = _client(two_runs[0])
    assert client.get("/task/t", params={"a": "x" * 3000, "b": "y"}).status_code == 414
    assert client.get("/task/" + "t" * 1100).status_code == 414
    assert client.get("/api/progress", params={"task": "x" * 3000}).status_code == 414


# ---- the bound against the number of cases ----------------------------------------------------------


def test_the_task_page_draws_each_candidates_bound_against_the_cases(two_runs):
    root = two_runs[0]
    client = _client(root)
    html = client.get("/task/t").text
    figures = _section(html, "bounds")
    assert figures.count('<svg xmlns="http://www.w3.org/2000/svg" class="bound-chart"') == 2
    assert figures.count('class="bar"') == 2  # the threshold line in each
    rec = load_project(root)
    from harness.commands import recommend

    d = recommend(rec, ["t"]).decisions[0]
    for c in d.candidates:   # the caption leads with the decision's own bound, mean and n
        caption = re.search(rf"<figcaption>{c.model}: the decision&#39;s lower bound ([0-9.]+) at [0-9.]+% \(exact\) "
                            rf"(?:clears|falls short of) the bar [0-9.]+ \(mean [0-9.]+, n=(\d+)\)([^<]*)</figcaption>", figures)
        assert caption and float(caption.group(1)) == pytest.approx(c.lower, abs=1e-3) and int(caption.group(2)) == c.n
        assert "The line is" not in caption.group(3)  # the path ends at the decision's bound (same method and level)


def test_a_bound_path_narrows_as_cases_come_in_and_is_escaped():
    import numpy as np

    from harness.decide import CandidateResult
    from harness.view._bound import bound_path, bound_svg, caption

    c = CandidateResult("<script>alert(1)</script>", "python:x", "python", True, n=200, mean=0.9, lower=0.0,
                        method="exact", level=0.05)
    scores = np.array(([1.0] * 9 + [0.0]) * 20)
    path = bound_path(c, scores, 0.8, 0.95)
    assert path.ks[-1] == 200 and len(path.ks) == 40
    assert path.lower[-1] > path.lower[len(path.lower) // 2] > path.lower[0]   # more cases, a tighter bound
    assert all(lo <= m for lo, m in zip(path.lower, path.mean))
    svg = bound_svg(path)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "clears the bar 0.8" not in caption(path) or path.lower[-1] >= 0.8


def test_a_candidate_short_of_the_bar_says_how_many_cases_would_clear_it():
    import numpy as np

    from harness.decide import CandidateResult, cases_needed
    from harness.view._bound import bound_path, caption

    c = CandidateResult("m", "python:m", "python", True, n=30, mean=0.9, lower=0.0, method="exact")
    path = bound_path(c, np.array([1.0] * 27 + [0.0] * 3), 0.75, 0.95)
    assert path.needed == cases_needed(0.75, 0.95, 0.9) and path.needed > 30
    assert f"about {path.needed:,} cases would clear it with 80% power" in caption(path)


# ---- runs in progress ---------------------------------------------------------------------------------

def _wait(check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_the_pages_poll_a_run_in_progress_for_cases_done_per_candidate(tmp_path):
    root = slow_project(tmp_path / "proj")
    run(load_project(root), tasks=["u"], progress=False)   # the store exists, with another task's results
    client = _client(root)
    assert client.get("/api/progress").json() == {"version": 1, "runs": []}
    assert 'id="live"' in client.get("/").text and 'data-task="t"' in client.get("/task/t").text
    proc = run_in_background(root, "t", "--limit", "8", "--run-group", EVIL)
    try:
        def blocked():
            runs = client.get("/api/progress", params={"task": "t"}).json()["runs"]
            models = {m["model"]: m for r in runs for t in r["tasks"] for m in t["models"]}
            return models if models.get("slow", {}).get("done") == 4 and models["quick"]["done"] == 8 else None

        models = _wait(blocked)
        assert (models["quick"]["total"], models["slow"]["total"]) == (8, 8)   # --limit 8 of 10 cases
        resp = client.get("/api/progress")
        assert resp.headers["content-type"] == "application/json" and resp.headers["x-content-type-options"] == "nosniff"
        (live,) = resp.json()["runs"]
        assert [t["task"] for t in live["tasks"]] == ["t"] and live["group"] == EVIL   # data, drawn as text
        assert client.get("/api/progress", params={"task": "nope"}).status_code == 404
        (root / "go").write_text("")
        assert proc.wait(60) == 0, proc.stderr.read().decode()
    finally:
        (root / "go").write_text("")
        if proc.poll() is None:
            proc.kill()
    assert client.get("/api/progress").json()["runs"] == []   # finished: nothing in progress


def _running(root: Path, info: dict, pid: int) -> str:
    """A run record `running` in the store, as if process `pid` on this host had started it."""
    import socket

    project = load_project(root)
    with Store(project.store_url()) as db:
        run_id = db.start_run(info=info)
    with sqlite3.connect(root / ".tierwise" / "results.db") as conn:
        conn.execute("UPDATE runs SET info = ? WHERE id = ?",
                     (json.dumps({**info, "pid": pid, "host": socket.gethostname()}), run_id))
    return run_id


def test_a_run_counts_against_its_own_plan_and_says_when_the_spec_changed(tmp_path):
    root = slow_project(tmp_path / "proj")
    project = load_project(root)
    first = run(project, tasks=["t"], limit=3, progress=False)
    state = first.plan.state([project.tasks["t"]])
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        info = {"tasks": ["t"], "limit": 5, "repeats": {"t": 1}, "state": state}
        run_id = _running(root, info, sleeper.pid)
        (live,) = run_progress(project).runs
        assert live.run_id == run_id
        counts = {m.model: (m.done, m.total) for m in live.tasks[0].models}
        assert counts == {"quick": (3, 5), "slow": (3, 5)}   # three cases stored, two of five to go
        changed = json.loads(json.dumps(state))
        changed["t"]["spec"]["slow"] = "0" * 64
        _running(root, {**info, "state": changed}, sleeper.pid)
        newest = run_progress(project).runs[0]
        slow = next(m for m in newest.tasks[0].models if m.model == "slow")
        assert slow.done is None and "spec changed" in slow.note
    finally:
        sleeper.kill()
        sleeper.wait()
    assert run_progress(project).runs == []   # its process is gone: not in progress any more


# ---- the token ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/progress", "/task/t?a=x&b=y"])
def test_the_new_endpoints_need_the_token(two_runs, path):
    from starlette.testclient import TestClient

    stranger = TestClient(create_app(view_config(two_runs[0], "x", TOKEN, "127.0.0.1", PORT)), base_url=BASE)
    assert stranger.get(path).status_code == 403
