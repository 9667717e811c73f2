"""`tierwise audit --from` on hostile exports: every input ends in one clean error naming the
file and the row (exit 2 through the CLI), or in the correct figures; never a traceback, a
guess or a non-finite figure. The table is the count the issue asks for (len(CASES) + the
bound tests below)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.audit import UsageError
from harness.commands import audit
from harness.audit import _read

CSV_HEAD = b"task,model,cost,latency_ms\n"


def _spend(**fields) -> bytes:
    row = {"request_id": "r1", "spend": 0.25, "startTime": "2025-03-01T10:00:00", "endTime": "2025-03-01T10:00:01",
           "model": "gpt-4.1-mini", "model_group": "triage"}
    row.update(fields)
    return json.dumps(row).encode() + b"\n"


def _jsonl(**fields) -> bytes:
    row = {"task": "t", "model": "m", "cost": 0.5}
    row.update(fields)
    return json.dumps(row).encode() + b"\n"


def _nested(depth: int) -> bytes:
    """A JSONL row whose record nests `depth` levels in all (the row itself is level 1)."""
    return b'{"task": "t", "model": "m", "cost": 1, "x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}\n"


# (id, file name, content, expected): expected is a regex the one-line error matches (after
# the file's name), or ("ok", total spend, calls).
CASES = [
    # the eight tracebacks of issue 22
    ("latency_s-abc", "u.csv", b"task,model,cost,latency_s\nt,m,0.1,abc\n", r":2: latency_s: 'abc' is not a number"),
    ("non-utf8-csv", "u.csv", CSV_HEAD + b"t,m,\xff,1\n", r":2: not UTF-8 \(byte 0xff"),
    ("field-over-128KiB", "u.csv", CSV_HEAD + b"t,m,0.1,1" + b"," + b"x" * (129 * 1024) + b"\n",
     r":2: a field over 128 KiB"),
    ("nested-100k", "u.jsonl", _nested(100_000), r":1: the line: nested deeper than 32 levels"),
    ("metadata-list", "s.jsonl", _spend(metadata=[1, 2]), r":1: metadata: \[1, 2\] must be a JSON object"),
    ("metadata-tags-int", "s.jsonl", _spend(metadata={"tags": 7}), r":1: metadata.tags: 7 must be a JSON list"),
    ("request-tags-int", "s.jsonl", _spend(request_tags=5), r":1: request_tags: 5 must be a JSON list"),
    ("tag-dict", "s.jsonl", _spend(request_tags=[{"a": 1}]), r":1: request_tags: the tag \{'a': 1\} is not text"),
    # wrong figures that used to be printed
    ("negative-cost", "u.csv", CSV_HEAD + b"t,m,-5,1\n", r":2: cost: -5 is outside 0 to 1,000,000"),
    ("cost-1e308", "u.csv", CSV_HEAD + b"t,m,1e308,1\nt,m,1e308,1\n", r":2: cost: 1e\+308 is outside"),
    ("cost-inf-text", "u.csv", CSV_HEAD + b"t,m,inf,1\n", r":2: cost: 'inf' is not a finite number"),
    ("cost-nan-text", "u.csv", CSV_HEAD + b"t,m,NaN,1\n", r":2: cost: 'NaN' is not a finite number"),
    ("spend-NaN", "s.jsonl", b'{"request_id": "r", "spend": NaN, "startTime": "2025-03-01T10:00:00", "model": '
                             b'"gpt-4o", "prompt_tokens": 10, "completion_tokens": 5}\n',
     r":1: NaN is not a number JSON allows"),
    ("spend-Infinity-doc", "s.json", b'[{"request_id": "r", "spend": Infinity, "model": "m"}]',
     r": Infinity is not a number JSON allows"),
    ("spend-negative-text", "s.jsonl", _spend(spend="-0.5"), r":1: spend: -0.5 is outside"),
    ("cost-bool", "u.jsonl", _jsonl(cost=True), r":1: cost: True is not a number"),
    ("cost-dict", "u.jsonl", _jsonl(cost={"usd": 1}), r":1: cost: \{'usd': 1\} is not a number"),
    ("tokens-negative", "u.jsonl", _jsonl(prompt_tokens=-1), r":1: prompt_tokens: -1 is outside"),
    ("tokens-fraction", "u.jsonl", _jsonl(prompt_tokens=1.5), r":1: prompt_tokens: 1.5 is not a whole number"),
    ("tokens-1e12", "u.jsonl", _jsonl(completion_tokens=10**12), r":1: completion_tokens: 1e\+12 is outside"),
    ("tokens-huge-int", "u.jsonl", _jsonl(prompt_tokens=10**400), r":1: prompt_tokens: .* is not a number"),
    ("latency-negative", "u.csv", CSV_HEAD + b"t,m,0.1,-3\n", r":2: latency_ms: -3 is outside"),
    ("latency-weeks", "u.jsonl", _jsonl(latency_ms=1e12), r":1: latency_ms: 1e\+12 is outside"),
    ("time-text", "u.jsonl", _jsonl(timestamp="yesterday"), r":1: timestamp: 'yesterday' is not a time"),
    ("time-1e20", "u.jsonl", _jsonl(timestamp=1e20), r":1: timestamp: 1e\+20 is not a time between 1970 and 2200"),
    ("time-year-9999", "s.jsonl", _spend(startTime="9999-12-31T23:59:59"), r":1: startTime: .* between 1970"),
    ("end-before-start", "s.jsonl", _spend(endTime="2025-03-01T09:00:00"), r":1: endTime is before startTime"),
    ("task-list", "u.jsonl", _jsonl(task=["a"]), r":1: task: \['a'\] is not text"),
    ("task-300-chars", "u.jsonl", _jsonl(task="t" * 300), r":1: task: 300 characters, over 200"),
    ("status-dict", "s.jsonl", _spend(status={"x": 1}), r":1: status: .* is not text"),
    ("metadata-not-json", "s.jsonl", _spend(metadata="{oops"), r":1: metadata: invalid JSON"),
    ("no-model-column", "u.csv", b"task,cost\nt,1\n", r":2: needs task and model; found columns cost, task"),
    ("no-price", "u.jsonl", b'{"task": "t", "model": "nowhere-xyz", "prompt_tokens": 5}\n',
     r":1: no cost and no price known for model 'nowhere-xyz'"),
    ("invalid-json-line", "u.jsonl", _jsonl() + b"{oops\n", r":2: the line: invalid JSON"),
    ("jsonl-list-line", "u.jsonl", b"[1, 2]\n", r":1: the line must be a JSON object, not list"),
    ("json-doc-number", "u.json", b"42", r": must be a JSON list of row objects"),
    ("json-doc-bad-row", "u.json", b'[{"task": "t", "model": "m", "cost": 1}, "row"]', r":\[1\]: must be a JSON obj"),
    ("json-doc-invalid", "u.json", b'[{"task": "t",\n oops}]', r":2: invalid JSON"),
    ("json-doc-nested-100k", "u.json", b"[" * 100_000 + b"]" * 100_000, r": nested deeper than JSON can be read"),
    ("json-doc-row-depth-40", "u.json", b"[" + _nested(40).strip() + b"]", r":\[0\]: the row: nested deeper than"),
    ("line-over-1MiB", "u.jsonl", _jsonl(note="x" * (1024 * 1024 + 10)), r":1: a line over 1 MiB"),
    ("jsonl-string-over-128KiB", "u.jsonl", _jsonl(note="x" * (200 * 1024)), r":1: note: over 128 KiB"),
    ("empty-file", "u.csv", b"", r": no usage rows"),
    ("header-only", "u.csv", CSV_HEAD, r": no usage rows"),
    ("non-utf8-jsonl-line-3", "u.jsonl", _jsonl() + _jsonl() + b'{"task": "\xc3\x28"}\n', r":3: not UTF-8"),
    ("non-utf8-json-doc", "u.json", b'[\n{"task": "\xe9"}]', r":2: not UTF-8"),
    # accepted, with the right figures
    ("bom-csv", "u.csv", b"\xef\xbb\xbf" + CSV_HEAD + b"t,m,0.1,5\n", ("ok", 0.1, 1)),
    ("bom-jsonl", "u.jsonl", b"\xef\xbb\xbf" + _jsonl() + _jsonl(), ("ok", 1.0, 2)),
    ("bom-json-doc", "u.json", b"\xef\xbb\xbf" + b'[{"task": "t", "model": "m", "cost": 0.5}]', ("ok", 0.5, 1)),
    ("crlf-csv", "u.csv", b"task,model,cost\r\nt,m,0.25\r\nt,m,0.25\r\n", ("ok", 0.5, 2)),
    ("integer-tags", "s.jsonl", _spend(request_tags=["task:triage", 7, 3.5]), ("ok", 0.25, 1)),
    ("cost-at-the-bound", "u.csv", CSV_HEAD + b"t,m,1000000,1\nt,m,1000000,1\n", ("ok", 2e6, 2)),
    ("extra-cells", "u.csv", CSV_HEAD + b"t,m,0.1,5,extra,more\n", ("ok", 0.1, 1)),
    ("field-of-127KiB", "u.csv", b"task,model,cost,note\nt,m,0.1," + b"x" * (127 * 1024) + b"\n", ("ok", 0.1, 1)),
    ("depth-32", "u.jsonl", _nested(32), ("ok", 1.0, 1)),
    ("unicode-task", "u.jsonl", _jsonl(task="триаж 🧾"), ("ok", 0.5, 1)),
    ("epoch-ms", "u.jsonl", _jsonl(timestamp=1_740_000_000_000) + _jsonl(timestamp=1_740_000_060_000), ("ok", 1.0, 2)),
]


@pytest.mark.parametrize("name, filename, content, expected", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_export_is_one_clean_error_or_the_right_figures(tmp_path, name, filename, content, expected):
    path = tmp_path / filename
    path.write_bytes(content)
    if isinstance(expected, tuple):
        result = audit(tmp_path / "no-project", source=path, recommendation=False)
        assert (result.spend, result.calls) == (pytest.approx(expected[1]), expected[2])
        json.loads(json.dumps(result.to_dict()), parse_constant=_no_constant)
        return
    with pytest.raises(UsageError) as caught:
        audit(tmp_path / "no-project", source=path, recommendation=False)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 400, message
    assert _matches(expected, message[len(str(path)):]), message


def test_the_table_tries_at_least_thirty_hostile_inputs():
    assert len(CASES) >= 30
    assert sum(isinstance(c[3], str) for c in CASES) >= 30


def _matches(pattern: str, text: str) -> bool:
    import re

    return re.match(pattern, text) is not None


def _no_constant(name: str):
    raise AssertionError(f"{name} in the JSON output")


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(Path(__file__).parents[2]), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin"}
    return subprocess.run([sys.executable, "-m", "harness.cli", "audit", "--project", str(tmp_path), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name", ["latency_s-abc", "non-utf8-csv", "nested-100k", "metadata-list", "cost-1e308"])
def test_through_the_cli_a_hostile_export_exits_2_with_one_line(tmp_path, name):
    _, filename, content, expected = next(c for c in CASES if c[0] == name)
    path = tmp_path / filename
    path.write_bytes(content)
    proc = _cli(tmp_path, "--from", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}") and _matches(expected, line[len(f"error: {path}"):]), line


def test_skip_bad_skips_and_counts_the_bad_rows_and_the_json_stays_valid(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes(CSV_HEAD + b"t,m,0.5,10\nt,m,-1,10\nt,m,1000000,abc\nt,m,1000000,20\n")
    proc = _cli(tmp_path, "--from", str(path), "--skip-bad", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout, parse_constant=_no_constant)
    assert (doc["calls"], doc["spend"]) == (2, 1000000.5)
    (note,) = doc["notes"]
    assert note.startswith(f"skipped 2 bad rows (--skip-bad); the first: {path}:3: cost: -1 is outside"), note
    path.write_bytes(CSV_HEAD + b"t,m,-1,10\n")
    proc = _cli(tmp_path, "--from", str(path), "--skip-bad")
    assert proc.returncode == 2 and "no usage rows (every row was bad)" in proc.stderr


def test_more_rows_than_the_bound_is_one_error_even_when_skipping(tmp_path, monkeypatch):
    monkeypatch.setattr(_read, "MAX_ROWS", 5)
    path = tmp_path / "u.jsonl"
    path.write_bytes(_jsonl() * 6)
    with pytest.raises(UsageError, match=r"u.jsonl: more than 5 rows; fix: audit a shorter period"):
        _read.read_usage(path, skip_bad=True)
    path.write_bytes(_jsonl() * 5)
    assert len(_read.read_usage(path).rows) == 5


def test_a_json_document_past_its_bound_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(_read, "MAX_JSON_BYTES", 1000)
    path = tmp_path / "u.json"
    path.write_bytes(b"[" + b",".join([b'{"task": "t", "model": "m", "cost": 1}'] * 40) + b"]")
    with pytest.raises(UsageError, match=r"u.json: a JSON document over .*; fix: export JSONL"):
        _read.read_usage(path)
