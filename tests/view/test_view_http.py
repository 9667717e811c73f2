"""`tierwise view` over HTTP (Starlette's TestClient, no network): the token, Host and Origin
checks, escaping of model output, the CSP, read-only, answers appended as one JSON line each,
writes kept inside the project, and the request and line limits."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading

import pytest

pytest.importorskip("starlette", reason="the view extra (starlette, uvicorn) is part of dev")

from harness.commands import view_config  # noqa: E402
from harness.project import load_project  # noqa: E402
from harness.view import MAX_LINE_BYTES, OutsideProject, append_line, create_app  # noqa: E402
from tests.view.viewfix import EVIL, view_project  # noqa: E402

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "t0ken-for-tests"


def _client(root, read_only=False, who="ana"):
    """A client of the view as the command builds it (every read the pages show wired in)."""
    from starlette.testclient import TestClient

    return TestClient(create_app(view_config(root, who, TOKEN, "127.0.0.1", PORT, read_only)), base_url=BASE)


def _in(client):
    """A client that has opened the printed URL once (it holds the cookie now)."""
    assert client.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303
    return client


def _data(html: str):
    return json.loads(re.search(r'<script type="application/json" id="view-data">(.*?)</script>', html, re.S).group(1))


def _post(client, body, origin=BASE):
    headers = {"content-type": "application/json", **({"origin": origin} if origin else {})}
    return client.post("/api/label", content=json.dumps(body), headers=headers)


@pytest.fixture(scope="module")
def project_root(tmp_path_factory):
    return view_project(tmp_path_factory.mktemp("view") / "proj", labels="golden_sets/j.labels.jsonl")


@pytest.fixture()
def root(tmp_path):
    return view_project(tmp_path / "proj", labels="golden_sets/j.labels.jsonl")


@pytest.mark.parametrize("path", ["/", "/task/t", "/label", "/api/label"])
def test_a_request_without_the_token_is_refused(project_root, path):
    client = _client(project_root)
    assert client.get(path).status_code == 403
    assert client.get(f"{path}?token=wrong").status_code == 403


def test_the_token_sets_a_cookie_and_is_dropped_from_the_url(project_root):
    client = _client(project_root)
    first = client.get(f"/task/t?token={TOKEN}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/task/t"
    cookie = first.headers["set-cookie"]
    assert f"tierwise_view_{PORT}={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/task/t").status_code == 200  # the cookie alone now


def test_another_host_or_origin_is_refused(project_root):
    client = _in(_client(project_root))
    assert client.get("/", headers={"host": f"rebound.example:{PORT}"}).status_code == 403  # DNS rebinding
    assert client.get("/", headers={"origin": "http://evil.example"}).status_code == 403
    assert client.get("/", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.get("/", headers={"origin": BASE}).status_code == 200
    assert _post(client, {"key": "x", "verdict": "pass"}, origin="http://evil.example").status_code == 403
    assert _post(client, {"key": "x", "verdict": "pass"}, origin=None).status_code == 403


def test_model_output_with_markup_is_shown_as_text(project_root):
    client = _in(_client(project_root))
    for path in ("/task/j", "/label?task=j", "/label?task=t", "/"):
        html = client.get(path).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    data = _data(client.get("/task/j").text)
    outputs = [cell[0] for case in data["cases"] for cell in case[7] if cell]
    assert any(EVIL in out for out in outputs)  # the text itself reaches the page's script, to be shown as text


def test_every_page_carries_a_csp_that_pins_its_one_script(project_root):
    client = _in(_client(project_root))
    for path in ("/", "/task/t", "/label"):
        resp = client.get(path)
        csp = resp.headers["content-security-policy"]
        scripts = re.findall(r"<script>(.*?)</script>", resp.text, re.S)
        assert len(scripts) == 1
        digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
        assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp and resp.headers["x-content-type-options"] == "nosniff"
        assert "http://" not in resp.text.replace(BASE, "") or "src=\"http" not in resp.text  # no external assets
        assert not re.search(r'(src|href)="(https?:)?//', resp.text)


def test_a_judge_verdict_is_appended_once_with_who_and_when(root):
    client = _in(_client(root, who="ana"))
    item = next(i for i in _data(client.get("/label?task=j").text)["items"] if i["kind"] == "judge")
    labels = root / "golden_sets" / "j.labels.jsonl"
    before = labels.read_text()
    resp = _post(client, {"key": item["key"], "verdict": "fail"})
    assert resp.status_code == 200 and resp.json()["file"] == "golden_sets/j.labels.jsonl"
    added = labels.read_text()[len(before):].splitlines()
    assert len(added) == 1
    label = json.loads(added[0])
    assert label["verdict"] == "fail" and label["by"] == "ana" and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:]{8}Z", label["at"])
    assert label["output"] == item["outputs"][0] and label["model"] in ("evil", "echo")
    assert _post(client, {"key": item["key"], "verdict": "pass"}).status_code == 409  # answered already
    load_project(root)  # the file still loads as a labels file (by and at are known keys)
    keys = {i["key"] for i in _data(client.get("/label?task=j").text)["items"]}
    assert item["key"] not in keys


def test_a_golden_answer_becomes_a_case_and_leaves_the_queue(root):
    client = _in(_client(root, who="bo"))
    item = next(i for i in _data(client.get("/label?task=t").text)["items"] if i["kind"] == "golden")
    golden = root / "golden_sets" / "t.jsonl"
    before = golden.read_text()
    wrong = _post(client, {"key": item["key"], "expected": '{"label": "yes"}', "json": True})
    assert wrong.status_code == 400 and "exact grader" in wrong.json()["error"]  # would break the golden set
    assert golden.read_text() == before
    assert _post(client, {"key": item["key"], "expected": '["yes", "y"]', "json": True}).status_code == 200
    case = json.loads(golden.read_text().splitlines()[-1])
    assert case["expected"] == ["yes", "y"] and case["metadata"]["labelled_by"] == "bo"
    assert case["id"] == item["key"].split(":", 2)[2]
    assert any(c.id == case["id"] for c in load_project(root).tasks["t"].golden.cases)
    assert _post(client, {"key": item["key"], "expected": "no"}).status_code in (404, 409)
    keys = {i["key"] for i in _data(client.get("/label?task=t").text)["items"]}
    assert item["key"] not in keys


def test_read_only_refuses_every_write(root):
    client = _in(_client(root, read_only=True))
    html = client.get("/label").text
    assert "read-only" in html
    item = _data(html)["items"][0]
    files = {p: p.read_bytes() for p in (root / "golden_sets").iterdir()}
    assert _post(client, {"key": item["key"], "verdict": "pass", "expected": "x"}).status_code == 403
    assert {p: p.read_bytes() for p in (root / "golden_sets").iterdir()} == files


def test_a_labels_file_outside_the_project_is_not_written(tmp_path):
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text(json.dumps({"case": "j00", "model": "echo", "verdict": "fail"}) + "\n")
    root = view_project(tmp_path / "proj", labels=str(outside))
    client = _in(_client(root))
    item = next(i for i in _data(client.get("/label?task=j").text)["items"] if i["kind"] == "judge")
    resp = _post(client, {"key": item["key"], "verdict": "pass"})
    assert resp.status_code == 403 and "outside the project folder" in resp.json()["error"]
    assert outside.read_text().count("\n") == 1
    with pytest.raises(OutsideProject):
        append_line(root, root / ".." / "escape.jsonl", {"x": 1})
    (root / "link.jsonl").symlink_to(outside)
    with pytest.raises(OutsideProject):  # a symlink is followed before the check
        append_line(root, root / "link.jsonl", {"x": 1})


def test_request_and_line_sizes_are_bounded(root):
    client = _in(_client(root))
    item = next(i for i in _data(client.get("/label?task=t").text)["items"] if i["kind"] == "golden")
    huge = _post(client, {"key": item["key"], "expected": "x" * 300_000})
    assert huge.status_code == 413
    long = _post(client, {"key": item["key"], "expected": "x" * (MAX_LINE_BYTES + 10)})
    assert long.status_code == 413 and "limit" in long.json()["error"]
    bad = client.post("/api/label", content="key=x", headers={"origin": BASE, "content-type": "text/plain"})
    assert bad.status_code == 415
    assert _post(client, {"key": "judge:j:ffff:nope", "verdict": "pass"}).status_code == 404


def test_concurrent_appends_lose_no_line(tmp_path):
    target = tmp_path / "golden_sets" / "x.jsonl"
    target.parent.mkdir()

    def write(worker):
        for i in range(15):
            append_line(tmp_path, target, {"id": f"{worker}-{i}", "pad": "p" * 2000})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [json.loads(line)["id"] for line in target.read_text().splitlines()]
    assert sorted(ids) == sorted(f"{w}-{i}" for w in range(6) for i in range(15))


def test_the_decision_page_shows_the_judge_against_people_live(root):
    client = _in(_client(root))
    assert "1 outputs judged by both" in client.get("/").text  # the seeded verdict
    items = [i for i in _data(client.get("/label?task=j").text)["items"] if i["kind"] == "judge"][:2]
    for item in items:
        assert _post(client, {"key": item["key"], "verdict": "pass"}).status_code == 200
    assert "3 outputs judged by both" in client.get("/").text


def test_the_task_page_carries_disagreements_and_human_verdicts(project_root):
    client = _in(_client(project_root))
    data = _data(client.get("/task/t").text)
    disagree = [case[1] for case in data["cases"] if case[6]]
    assert sorted(disagree) == ["c0", "c1", "c2", "c4", "c5", "c6"]  # shout upper-cases: right only on NO and OK
    judged = _data(client.get("/task/j").text)
    assert judged["judged"] and judged["human"] == {"j00": {"echo": 0.0}}


def test_the_label_page_says_how_many_more_answers_settle_each_task(project_root):
    html = _in(_client(project_root)).get("/label").text
    assert "more human verdicts" in html or "no number of verdicts" in html
    assert "clears the bar on 8 cases" in html  # task t: echo qualifies already


def test_view_without_the_extra_names_the_pip_line(monkeypatch, tmp_path):
    import sys

    from harness.commands import view
    from harness.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "starlette", None)
    with pytest.raises(MissingDependency, match=r"pip install 'tierwise\[view\]'"):
        view(load_project(view_project(tmp_path / "p")))


def test_view_is_a_command_with_its_options(monkeypatch, capsys):
    from tests.projfix import tierwise

    code, out, _ = tierwise(monkeypatch, capsys, "view", "--help")
    assert code == 0
    for option in ("--port", "--host", "--read-only", "--no-open", "--as"):
        assert option in out


def test_a_judge_item_carries_its_reference_answer_and_the_rubric(root):
    """A person judges by what the judge reads: the case's reference and the rubric (new-user trial:
    the card showed neither, so the labeller opened the spec and the golden set by hand)."""
    client = _in(_client(root, who="ana"))
    item = next(i for i in _data(client.get("/label?task=j").text)["items"] if i["kind"] == "judge")
    assert item["rubric"] == "Is it good?" and item["reference"] == ""  # task j's cases have no expected


@pytest.mark.parametrize("expected, shown", [(None, ""), ("Sorry <b>", "Sorry <b>"), ({"a": 1}, '{"a": 1}'),
                                             ("x" * 5000, "x" * 4000 + " …[cut]")])
def test_the_reference_is_shown_as_text_and_cut_to_a_page(expected, shown):
    from harness.view._queue import reference_text

    assert reference_text(expected) == shown  # escaped by the page's textContent, never as markup
