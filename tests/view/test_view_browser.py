"""`tierwise view` in a real browser: Debian's Chromium, driven by Playwright's Python package
with executable_path (no browser download), against a real uvicorn server on 127.0.0.1.

A person opens the printed URL, filters one task to the cases where the candidates disagree,
labels five sampled inputs by keyboard, confirms three judge verdicts, and the files on disk and
the decision page show it; a mis-keyed verdict is undone with `u` (a retraction line) and given
again; model output that is markup stays text; without the token: 403. Each page also opens on
a phone (390 px wide) and must not be wider than the screen. Screenshots of each page at 1400 px
(and phone-*.png at 390 px) go to tmp_path/view-artifacts (the path is printed) and are copied to
/tmp/view_shots/. Under CI=1 a missing Chromium or Playwright fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.view.viewfix import EVIL, rerun_saying_no, run_in_background, slow_project, view_project

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()), None)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check"]
SHOTS = Path("/tmp/view_shots")

pytestmark = pytest.mark.slow


def _need_browser():
    missing = None
    if CHROMIUM is None:
        missing = "Chromium is not installed (Debian: apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "Playwright's Python package is not installed (pip install 'tierwise[dev]')"
    if missing and os.environ.get("CI"):
        pytest.fail(f"the view's browser test needs a browser under CI: {missing}")
    if missing:
        pytest.skip(missing)


@contextmanager
def _serve(root: Path):
    """The view of a project, served by uvicorn in a thread: its URL with the token."""
    import uvicorn

    from harness.commands import view
    from harness.project import load_project

    server = view(load_project(root), who="browser-tester")
    uv = uvicorn.Server(uvicorn.Config(server.app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [server.sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start in 20 s"
    try:
        yield server.url
    finally:
        uv.should_exit = True
        thread.join(10)


@pytest.fixture()
def served(tmp_path):
    """The view of a fresh fixture project: (url with token, root)."""
    _need_browser()
    root = view_project(tmp_path / "proj", labels="golden_sets/j.labels.jsonl")
    with _serve(root) as url:
        yield url, root


@contextmanager
def _chromium(errors: list[str]):
    """Debian's Chromium with one context at 1400 px; `page()` opens a page in it (sharing its
    cookie) whose script errors go to `errors`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})

            def page():
                opened = context.new_page()
                opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                opened.on("pageerror", lambda e: errors.append(str(e)))
                return opened

            yield page
        finally:
            browser.close()


def _shot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path


def _png_width(path: Path) -> int:
    """A PNG's width from its header: a full-page shot is as wide as the page's content."""
    return int.from_bytes(path.read_bytes()[16:20], "big")


def _saved(page, count: int) -> None:
    """Wait for the page to count the answer (a locator wait: the CSP forbids evaluated strings)."""
    from playwright.sync_api import expect

    expect(page.locator("#progress")).to_have_text(re.compile(f"^{count} answered"), timeout=15000)
    assert page.locator("#message").get_attribute("class") == "good", page.locator("#message").text_content()


