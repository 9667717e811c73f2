"""The `tierwise view` web app: three pages and one write, behind the guard (view/_guard.py).

    GET  /             the decision per task, live from the store, with the report's chart
    GET  /task/NAME    one task's cases, every candidate side by side, filters and search; the
                       bound against the number of cases; run to run (?a=RUN&b=RUN)
    GET  /label        the labelling queue (?task=NAME for one task)
    GET  /api/progress the runs in progress, per task and candidate: done / total (?task=NAME);
                       the pages poll it while a run writes
    POST /api/label    one answer: {"key", "verdict": "pass"|"fail"}, {"key", "choice": "1"|"2"|"tie"}
                       (a blind comparison) or {"key", "expected", "json"}
    POST /api/undo     {"key"}: take back this person's answer to that item (a retraction line is
                       appended to the same file; nothing is rewritten)

Every request re-reads the project and the store, so a finished run, a new label or an edited
golden set shows on the next page load. Pages are rendered by Jinja with autoescape; data for
the page's script is JSON inert inside <script type="application/json"> (report's script_json)
and drawn with textContent only; the one script and the one stylesheet are this package's files,
allowed by hash in the Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import TierwiseError
from ._guard import Guard, allowed_hosts

MAX_BODY_BYTES = 256 * 1024


@dataclass
class ViewConfig:
    root: Path
    decide: Callable[[Any, list[str] | None], Any]   # (project, tasks) -> Recommendation (harness.commands.recommend)
    who: str
    token: str
    host: str = "127.0.0.1"
    port: int = 8765
    read_only: bool = False
    # The application layer's reads the pages show, passed in by the command (the view imports no
    # command): runs of a task, oldest first (commands.task_runs); two runs compared for one task
    # (commands.diff); the runs in progress (commands.run_progress). None: that part says so.
    runs: Callable[[Any, str], list[Any]] | None = None
    diff: Callable[[Any, str | None, str | None, str], Any] | None = None
    progress: Callable[[Any, str | None], Any] | None = None


def create_app(config: ViewConfig):
    """The ASGI app: Starlette's routes inside the guard."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    assets = _Assets()
    pages = _Pages(config, assets)
    routes = [Route("/", pages.decisions), Route("/task/{name}", pages.task), Route("/label", pages.label),
              Route("/api/progress", pages.progress), Route("/api/label", pages.answer, methods=["POST"]),
              Route("/api/undo", pages.undo, methods=["POST"])]
    app = Starlette(routes=routes)
    return Guard(app, config.token, allowed_hosts(config.host, config.port), config.port, assets.csp)


class _Assets:
    """The template environment, the script and the stylesheet, and the CSP that pins their hashes."""

    def __init__(self) -> None:
        import jinja2

        from ..report import FILTERS, stylesheet

        self.env = jinja2.Environment(loader=jinja2.PackageLoader("harness.view", "templates"), autoescape=True,
                                      undefined=jinja2.StrictUndefined)
        self.env.filters.update(FILTERS)
        self.env.filters["delta"] = _delta
        self.js = self.env.loader.get_source(self.env, "view.js")[0]
        self.css = stylesheet() + "\n" + self.env.loader.get_source(self.env, "view.css")[0]
        self.csp = ("default-src 'none'; script-src '" + _sha(self.js) + "'; style-src '" + _sha(self.css)
                    + "'; img-src data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
                      "base-uri 'none'")

    def render(self, name: str, **values: Any) -> str:
        from markupsafe import Markup

        return self.env.get_template(name).render(js=Markup(self.js), css=Markup(self.css), **values)


def _delta(b: Any, a: Any) -> str:
    """A score's change, as ' (+0.012)', for the run-to-run table (nothing when either is missing)."""
    import math

    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (a, b)):
        return ""
    return f" ({b - a:+.3f})"


