"""build_report: the HTML page, the Markdown summary and the JSON document of one recommendation."""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..util import tierwise_version
from ._cases import TEXT_LIMIT, case_payload, load_reasons, script_json
from ._data import headline, judge_share, monthly, registry_diff, run_infos, task_views
from ..decide import entry_label
from ._fmt import FILTERS
from ._markdown import markdown_summary

HTML_NAME, MARKDOWN_NAME, JSON_NAME = "index.html", "summary.md", "report.json"


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written."""

    html: Path
    markdown: Path
    json: Path


def build_report(project: Any, rec: Any, out_dir: str | Path | None = None, store: str | None = None) -> ReportFiles:
    """Write index.html (self-contained, opens offline), summary.md and report.json to out_dir
    (default: the project's reports/).

    `rec` is what `harness.recommend` returned; `store` is the results store URL
    (default: the project's), read for the graders' reasons shown in the case browser.
    """
    out = Path(out_dir).resolve() if out_dir is not None else project.root / "reports"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(out, exc, out_dir) from None
    files = ReportFiles(out / HTML_NAME, out / MARKDOWN_NAME, out / JSON_NAME)
    try:
        _write(project, rec, store, files)
    except OSError as exc:
        raise _unwritable(Path(exc.filename or out), exc, out_dir) from None
    return files


def _unwritable(path: Path, exc: OSError, out_dir: Any) -> Exception:
    from ..errors import OutputError

    setting = "report --out" if out_dir is not None else "the report folder (reports/; choose another with --out)"
    return OutputError(f"{setting}: cannot write {path} ({exc.strerror or exc}); fix: pass --out a folder you "
                       f"can write to")


def _write(project: Any, rec: Any, store: str | None, files: ReportFiles) -> None:

    views = task_views(project, rec)
    diff = registry_diff(project, rec)
    runs = run_infos(rec)
    ids = rec.frame["id"].tolist() if rec.frame is not None and len(rec.frame) else []
    cases = case_payload(project, rec, load_reasons(project.store_url(store), ids))
    meta = {"project": project.root.name, "tierwise_version": tierwise_version(), "store": rec.store,
            "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "html": HTML_NAME}

    files.html.write_text(_html(views, diff, runs, cases, rec.skipped, meta), encoding="utf-8")
    files.markdown.write_text(markdown_summary(views, diff, rec.skipped, meta), encoding="utf-8")
    document = {**rec.to_dict(), "report": {**meta, "headline": headline(views)},
                "registry_diff": diff.text, "runs": [asdict(r) for r in runs],
                "golden_sets": {v.d.task: {"path": v.golden_set, "cases": v.cases, "sha256": v.golden_hash}
                                for v in views}}
    files.json.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                          encoding="utf-8")


def append_step_summary(files: ReportFiles, environ: dict[str, str] | None = None) -> Path | None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY when it is set; returns that path."""
    target = (environ if environ is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        f.write(files.markdown.read_text(encoding="utf-8") + "\n")
    return path


def _html(views, diff, runs, cases, skipped, meta) -> str:
    from markupsafe import Markup

    env = _env()
    # The stylesheet and the script are our own files, not data: they go in as they are. The
    # script's hash goes into the page's Content-Security-Policy, so no other script can run.
    css = env.loader.get_source(env, "report.css")[0]
    js = env.loader.get_source(env, "report.js")[0]
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    return env.get_template("report.html.j2").render(
        views=views, diff=diff, runs=runs, skipped=skipped, meta=meta, headline=headline(views),
        spend=monthly(views), case_tasks=cases["tasks"], case_count=len(cases["cases"]),
        case_task_index={t["name"]: i for i, t in enumerate(cases["tasks"])}, text_limit=TEXT_LIMIT,
        css=Markup(css), js=Markup(js), script_hash=f"sha256-{digest}", judge_share=judge_share,
        cases_json=Markup(script_json(cases)),  # escaped for a <script> element by script_json
    )


def stylesheet() -> str:
    """The report's stylesheet (the view reuses it, so a chart looks the same in both)."""
    env = _env()
    return env.loader.get_source(env, "report.css")[0]


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("harness.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.filters.update(FILTERS)
    env.filters["entry"] = entry_label  # a model entry's model, a cascade entry's stages
    return env
