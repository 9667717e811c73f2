"""History that scales: recommend, report and gate --rerun on a store of one million results.

A project of 5 tasks x 4 models x 500 cases has 10,000 current results; the store also holds
the history of 99 earlier runs of the same cases under older call keys (an older prompt), so
it holds 1,000,000 results (and as many grade rows) in all. Rows are written straight into
the tables (executemany on SQLite, COPY on PostgreSQL) with call keys from the real planner,
so the current 10,000 are the ones recommend reads.

Each operation runs in its own process; litellm, pandas and SQLAlchemy are imported before
the clock starts, so the time is the store reads and the decision, and peak RSS is reported
beside the RSS after those imports:

    recommend   harness.recommend(project)
    report      harness.build_report(project, harness.recommend(project))
    gate        harness.gate(project, rerun=True): plan, skip the stored calls, read, decide

    python benchmarks/store_scale.py [--results 1000000] [--cases 500] [--backend sqlite|postgres] [--pg URL]
                                     [--before TREE] [--work DIR]

--before TREE is a folder holding an older `harness/` package (e.g. `git archive <commit>
harness | tar -x -C TREE`): the same store is generated once with that version's schema,
copied, and measured with both versions; the newer one first migrates its copy (timed apart).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS, MODELS, CASES = 5, 4, 500  # CASES per task: --cases
LABELS = ("billing", "technical", "account")


# -- the project and the data ---------------------------------------------------------------------

def write_project(root: Path, url: str, cases: int = CASES) -> None:
    (root / "evals").mkdir(parents=True, exist_ok=True)
    (root / "golden_sets").mkdir(exist_ok=True)
    (root / "rules.py").write_text("def label(vars):\n    return 'billing'\n")
    models = {f"m{i}": {"python": "rules:label", "price": {"per_call": 0.0001 * (i + 1)}} for i in range(MODELS)}
    (root / "tierwise.yaml").write_text(json.dumps({"store": url, "models": models}))
    for t in range(TASKS):
        name = f"task_{t}"
        with (root / "golden_sets" / f"{name}.jsonl").open("w") as f:
            for i in range(cases):
                f.write(json.dumps({"id": f"c{i:04d}", "vars": {"ticket": f"ticket {t}-{i} about an invoice"},
                                    "expected": LABELS[(i * 7 + t) % 3]}) + "\n")
        (root / "evals" / f"{name}.yaml").write_text(json.dumps({
            "task": name, "golden_set": f"golden_sets/{name}.jsonl",
            "prompt": {"system": "Route the ticket: billing, technical or account.", "user": "{{ ticket }}"},
            "params": {"temperature": 0, "max_tokens": 4}, "graders": [{"type": "exact"}],
            "threshold": 0.6, "candidates": list(models)}))


def generate(root: Path, url: str, total: int, cases: int = CASES) -> None:
    """Write the project, then `total` results over (total / current) runs straight into the store."""
    sys.path.insert(0, os.environ.get("PYTHONPATH", str(ROOT)).split(os.pathsep)[0])
    from harness.project import load_project
    from harness.runner import candidates_for, plan_run
    from harness.store import Store

    write_project(root, url, cases)
    project = load_project(root)
    tasks = project.select(None)
    plan = plan_run(tasks, candidates_for(project, tasks, check_keys=False))
    n_runs = max(1, total // len(plan.items))
    db = Store(url)
    start = time.monotonic()
    runs, res, grd = [], [], []
    rid = 0
    for r in range(n_runs):
        run_id = f"run{r:05d}"
        current = r == n_runs - 1
        runs.append((run_id, 1_700_000_000.0 + r * 86400, 1_700_000_000.0 + r * 86400 + 600, "finished",
                     "bench", "", "", "tierwise run", json.dumps({"tasks": [t.name for t in tasks]})))
        for it in plan.items:
            rid += 1
            right = (zlib.crc32(f"{it.case.id}{it.cand.name}{r}".encode()) % 100) < 70 + 8 * int(it.cand.name[1:])
            output = it.case.expected if right else "technical"
            key = it.call_key if current else f"{it.call_key[:56]}{r:08d}"
            res.append((rid, run_id, it.task.name, it.cand.name, it.case.id, key, it.spec_hash, it.task.golden.sha256,
                        it.fingerprint[1], it.fingerprint[2], json.dumps(it.messages), json.dumps(it.params),
                        output, None, None, "stop", 40, 2, it.cand.entry.price.per_call if it.cand.entry.price else 0.0,
                        50.0 + rid % 400, 1, False, float(right), right, runs[-1][1]))
            grd.append((rid, 0, "exact", "{}", 1.0, float(right), right,
                        "matches" if right else f"expected {it.case.expected!r}, got 'technical'"))
    _bulk(db, runs, res, grd)
    db.close()
    print(f"generated {len(res):,} results in {n_runs} runs ({len(plan.items):,} current) "
          f"in {time.monotonic() - start:.1f} s", file=sys.stderr)
    from harness.commands import recommend
    from harness.registry import write_registry

    write_registry(project, recommend(project))


RESULT_COLS = ("id, run_id, task, model, case_id, call_key, spec_hash, golden_hash, case_hash, grader_hash, messages, "
               "params, output, error, error_type, finish_reason, prompt_tokens, completion_tokens, cost, latency_ms, "
               "attempts, cached, score, passed, created_at")
GRADE_COLS = "result_id, idx, grader, options, weight, score, passed, reason"
RUN_COLS = "id, started_at, finished_at, status, tierwise_version, litellm_version, price_map_version, argv, info"


def _bulk(db, runs, res, grd) -> None:
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.engine.dialect.name == "postgresql":
            for table, cols, rows in (("runs", RUN_COLS, runs), ("results", RESULT_COLS, res),
                                      ("grades", GRADE_COLS, grd)):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cur.execute("SELECT setval(pg_get_serial_sequence('results', 'id'), (SELECT max(id) FROM results))")
            cur.execute("ANALYZE")
        else:
            for table, cols, rows in (("runs", RUN_COLS, runs), ("results", RESULT_COLS, res),
                                      ("grades", GRADE_COLS, grd)):
                marks = ", ".join("?" for _ in cols.split(","))
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        raw.commit()
    finally:
        raw.close()


# -- one measured operation -----------------------------------------------------------------------

def measure(root: Path, op: str) -> dict:
    import litellm  # noqa: F401 - imported before the clock, as every op needs it or pays it once
    import pandas  # noqa: F401
    import sqlalchemy  # noqa: F401

    import harness
    from harness.store import Store

    project = harness.load_project(root)
    base_rss = _rss_mb()
    start = time.monotonic()
    if op == "migrate":
        Store(project.store_url()).close()
    elif op == "recommend":
        harness.recommend(project)
    elif op == "report":
        harness.build_report(project, harness.recommend(project), root / "reports")
    elif op == "gate":
        result = harness.gate(project, rerun=True)
        assert result.ok, result.text()
    seconds = time.monotonic() - start
    return {"op": op, "seconds": round(seconds, 2), "rss_after_imports_mb": base_rss, "peak_rss_mb": _rss_mb()}


def _rss_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


# -- orchestration --------------------------------------------------------------------------------

def _sub(tree: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run([sys.executable, __file__, *args], env=env, cwd=tree, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    sys.stderr.write(out.stderr)
    return out.stdout


def _url(backend: str, pg: str, work: Path, label: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / label / 'results.db'}"
    import sqlalchemy as sa

    schema = f"tw_bench_{label}"
    engine = sa.create_engine(pg)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return pg + ("&" if "?" in pg else "?") + f"options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--before", type=Path, help="folder with an older harness/ to compare against")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierwise-store-scale"))
    parser.add_argument("--cases", type=int, default=CASES, help="cases per task (5 tasks x 4 models)")
    parser.add_argument("--_generate", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    if args.smoke:
        args.cases = 150  # enough for the gate's rerun to pass: the registry needs a qualifying model
        args.results = 2 * TASKS * MODELS * args.cases  # the current results and one older run of them
    if args._generate:
        generate(Path(args._generate[0]), args._generate[1], int(args._generate[2]), int(args._generate[3]))
        return
    if args._measure:
        for op in args._measure[1].split(","):
            print(json.dumps(measure(Path(args._measure[0]), op)))
        return

    shutil.rmtree(args.work, ignore_errors=True)
    versions = [("before", args.before.resolve())] if args.before else []
    versions.append(("after", ROOT))
    first_tree = versions[0][1]
    rows = []
    if args.backend == "sqlite":
        url = _url("sqlite", args.pg, args.work, "data")
        _sub(first_tree, "--_generate", str(args.work / "data"), url, str(args.results), str(args.cases))
        for label, _ in versions:   # one store, copied: both versions read the same bytes
            shutil.copytree(args.work / "data", args.work / label)
            cfg = json.loads((args.work / label / "tierwise.yaml").read_text())
            cfg["store"] = _url("sqlite", args.pg, args.work, label)
            (args.work / label / "tierwise.yaml").write_text(json.dumps(cfg))
    else:
        for label, tree in versions:
            _sub(tree if label == "after" and not args.before else first_tree, "--_generate",
                 str(args.work / label), _url("postgres", args.pg, args.work, label), str(args.results),
                 str(args.cases))
    for label, tree in versions:
        ops = (["migrate"] if label == "after" and args.before else []) + ["recommend", "report", "gate"]
        # each op in a fresh process; --smoke runs them in one (the imports paid once, peak RSS cumulative)
        for batch in [",".join(ops)] if args.smoke else ops:
            out = _sub(tree, "--_measure", str(args.work / label), batch)
            rows += [{"version": label, **json.loads(line)} for line in out.splitlines()]
    print(f"\n{args.backend}, {args.results:,} results ({TASKS * MODELS * args.cases:,} current)\n")
    print("| version | operation | wall s | RSS after imports MB | peak RSS MB |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['version']} | {r['op']} | {r['seconds']:.2f} | {r['rss_after_imports_mb']} | {r['peak_rss_mb']} |")


if __name__ == "__main__":
    main()
