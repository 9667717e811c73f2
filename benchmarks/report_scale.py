"""`tierwise report` at scale: 10,000 cases x 5 models (50,000 results).

Synthesises a store (rows written directly through Store.write_results, with call keys from
the real planner so the recommender counts them as current), then times recommend and
build_report, prints the sizes, and, when Chromium is installed, loads the page headless
and times the load, the "failures only" filter, a text search and a page turn.

    python benchmarks/report_scale.py [--cases 10000] [--models 5] [--tasks 4] [--no-browser] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# (name, catalog entry, accuracy, mean latency ms); priced per call so no price map is needed.
MODELS = [
    ("keyword-rule", {"python": "rules:label"}, 0.80, 0.05),
    ("small-local", {"python": "rules:label", "price": {"per_call": 0.00002}}, 0.86, 180.0),
    ("nano", {"python": "rules:label", "price": {"per_call": 0.00012}}, 0.965, 420.0),
    ("mini", {"python": "rules:label", "price": {"per_call": 0.0009}}, 0.975, 650.0),
    ("large", {"python": "rules:label", "price": {"per_call": 0.006}}, 0.985, 1400.0),
]
LABELS = ["billing", "technical", "account"]
WORDS = ("invoice refund login password crash sync export api timeout charge plan upgrade team "
         "owner delete account screen error slow mobile desktop card tax receipt").split()


def write_project(root: Path, n_cases: int, n_models: int, n_tasks: int) -> None:
    models = MODELS[:n_models]
    (root / "evals").mkdir(parents=True)
    (root / "golden_sets").mkdir()
    (root / "rules.py").write_text("def label(vars):\n    return 'billing'\n")
    (root / "tierwise.yaml").write_text(json.dumps({"models": {name: entry for name, entry, *_ in models}}))
    rng = random.Random(7)
    per_task = [n_cases // n_tasks + (1 if i < n_cases % n_tasks else 0) for i in range(n_tasks)]
    for t, count in enumerate(per_task):
        name = f"task_{t + 1}"
        with (root / "golden_sets" / f"{name}.jsonl").open("w") as f:
            for i in range(count):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
                f.write(json.dumps({"id": f"{name[:1]}{t + 1}-{i:05d}", "vars": {"ticket": text},
                                    "expected": rng.choice(LABELS), "tags": [rng.choice(["easy", "hard"])]}) + "\n")
        (root / "evals" / f"{name}.yaml").write_text(json.dumps({
            "task": name, "golden_set": f"golden_sets/{name}.jsonl",
            "prompt": {"system": "Route the ticket: billing, technical or account.", "user": "{{ ticket }}"},
            "output": {"choices": LABELS}, "params": {"temperature": 0, "max_tokens": 4},
            "graders": [{"type": "choice"}], "threshold": [0.84, 0.95, 0.97, 0.99][t % 4], "confidence": 0.95,
            "candidates": [name for name, *_ in models],
        }))


def synthesise(root: Path) -> int:
    """One stored, graded result per planned call; returns how many were written."""
    from harness.fingerprint import case_hash
    from harness.project import load_project
    from harness.runner import candidates_for, plan_run
    from harness.store import ResultRow, Store

    project = load_project(root)
    tasks = project.select(None)
    plan = plan_run(tasks, candidates_for(project, tasks, check_keys=False))
    profile = {name: (acc, lat) for name, _, acc, lat in MODELS}
    price = {name: (entry.get("price") or {}).get("per_call", 0.0) for name, entry, *_ in MODELS}
    rng = random.Random(11)
    db = Store(project.store_url())
    run_id = db.start_run(tierwise_version="bench", litellm_version="-", price_map_version="synthetic", argv="bench",
                          info={"tasks": [t.name for t in tasks], "models": sorted(profile), "skipped": {}})
    rows, written = [], 0
    for it in plan.items:
        acc, lat = profile[it.cand.name]
        expected = it.case.expected
        right = rng.random() < acc
        output = expected if right else rng.choice([x for x in LABELS if x != expected])
        if rng.random() < 0.002:  # a few long rambling answers, to exercise truncation
            output = (output + " because " + " ".join(rng.choice(WORDS) for _ in range(900)))
            right = False
        error = "Timeout: no answer in 60 s" if rng.random() < 0.001 else None
        reason = f"expected {expected!r}, got {output[:60]!r}"
        rows.append(ResultRow(
            run_id=run_id, task=it.task.name, model=it.cand.name, case_id=it.case.id, call_key=it.call_key,
            spec_hash=it.spec_hash, golden_hash=it.task.golden.sha256, case_hash=case_hash(it.case),
            grader_hash=it.task.grader_hash(), messages=it.messages, params=it.stored_params,
            output=None if error else output, error=error, error_type="Timeout" if error else None,
            finish_reason=None if error else "stop", prompt_tokens=60, completion_tokens=2,
            cost=price[it.cand.name], latency_ms=None if error else rng.expovariate(1 / lat),
            attempts=1, cached=False, score=0.0 if error else float(right), passed=False if error else right,
            grades=[] if error else [{"grader": "choice", "options": {}, "weight": 1.0, "score": float(right),
                                      "passed": right, "reason": reason}]))
        if len(rows) == 2000:
            written += db.write_results(rows)
            rows = []
    written += db.write_results(rows)
    db.finish_run(run_id, "finished")
    db.close()
    return written


async def browse(html: Path) -> dict[str, float]:
    from tests.report.test_report_browser import Chromium

    timings: dict[str, float] = {}
    async with Chromium() as page:
        timings["load_s"] = await page.open(html)
        timings["first_render_cases"] = await page.js("document.querySelectorAll('#case-list .case').length")
        timings["load_event_ms"] = await page.js("performance.getEntriesByType('navigation')[0].loadEventEnd")
        for name, action in [
            ("failures_filter_ms", "document.getElementById('f-fail').click()"),
            ("search_ms", "document.getElementById('f-text').value = 'refund login';"
                          "document.getElementById('case-filters').requestSubmit()"),
            ("next_page_ms", "document.getElementById('next').click()"),
        ]:
            timings[name] = await page.js(f"(() => {{ const t = performance.now(); {action}; "
                                          f"return performance.now() - t; }})()")
        timings["console_errors"] = len(page.errors)
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--models", type=int, default=5, choices=range(1, len(MODELS) + 1))
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--keep", type=Path, help="Build in this folder and keep it (default: a temporary one).")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = ap.parse_args()
    if args.smoke:
        args.cases, args.models, args.tasks = 60, 3, 2

    from harness.commands import recommend
    from harness.project import load_project
    from harness.report import build_report

    tmp = None
    root = args.keep
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="tierwise-report-scale-")
        root = Path(tmp.name)
    elif root.exists():
        shutil.rmtree(root)
    try:
        write_project(root, args.cases, args.models, args.tasks)
        start = time.perf_counter()
        n = synthesise(root)
        print(f"setup: {n:,} results ({args.cases:,} cases x {args.models} models, {args.tasks} tasks) "
              f"written in {time.perf_counter() - start:.1f} s")

        project = load_project(root)
        start = time.perf_counter()
        rec = recommend(project)
        rec_s = time.perf_counter() - start
        start = time.perf_counter()
        files = build_report(project, rec, root / "reports")
        build_s = time.perf_counter() - start
        html = files.html.read_text(encoding="utf-8")
        data = re.search(r'<script type="application/json" id="cases-data">(.*?)</script>', html, re.S).group(1)
        print(f"recommend: {rec_s:.2f} s   build_report: {build_s:.2f} s   total: {rec_s + build_s:.2f} s")
        print(f"index.html: {len(html.encode()) / 1e6:.1f} MB (case data {len(data.encode()) / 1e6:.1f} MB, "
              f"rest {(len(html) - len(data)) / 1e3:.0f} kB)   summary.md: {files.markdown.stat().st_size / 1e3:.1f} kB"
              f"   report.json: {files.json.stat().st_size / 1e3:.0f} kB")
        print("verdicts: " + ", ".join(f"{d.task} {d.status} {d.recommended or ''}".strip() for d in rec.decisions))
        if not args.no_browser and shutil.which("chromium"):
            t = asyncio.run(browse(files.html))
            print(f"chromium: load {t['load_s']:.2f} s (load event at {t['load_event_ms']:.0f} ms, "
                  f"{t['first_render_cases']} cases drawn), "
                  f"failures filter {t['failures_filter_ms']:.0f} ms, text search {t['search_ms']:.0f} ms, "
                  f"next page {t['next_page_ms']:.0f} ms, console errors {t['console_errors']}")
        if args.keep:
            print(f"report: {files.html}")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
