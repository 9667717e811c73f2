"""`tierwise audit --from` on a large LiteLLM spend-log export: time and peak memory by size.

Writes a JSONL export of N spend-log rows shaped as LiteLLM_SpendLogs exports them (request id,
hashed key, spend, tokens, start/end times, model and model group, api_base, metadata JSON with
tags and the key's details, request tags, session id, cache fields; about 1 KB a row), 30 tasks,
500 pipeline runs, then audits it in a fresh process for each size (the library call behind the
CLI, without a project: read, check, per-task and per-pipeline figures). Peak memory is the
process's maximum resident set size less what it held before reading (Python, SQLAlchemy,
harness imported); us/row is CPU time (the machine may be shared; wall seconds shown too). Goal: linear in N (time and memory per row flat across sizes), 200k rows in
under a minute and under 1 GB.

Measured (2-core shared machine, JSONL): 50k rows 2.7 s CPU / 86 MB, 100k 5.2 s / 148 MB,
200k 11.0 s / 277 MB (about 55 us and 1.4 KB a row; wall time 2-4x the CPU time with the
machine busy). Before the reader streamed, 200k rows took 11.2 s and peaked at 1,353 MB.

    python benchmarks/audit_scale.py [--rows 50000 100000 200000] [--format jsonl|json|csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from harness.commands import audit
import harness.audit._figures, sqlalchemy  # noqa: F401 - counted in the baseline, not the read
usage = resource.getrusage(resource.RUSAGE_SELF)
before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
start = time.perf_counter()
result = audit(sys.argv[3], source=sys.argv[1], recommendation=False)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu0
json.dumps(result.to_dict(), allow_nan=False)
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": (peak - before) / 1024, "rss_mb": peak / 1024,
                  "calls": result.calls, "tasks": len(result.tasks), "spend": result.spend}))
"""


def spend_rows(n: int, seed: int = 7):
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    tasks = [f"task_{i:02d}" for i in range(30)]
    models = ["gpt-4.1-mini", "gpt-4.1", "claude-haiku-4-5", "gemini-2.0-flash"]
    for i in range(n):
        t0 = start + timedelta(seconds=i * 13 + rng.random())
        latency = rng.lognormvariate(6.5, 0.6)
        pt, ct = rng.randint(50, 3000), rng.randint(1, 400)
        task = rng.choice(tasks)
        tags = [f"task:{task}", f"step:step_{rng.randint(1, 4)}"]
        yield {
            "request_id": f"chatcmpl-{i:012x}{rng.getrandbits(64):016x}", "call_type": "acompletion",
            "api_key": f"{rng.getrandbits(128):032x}{rng.getrandbits(128):032x}", "spend": round(pt * 1e-7 + ct * 4e-7, 9),
            "total_tokens": pt + ct, "prompt_tokens": pt, "completion_tokens": ct,
            "startTime": t0.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "endTime": (t0 + timedelta(milliseconds=latency)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "completionStartTime": (t0 + timedelta(milliseconds=latency / 3)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "model": rng.choice(models), "model_id": f"{rng.getrandbits(64):016x}", "model_group": task,
            "custom_llm_provider": "openai", "api_base": "https://api.openai.com/v1", "user": "",
            "metadata": json.dumps({"user_api_key": "hashed", "user_api_key_alias": "ci", "user_api_key_team_id": None,
                                    "user_api_key_user_id": "default_user_id", "tags": tags,
                                    "spend_logs_metadata": None, "requester_ip_address": "10.0.0.1",
                                    "additional_usage_values": {"prompt_tokens_details": None}}),
            "cache_hit": "False", "cache_key": "Cache OFF", "request_tags": json.dumps(tags), "team_id": "",
            "end_user": "", "requester_ip_address": "", "session_id": f"run-{rng.randint(0, 499)}",
            "status": "success" if rng.random() > 0.02 else "failure", "messages": "{}", "response": "{}",
        }


def write(path: Path, n: int, fmt: str) -> None:
    rows = spend_rows(n)
    with path.open("w", newline="") as f:
        if fmt == "jsonl":
            for row in rows:
                f.write(json.dumps(row) + "\n")
        elif fmt == "json":
            json.dump(list(rows), f)
        else:
            first = next(rows)
            writer = csv.DictWriter(f, fieldnames=list(first))
            writer.writeheader()
            writer.writerow(first)
            writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 100_000, 200_000])
    parser.add_argument("--format", choices=["jsonl", "json", "csv"], default="jsonl")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, seconds: the real code path (tests/test_benchmarks.py)")
    args = parser.parse_args()
    if args.smoke:
        args.rows = [300]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'rows':>8}  {'MB':>6}  {'seconds':>8}  {'cpu s':>6}  {'us/row':>7}  {'peak MB':>8}  {'KB/row':>6}  calls   tasks")
        for n in args.rows:
            path = Path(tmp) / f"spend-{n}.{args.format}"
            write(path, n, args.format)
            out = subprocess.run([sys.executable, "-c", MEASURE, str(path), str(ROOT), str(Path(tmp) / "none")],
                                 capture_output=True, text=True, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})
            if out.returncode:
                sys.exit(out.stderr)
            m = json.loads(out.stdout)
            print(f"{n:>8,}  {path.stat().st_size / 1e6:>6.0f}  {m['seconds']:>8.1f}  {m['cpu']:>6.1f}  {m['cpu'] / n * 1e6:>7.1f}  "
                  f"{m['peak_mb']:>8.0f}  {m['peak_mb'] * 1024 / n:>6.2f}  {m['calls']:>6,}  {m['tasks']:>5}")


if __name__ == "__main__":
    main()