def test_a_person_filters_labels_and_confirms_by_keyboard(served, tmp_path):
    from playwright.sync_api import sync_playwright

    url, root = served
    base = url.split("/?")[0]
    art = tmp_path / "view-artifacts"
    art.mkdir()
    print(f"\nview screenshots: {art} (copied to {SHOTS})")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto(url)
            assert page.url == f"{base}/"  # the token went into a cookie and out of the address bar
            assert page.locator("svg.chart").count() == 2
            _shot(page, art, "1-decisions")

            # one task: filter to the cases where the candidates disagree
            page.goto(f"{base}/task/t")
            assert page.locator("#count").text_content() == "8 of 8 cases"
            page.click("[data-filter=disagreements]")
            assert page.locator("#count").text_content() == "6 of 8 cases"
            assert page.locator("article.case").count() == 6
            page.fill("#search", "maybe")
            assert page.locator("#count").text_content() == "2 of 8 cases"
            _shot(page, art, "2-task-disagreements")

            # model output that is markup is shown as text, and runs nothing
            page.goto(f"{base}/task/j")
            assert page.locator("#cases img, #cases script, #cases b").count() == 0
            assert EVIL in page.locator("#cases").inner_text()
            _shot(page, art, "3-task-judged")

            # label five sampled inputs by keyboard: four picked outputs, one edited answer
            page.goto(f"{base}/label?task=t")
            assert page.locator("#item .card").get_attribute("data-kind") == "golden"
            for n in range(1, 5):
                page.keyboard.press("1")
                _saved(page, n)
            page.keyboard.press("e")
            page.keyboard.press("Control+A")
            page.keyboard.type("typed by a person")
            _shot(page, art, "4-label-golden")
            page.keyboard.press("Control+Enter")
            _saved(page, 5)

            # confirm three judge verdicts: pass, fail, pass
            page.goto(f"{base}/label?task=j")
            assert page.locator("#item .card").get_attribute("data-kind") == "judge"
            assert page.locator("#item").inner_text().count("evil") == 0 or EVIL in page.locator("#item").inner_text()
            _shot(page, art, "5-label-judge")
            for n, key in enumerate("pfp", start=1):
                page.keyboard.press(key)
                _saved(page, n)
            # the last one was a slip: undo it by keyboard (the same item comes back) and answer again
            from playwright.sync_api import expect

            page.keyboard.press("u")
            expect(page.locator("#message")).to_have_text(re.compile("^undone: a retraction line"), timeout=15000)
            expect(page.locator("#progress")).to_have_text(re.compile("^2 answered"))
            _shot(page, art, "5b-label-undone")
            page.keyboard.press("f")
            _saved(page, 3)

            # the decision page now counts the people's verdicts
            page.goto(f"{base}/")
            assert "4 outputs judged by both" in page.locator("body").inner_text()
            _shot(page, art, "6-decisions-after")

            # a browser without the cookie (or the token) is refused
            stranger = browser.new_context()
            response = stranger.new_page().goto(f"{base}/label")
            assert response.status == 403
            stranger.close()

            # a phone: every page fits its width (content scrolls inside its own box, never the page)
            phone = browser.new_context(viewport={"width": 390, "height": 844})
            small = phone.new_page()
            small.goto(url)
            for name, path in (("phone-decisions", "/"), ("phone-task", "/task/j"), ("phone-label", "/label?task=j"),
                               ("phone-label-golden", "/label?task=t")):
                small.goto(base + path)
                assert _png_width(_shot(small, art, name)) == 390, f"{path} is wider than a 390 px phone"
            phone.close()
        finally:
            browser.close()
    assert errors == []  # no CSP violation, no script error

    golden = [json.loads(x) for x in (root / "golden_sets" / "t.jsonl").read_text().splitlines()]
    added = [c for c in golden if c.get("metadata", {}).get("labelled_by") == "browser-tester"]
    assert len(added) == 5 and all(c["id"].startswith("prod-") for c in added)
    assert added[-1]["expected"] == "typed by a person"
    assert all(c["expected"].startswith("answer ") for c in added[:4])
    labels = [json.loads(x) for x in (root / "golden_sets" / "j.labels.jsonl").read_text().splitlines()]
    assert [lab.get("verdict") for lab in labels[1:]] == ["pass", "fail", "pass", None, "fail"]
    assert labels[4]["retract"] is True and labels[4]["output"] == labels[3]["output"] == labels[5]["output"]
    assert all(lab["by"] == "browser-tester" and lab["output"] for lab in labels[1:])
    from harness.project import load_project

    assert [lab.verdict for lab in load_project(root).tasks["j"].labels.labels] == [0.0, 1.0, 0.0, 0.0]
    for name in ("1-decisions", "2-task-disagreements", "3-task-judged", "4-label-golden", "5-label-judge",
                 "5b-label-undone", "6-decisions-after"):
        assert (art / f"{name}.png").stat().st_size > 10_000


