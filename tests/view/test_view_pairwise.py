"""Blind pairwise items in the label queue: a task graded by the `pairwise` grader is labelled
by picking the better of two answers shown in a random order, neither named, and the choice is
written as the verdict the grader would give (over HTTP, Starlette's TestClient)."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("starlette", reason="the view extra (starlette, uvicorn) is part of dev")

from harness.commands import view_config  # noqa: E402
from harness.project import load_project  # noqa: E402
from harness.view import create_app  # noqa: E402
from tests.view.viewfix import EVIL, view_project  # noqa: E402

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "t0ken-for-tests"


def _client(root, who="ana"):
    from starlette.testclient import TestClient

    client = TestClient(create_app(view_config(root, who, TOKEN, "127.0.0.1", PORT)), base_url=BASE)
    assert client.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303
    return client


def _data(html: str):
    return json.loads(re.search(r'<script type="application/json" id="view-data">(.*?)</script>', html, re.S).group(1))


def _post(client, body):
    return client.post("/api/label", content=json.dumps(body),
                       headers={"content-type": "application/json", "origin": BASE})


@pytest.fixture()
def pair_root(tmp_path):
    return view_project(tmp_path / "proj", labels="golden_sets/j.labels.jsonl", pairwise=True)


def test_a_task_graded_by_blind_comparison_queues_pairs_of_answers(pair_root):
    client = _client(pair_root)
    html = client.get("/label", params={"task": "p"}).text
    items = _data(html)["items"]
    assert items and {i["kind"] for i in items} == {"pairwise"}
    golden = {c.id: c.expected for c in load_project(pair_root).tasks["p"].golden.cases}
    firsts = set()
    for item in items:
        assert len(item["outputs"]) == 2 and golden[item["case"]] in item["outputs"]
        assert "evil" not in json.dumps(item).replace(EVIL, "") and "echo" not in json.dumps(item)   # no model named
        firsts.add(item["outputs"][0] == golden[item["case"]])
    assert firsts == {True, False}   # the reference is shown first on some items, second on others
    assert "the better of two answers" in html and "<script>alert(1)" not in html


@pytest.mark.parametrize("picked, verdict, preferred", [
    ("candidate", "pass", "this output"), ("reference", "fail", "the reference"), ("tie", "pass", "neither")])
def test_a_blind_choice_is_written_as_the_verdict_the_grader_would_give(pair_root, picked, verdict, preferred):
    client = _client(pair_root, who="cy")
    golden = {c.id: c.expected for c in load_project(pair_root).tasks["p"].golden.cases}
    item = _data(client.get("/label", params={"task": "p"}).text)["items"][0]
    reference = item["outputs"].index(golden[item["case"]])
    choice = "tie" if picked == "tie" else str((1 - reference if picked == "candidate" else reference) + 1)
    resp = _post(client, {"key": item["key"], "choice": choice})
    assert resp.status_code == 200 and resp.json()["file"] == "golden_sets/p.labels.jsonl"
    (label,) = [json.loads(x) for x in (pair_root / "golden_sets" / "p.labels.jsonl").read_text().splitlines()]
    assert label["verdict"] == verdict and preferred in label["note"] and label["by"] == "cy"
    assert label["output"] == item["outputs"][1 - reference] and label["case"] == item["case"]
    assert _post(client, {"key": item["key"], "choice": "1"}).status_code == 409


def test_a_blind_choice_must_be_one_of_the_two_or_a_tie(pair_root):
    client = _client(pair_root)
    item = _data(client.get("/label", params={"task": "p"}).text)["items"][0]
    for bad in ("3", 1, None, "reference", "x" * 5000):
        assert _post(client, {"key": item["key"], "choice": bad}).status_code == 404
    assert _post(client, {"key": "pair:p:0000:p00", "choice": "1"}).status_code == 404
    assert _post(client, {"key": "pair:nosuchtask:0000:p00", "choice": "1"}).status_code == 404
    assert not (pair_root / "golden_sets" / "p.labels.jsonl").exists()


def test_under_rate_win_a_tie_is_a_fail():
    from harness.view._queue import Pairwise

    assert [Pairwise("reference", "win").verdict(o) for o in ("win", "tie", "loss")] == ["pass", "fail", "fail"]
    assert [Pairwise("reference", "non_loss").verdict(o) for o in ("win", "tie", "loss")] == ["pass", "pass", "fail"]


def test_the_label_queue_shows_and_writes_outputs_redacted(monkeypatch):
    import pandas as pd

    from harness.view._queue import judge_rows

    monkeypatch.setenv("LATE_API_KEY", "sk-late-0123456789")
    rows = pd.DataFrame([{"case_id": "c1", "model": "m", "output": "use sk-late-0123456789 here", "error": None,
                          "passed": True}])
    assert judge_rows(rows)[0]["output"] == "use <LATE_API_KEY> here"
