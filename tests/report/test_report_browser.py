"""The report in a real browser: headless Chromium loads index.html from disk.

Driven over the Chrome DevTools Protocol (aiohttp's websocket client): no console errors, the
summary table and the charts are there, the case filters and pages work, model output that is
markup stays text. Screenshots go to tmp_path and are copied to /tmp/report_shots/.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path("/tmp/report_shots")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.requires(CHROMIUM is not None, "Chromium is not installed (Debian: apt-get install chromium)"),
]


class Chromium:
    """A headless Chromium with one page, driven over CDP; collects console errors and dialogs."""

    def __init__(self, width: int = 1280, height: int = 900):
        self.width, self.height = width, height
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._events: dict[str, asyncio.Event] = {}

    async def __aenter__(self) -> "Chromium":
        import aiohttp

        self._profile = tempfile.TemporaryDirectory(prefix="tierwise-chromium-", ignore_cleanup_errors=True)
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
             f"--user-data-dir={self._profile.name}", f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._port(Path(self._profile.name) / "DevToolsActivePort")
        self._http = aiohttp.ClientSession()  # trust_env is off: loopback never goes through a proxy
        async with self._http.get(f"http://127.0.0.1:{port}/json/list") as resp:
            pages = [t for t in await resp.json() if t["type"] == "page"]
        self._ws = await self._http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        for domain in ("Runtime", "Log", "Page"):
            await self.send(f"{domain}.enable")
        await self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                        deviceScaleFactor=1, mobile=False)
        return self

    async def __aexit__(self, *exc) -> None:
        try:  # a clean close lets Chromium stop its helper processes before the profile goes
            await asyncio.wait_for(self.send("Browser.close"), 5)
        except Exception:
            pass
        self._reader.cancel()
        await self._ws.close()
        await self._http.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._profile.cleanup()

    def _port(self, path: Path) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().strip():
                return int(path.read_text().split()[0])
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port in 30 s")

    async def _read(self) -> None:
        async for msg in self._ws:
            data = json.loads(msg.data)
            if "id" in data:
                fut = self._pending.pop(data["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                self.errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.errors.append(params["entry"]["text"])
            elif method == "Page.javascriptDialogOpening":
                self.dialogs.append(params.get("message", ""))
                asyncio.ensure_future(self.send("Page.handleJavaScriptDialog", accept=True))
            self._events.setdefault(method, asyncio.Event()).set()

    async def send(self, method: str, **params: Any) -> dict:
        msg_id = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        await self._ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, 60)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def open(self, path: Path) -> float:
        """Navigate to a file and wait for its load event; returns seconds taken."""
        loaded = self._events.setdefault("Page.loadEventFired", asyncio.Event())
        loaded.clear()
        start = time.perf_counter()
        await self.send("Page.navigate", url=path.resolve().as_uri())
        await asyncio.wait_for(loaded.wait(), 120)
        return time.perf_counter() - start

    async def js(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self, path: Path, selector: str | None = None) -> Path:
        if selector:
            # Scroll the element to the top, below the page's sticky header.
            await self.js(f"window.scrollTo(0, document.querySelector({json.dumps(selector)})"
                          f".getBoundingClientRect().top + window.scrollY"
                          f" - document.querySelector('header.top').offsetHeight - 8)")
            await asyncio.sleep(0.1)
        data = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(data["data"]))
        return path


def _keep(path: Path, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SHOTS / name)


CLICK = "document.getElementById({!r}).click()"
MATCHING = "+document.getElementById('case-list').dataset.matching"
SHOWN = "document.querySelectorAll('#case-list .case').length"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from tests.report.test_report import build_example

    return build_example(tmp_path_factory.mktemp("browser"), n_cases=120)


def test_report_renders_without_errors_and_its_filters_work(report, tmp_path):
    _, rec, files = report
    frame = rec.frame
    failing_yes = int((~frame[frame["model"] == "always-yes"]["passed"].astype(bool)).sum())

    async def check() -> dict[str, Any]:
        async with Chromium() as page:
            seen: dict[str, Any] = {"load_s": await page.open(files.html)}
            seen["summary_rows"] = await page.js("document.querySelectorAll('#summary-table tbody tr').length")
            seen["charts"] = await page.js("document.querySelectorAll('svg.chart').length")
            seen["chart_box"] = await page.js("document.querySelector('svg.chart').getBoundingClientRect().height")
            seen["rings"] = await page.js("document.querySelectorAll('svg.chart .ring').length")
            seen["initial"] = (await page.js(MATCHING), await page.js(SHOWN),
                               await page.js("document.getElementById('page').textContent"))
            await page.screenshot(tmp_path / "summary.png")
            await page.screenshot(tmp_path / "task.png", "#task-t")

            await page.js(CLICK.format("next"))
            seen["page2"] = await page.js("document.getElementById('page').textContent")
            await page.js(CLICK.format("f-fail"))
            seen["failures_any"] = (await page.js(MATCHING), await page.js(SHOWN),
                                    await page.js("document.querySelectorAll('#case-list .case.fail').length"))
            await page.js("const m = document.getElementById('f-model'); m.value = 'always-yes';"
                          "m.dispatchEvent(new Event('change'))")
            seen["failures_yes"] = await page.js(MATCHING)
            seen["failed_cells_marked"] = await page.js(
                "[...document.querySelectorAll('#case-list .answer.fail h4 span:first-child')]"
                ".filter(s => s.textContent === 'always-yes').length")
            await page.screenshot(tmp_path / "cases.png", "#cases")
            await page.js(CLICK.format("f-fail"))
            await page.js("const s = document.getElementById('f-text'); s.value = 'c007';"
                          "s.dispatchEvent(new Event('input'))")
            await asyncio.sleep(0.4)
            seen["search"] = await page.js(MATCHING)
            seen["evil_text"] = await page.js(
                "[...document.querySelectorAll('#case-list pre')].some("
                "p => p.textContent === '<script>alert(1)</script><b>x</b>')")
            seen["bold"] = await page.js("document.querySelectorAll('#case-list b, #case-list script').length")
            seen["errors"], seen["dialogs"] = page.errors, page.dialogs
            return seen

    seen = asyncio.run(check())
    for name in ("summary.png", "task.png", "cases.png"):
        _keep(tmp_path / name, name)
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert seen["summary_rows"] == 1 and seen["charts"] == 1 and seen["chart_box"] > 200 and seen["rings"] == 1
    assert seen["initial"] == (120, 50, "page 1 of 3")
    assert seen["page2"] == "page 2 of 3"
    assert seen["failures_any"] == (120, 50, 50)        # evil fails every case
    assert seen["failures_yes"] == failing_yes == 60   # always-yes is wrong on every 'no' case
    assert seen["failed_cells_marked"] == 50
    assert seen["search"] == 1
    assert seen["evil_text"] is True and seen["bold"] == 0