def test_a_person_compares_two_runs_reads_the_bounds_and_picks_the_better_answer(tmp_path):
    """The task page's run-to-run table (a flipped case's id filters the cases to it) and bound
    figures; a blind comparison answered by keyboard (1, 2, t) and written as verdicts."""
    _need_browser()
    from playwright.sync_api import expect

    root = view_project(tmp_path / "proj", labels="golden_sets/j.labels.jsonl", pairwise=True)
    rerun_saying_no(root, group=EVIL)
    art = tmp_path / "view-artifacts"
    art.mkdir()
    errors: list[str] = []
    with _serve(root) as url, _chromium(errors) as new_page:
        base = url.split("/?")[0]
        page = new_page()
        page.goto(url)
        page.goto(f"{base}/task/t")
        assert page.locator("svg.bound-chart").count() == 2
        assert "7 now fail" in page.locator("#compare").inner_text()
        assert EVIL in page.locator("#run-b").inner_text()   # a run group's name, shown as text
        page.click("#compare .case-link[data-case=c4]")
        expect(page.locator("#count")).to_have_text("1 of 8 cases")
        _shot(page, art, "7-task-compare-bounds")
        page.select_option("#run-a", index=0)   # newest first: from the second run back to the first
        page.select_option("#run-b", index=1)
        page.click("#compare-go")
        expect(page.locator("#compare")).to_contain_text("7 now pass")

        page.goto(f"{base}/label?task=p")
        assert page.locator("#item .card").get_attribute("data-kind") == "pairwise"
        assert page.locator("#item pre.output").count() == 2
        _shot(page, art, "8-label-pairwise")
        for n, key in enumerate("12t", start=1):
            page.keyboard.press(key)
            _saved(page, n)
    assert errors == []
    labels = [json.loads(x) for x in (root / "golden_sets" / "p.labels.jsonl").read_text().splitlines()]
    assert len(labels) == 3 and all(lab["by"] == "browser-tester" for lab in labels)
    assert labels[2]["verdict"] == "pass" and "neither" in labels[2]["note"]   # a tie passes under non_loss
    assert {lab["verdict"] for lab in labels[:2]} <= {"pass", "fail"}


def test_the_pages_follow_a_run_while_it_writes(tmp_path):
    """A run in another process: the task page shows each candidate's cases done of its total
    and updates; the decisions page reloads itself when the run finishes."""
    _need_browser()
    from playwright.sync_api import expect

    from harness.project import load_project
    from harness.runner import run

    root = slow_project(tmp_path / "proj")
    run(load_project(root), tasks=["u"], progress=False)
    art = tmp_path / "view-artifacts"
    art.mkdir()
    errors: list[str] = []
    proc = None
    try:
        with _serve(root) as url, _chromium(errors) as new_page:
            base = url.split("/?")[0]
            page = new_page()
            page.goto(url)
            page.goto(f"{base}/task/t")
            assert page.locator("#live").is_hidden()
            proc = run_in_background(root, "t", "--run-group", EVIL)
            expect(page.locator("#live tr[data-model=slow] .count")).to_have_text("4 / 10", timeout=30000)
            expect(page.locator("#live tr[data-model=quick] .count")).to_have_text("10 / 10")
            assert EVIL in page.locator("#live h3").inner_text()   # the group's name, as text
            assert page.locator("#live script, #live img").count() == 0
            _shot(page, art, "9-task-live-progress")
            decisions = new_page()   # the same browser: the cookie it holds
            decisions.goto(f"{base}/")
            expect(decisions.locator("#live")).to_contain_text("4 / 10", timeout=15000)
            (root / "go").write_text("")
            assert proc.wait(60) == 0, proc.stderr.read().decode()
            expect(page.locator("#live")).to_contain_text("The run finished", timeout=15000)
            expect(decisions.locator("#live")).to_be_hidden(timeout=15000)   # reloaded: the new decision
            expect(decisions.locator("#task-t table.models")).to_contain_text("slow")
            _shot(decisions, art, "10-decisions-after-run")
    finally:
        (root / "go").write_text("")
        if proc is not None and proc.poll() is None:
            proc.kill()
    assert errors == []