def _sha(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class _Pages:
    def __init__(self, config: ViewConfig, assets: _Assets):
        self.config, self.assets = config, assets

    # -- pages (sync: Starlette runs them in its thread pool, as they read files and the store) --

    def decisions(self, request):
        from ..report import task_views

        return self._page(lambda project: ("decisions.html.j2", {
            "views": task_views(project, self.config.decide(project, None))}))

    def task(self, request):
        name = request.path_params["name"]
        run_a, run_b = request.query_params.get("a"), request.query_params.get("b")

        def build(project):
            if name not in project.tasks:
                raise _NotFound(f"no task {name!r}; known: {', '.join(sorted(project.tasks))}")
            from ._bound import bound_figures
            from ._compare import compare_runs
            from ._data import task_data, verdict_counts

            rec = self.config.decide(project, [name])
            view, payload = task_data(project, rec, name)
            rows = rec.frame[rec.frame["task"] == name] if rec.frame is not None and len(rec.frame) else None
            figures, not_drawn = bound_figures(rec.decisions[0], rows)
            compare = compare_runs(project, name, self.config.runs, self.config.diff, run_a, run_b)
            return "task.html.j2", {"v": view, "data": payload, "figures": figures, "not_drawn": not_drawn,
                                    "compare": compare, "status": compare.status,
                                    "verdicts": verdict_counts(project.tasks[name], rec.decisions[0])}

        return self._page(build)

    def label(self, request):
        task = request.query_params.get("task") or None

        def build(project):
            from ._data import label_data

            if task is not None and task not in project.tasks:
                raise _NotFound(f"no task {task!r}; known: {', '.join(sorted(project.tasks))}")
            queues, payload = label_data(project, self.config.decide(project, [task] if task else None))
            return "label.html.j2", {"queues": queues, "data": payload, "task": task}

        return self._page(build)

    def _page(self, build):
        from starlette.responses import HTMLResponse

        from ..project import load_project
        from ..report import script_json

        base = {"project": self.config.root.name, "read_only": self.config.read_only, "who": self.config.who}
        try:
            template, values = build(load_project(self.config.root))
        except _NotFound as exc:
            return HTMLResponse(self.assets.render("error.html.j2", error=str(exc), data_json="null", **base), status_code=404)
        except TierwiseError as exc:
            return HTMLResponse(self.assets.render("error.html.j2", error=str(exc), data_json="null", **base), status_code=500)
        from markupsafe import Markup

        data = values.pop("data", None)
        status = values.pop("status", 200)
        return HTMLResponse(self.assets.render(template, data_json=Markup(script_json(data)), **base, **values),
                            status_code=status)

    def progress(self, request):
        """The runs in progress as JSON (harness.commands.run_progress), for the pages to poll."""
        from starlette.responses import JSONResponse

        from ..project import load_project

        task = request.query_params.get("task") or None
        if self.config.progress is None:
            return JSONResponse({"version": 1, "runs": []})
        try:
            project = load_project(self.config.root)
            if task is not None and task not in project.tasks:
                return JSONResponse({"error": "no such task"}, 404)
            return JSONResponse(self.config.progress(project, task).to_dict())
        except TierwiseError as exc:
            return JSONResponse({"error": str(exc)}, 500)

    # -- the one write ---------------------------------------------------------------------------

    async def answer(self, request):
        return await self._post(request, self._write)

    async def undo(self, request):
        return await self._post(request, self._undo)

    async def _post(self, request, write):
        """Read one bounded JSON object {"key": …, …} and hand it to `write` (in the thread pool)."""
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        if self.config.read_only:
            return JSONResponse({"error": "read-only: this view was started with --read-only"}, 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send JSON (Content-Type: application/json)"}, 415)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": f"the request is over {MAX_BODY_BYTES:,} bytes"}, 413)
        try:
            answer = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"error": "the body is not JSON"}, 400)
        if not isinstance(answer, dict) or not isinstance(answer.get("key"), str):
            return JSONResponse({"error": 'send {"key": …, "verdict": …} or {"key": …, "expected": …}'}, 400)
        try:
            written = await run_in_threadpool(write, answer)
        except TierwiseError as exc:
            return JSONResponse({"error": str(exc)}, _status(exc))
        from ..util import shown_path

        return JSONResponse({"ok": True, "file": shown_path(written, self.config.root)})

    def _write(self, answer: dict[str, Any]) -> Path:
        from ..project import load_project
        from ._answer import NotInQueue, answer_golden, answer_judge, answer_pairwise

        project = load_project(self.config.root)
        key = answer["key"]
        if key.startswith(("judge:", "pair:")):
            task = key.split(":", 2)[1] if key.count(":") >= 3 else ""
            if task not in project.tasks:
                raise NotInQueue(f"{key[:80]!r}: no such task in the project (reload the page)")
            rec = self.config.decide(project, [task])
            if key.startswith("pair:"):
                return answer_pairwise(project, rec.frame, key, answer.get("choice"), self.config.who)
            return answer_judge(project, rec.frame, key, answer.get("verdict"), self.config.who)
        expected = answer.get("expected")
        if answer.get("json"):
            try:
                expected = json.loads(expected) if isinstance(expected, str) else None
            except json.JSONDecodeError as exc:
                raise NotInQueue(f"the expected value is not JSON ({exc.msg}); fix it or untick JSON") from None
        return answer_golden(project, key, expected, self.config.who)

    def _undo(self, answer: dict[str, Any]) -> Path:
        from ..project import load_project
        from ._answer import undo

        project = load_project(self.config.root)
        key = answer["key"]
        frame = None
        if key.startswith(("judge:", "pair:")):
            task = key.split(":", 2)[1] if key.count(":") >= 3 else ""
            if task not in project.tasks:
                raise _NotFound(f"{key[:80]!r}: no such task in the project (reload the page)")
            frame = self.config.decide(project, [task]).frame
        return undo(project, frame, key, self.config.who)


class _NotFound(TierwiseError):
    pass


def _status(exc: TierwiseError) -> int:
    from ._answer import AlreadyAnswered, NothingToUndo, NotInQueue
    from ._append import LineTooLong, OutsideProject

    for kind, status in ((OutsideProject, 403), (NotInQueue, 404), (_NotFound, 404), (AlreadyAnswered, 409),
                         (NothingToUndo, 409), (LineTooLong, 413)):
        if isinstance(exc, kind):
            return status
    return 400
