"""Live-traffic evidence: promotion error and calls needed; drift alarms' delay and false alarms.

Simulated production streams through the real procedures (harness/decide/_live.py and _drift.py).
Every stream is looked at after every call (the procedures replay the whole prefix sequence), so
"error" and "false alarm" are over the whole stream: the promise each must keep.

Promotion (margin = max_regression 0.03, confidence 0.95): a challenger disagreeing with the
incumbent at rate d, i.i.d. over calls. Printed per d: the share of streams promoted within the
stream (an error when d >= margin: must be <= 0.05) and, for d < margin, the calls needed to promote
(median and 90th percentile over the promoted streams).

Drift (alpha = 0.05 per monitor): each stream draws its own golden set (200 cases) and production
stream from the same process; "null" streams never change, "drift" streams change at call 1,000.
- contract failures: rate 0.02, rising to 0.10 (drift);
- label mix: three labels 0.5/0.3/0.2, moving to 0.3/0.3/0.4 (drift).
Printed: the false-alarm rate over null streams (must be <= 0.05), and over drift streams the share
detected and the delay after the change (median, 90th percentile). `plug-in baseline` is the
rejected alternative: the same martingale against the golden set's observed rate k0/n0 instead of
its upper bound, to show why the bound is needed.

Judged fails (an llm_judge task, harness/audit/_judge_monitor.py): the same rate monitor on the
judge's FAIL verdicts over the sampled calls, against the judge's FAIL count on a golden set of 100.
True fail rate 0.10, rising to 0.25 at judged call 1,000 (drift); the judge calls a good output a fail
with probability 0.05 and a bad one a pass with probability 0.20, on golden and live outputs alike
(the monitor's assumption). Delays are in judged calls (at the default judge_rate 0.05, twenty times
as many production calls). `judge harsher live` breaks the assumption (false fails 0.05 offline,
0.10 live, nothing else changed): the false-alarm rate it shows is the assumption's weight.

Pairwise (open-ended tasks, harness/decide/_live_pairwise.py; margin 0.10): each shadow pair is a
loss for the challenger with probability l (what a person would say). A simulated judge with a known
error rate sees it: it misses a loss (calls it a tie) with probability q_miss and calls a non-loss a
loss with probability q_false. 300 human verdicts on golden-set outputs drawn from the same process
give the judge's misses. Promoted when U_judge + U_miss < margin at some look (the route's rule:
`promotion` at the room the misses leave, which is U_judge's test). Printed per judge and l: the share
of streams promoted (an error when l >= margin: must be <= 0.05), the calls needed, and the
rejected alternative `judge alone` (U_judge < margin at alpha, no correction), whose error a lenient
judge drives far above the limit.

Through the real client (`client` section): a temporary project whose incumbent and challenger are
python rules (no network), the challenger disagreeing on a seeded 1 % of inputs, shadowed at rate 0.5;
the stored shadow_calls rows (Store.shadow_calls) are replayed through `promotion` as audit would.
Printed: calls made, shadow rows stored, observed disagreement, and where the challenger was promoted.

    python benchmarks/shadow.py [--streams 1000] [--calls 20000] [--seed 0] [--client-calls 3000]
    python benchmarks/shadow.py --smoke        # a few seconds: small counts, same code paths
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.decide._drift import label_monitor, rate_monitor  # noqa: E402
from harness.decide._live import disagreement_upper, mixture_log_wealth, promotion  # noqa: E402

MARGIN, CONFIDENCE, ALPHA = 0.03, 0.95, 0.05
RATES = (0.01, 0.02, 0.025, 0.03, 0.035)
GOLDEN_N, CHANGE_AT = 200, 1000
LABELS = ["billing", "technical", "account"]
MIX_BEFORE, MIX_AFTER = [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]
FAIL_BEFORE, FAIL_AFTER = 0.02, 0.10


def promotion_table(rng: np.random.Generator, streams: int, calls: int) -> list[dict]:
    rows = []
    for d in RATES:
        promoted, needed = 0, []
        for _ in range(streams):
            p = promotion(rng.random(calls) < d, MARGIN, CONFIDENCE)
            if p.promoted:
                promoted += 1
                needed.append(p.since)
        rows.append({"d": d, "promoted": promoted / streams, "needed": needed})
    return rows


PAIR_MARGIN, PAIR_LABELS = 0.10, 300
PAIR_RATES = (0.02, 0.05, 0.10, 0.12)
JUDGES = {"fair judge (miss 0.2, false 0.02)": (0.2, 0.02), "lenient judge (miss 0.5, false 0)": (0.5, 0.0)}


def pairwise_table(rng: np.random.Generator, streams: int, calls: int) -> list[dict]:
    """The pairwise route on simulated streams with a judge of known error (module docstring)."""
    half = 1 - (1 - CONFIDENCE) / 2
    rows = []
    for judge, (q_miss, q_false) in JUDGES.items():
        for loss in PAIR_RATES:
            counted = loss * (1 - q_miss) + (1 - loss) * q_false  # the judge's loss rate on the stream
            promoted = alone = 0
            needed = []
            for _ in range(streams):
                misses = int(rng.binomial(PAIR_LABELS, loss * q_miss))  # judge passed, person failed
                room = PAIR_MARGIN - disagreement_upper(misses, PAIR_LABELS, half)
                stream = rng.random(calls) < counted
                if room > 0:
                    p = promotion(stream, room, half)
                    if p.promoted:
                        promoted += 1
                        needed.append(p.since)
                alone += promotion(stream, PAIR_MARGIN, CONFIDENCE).promoted
            rows.append({"judge": judge, "loss": loss, "promoted": promoted / streams, "needed": needed,
                         "alone": alone / streams})
    return rows


def _plug_in_alarm(events: np.ndarray, k0: int, n0: int) -> bool:
    p0 = min(max(k0 / n0, 1e-6), 1 - 1e-6)
    t = np.arange(1, len(events) + 1)
    return bool(np.any(mixture_log_wealth(np.cumsum(events), t, p0, alpha_opt=ALPHA) >= math.log(1 / ALPHA)))


def drift_table(rng: np.random.Generator, streams: int, calls: int) -> dict[str, dict]:
    out = {k: {"null": 0, "detected": 0, "delays": []} for k in ("contract failures", "plug-in baseline", "label mix")}
    changed = np.arange(calls) >= CHANGE_AT
    for _ in range(streams):
        k0 = int(rng.binomial(GOLDEN_N, FAIL_BEFORE))
        null = (rng.random(calls) < FAIL_BEFORE).astype(float)
        drift = (rng.random(calls) < np.where(changed, FAIL_AFTER, FAIL_BEFORE)).astype(float)
        out["contract failures"]["null"] += rate_monitor(null, k0, GOLDEN_N, ALPHA).alarm
        out["plug-in baseline"]["null"] += _plug_in_alarm(null, k0, GOLDEN_N)
        state = rate_monitor(drift, k0, GOLDEN_N, ALPHA)
        _count(out["contract failures"], state.since)
        golden = list(rng.choice(LABELS, size=GOLDEN_N, p=MIX_BEFORE))
        out["label mix"]["null"] += label_monitor(list(rng.choice(LABELS, size=calls, p=MIX_BEFORE)), golden,
                                                  LABELS, ALPHA).alarm
        moved = np.where(changed[:, None], MIX_AFTER, MIX_BEFORE)
        labels = [LABELS[int(np.searchsorted(np.cumsum(p), u))] for p, u in zip(moved, rng.random(calls))]
        _count(out["label mix"], label_monitor(labels, golden, LABELS, ALPHA).since)
    for v in out.values():
        v["null"] /= streams
        v["detected"] /= streams
    return out


JUDGED_N, TRUE_FAIL, TRUE_FAIL_AFTER, FALSE_FAIL, FALSE_PASS = 100, 0.10, 0.25, 0.05, 0.20


def _judged_fail(true_fail: np.ndarray | float, false_fail: float = FALSE_FAIL) -> np.ndarray | float:
    """P(the judge says FAIL) for outputs whose true fail rate is `true_fail`."""
    return true_fail * (1 - FALSE_PASS) + (1 - true_fail) * false_fail


def judged_table(rng: np.random.Generator, streams: int, calls: int) -> dict[str, dict]:
    out = {k: {"null": 0, "detected": 0, "delays": []} for k in ("judged fails", "judge harsher live")}
    changed = np.arange(calls) >= CHANGE_AT
    for _ in range(streams):
        k0 = int(rng.binomial(JUDGED_N, _judged_fail(TRUE_FAIL)))
        null = (rng.random(calls) < _judged_fail(TRUE_FAIL)).astype(float)
        out["judged fails"]["null"] += rate_monitor(null, k0, JUDGED_N, ALPHA).alarm
        drift = rng.random(calls) < _judged_fail(np.where(changed, TRUE_FAIL_AFTER, TRUE_FAIL))
        _count(out["judged fails"], rate_monitor(drift.astype(float), k0, JUDGED_N, ALPHA).since)
        harsh = (rng.random(calls) < _judged_fail(TRUE_FAIL, 2 * FALSE_FAIL)).astype(float)
        out["judge harsher live"]["null"] += rate_monitor(harsh, k0, JUDGED_N, ALPHA).alarm
    for v in out.values():
        v["null"] /= streams
        v["detected"] /= streams
    return out


def _count(row: dict, since: int | None) -> None:
    if since is not None and since > CHANGE_AT:
        row["detected"] += 1
        row["delays"].append(since - CHANGE_AT)


CLIENT_RULES = """
import zlib

def incumbent(vars):
    return "billing" if zlib.crc32(vars["ticket"].encode()) % 2 else "technical"

def challenger(vars):
    right = incumbent(vars)
    if zlib.crc32(("d" + vars["ticket"]).encode()) % 100 == 0:   # a seeded 1 % of inputs
        return "account"
    return right
"""


def client_stream(calls: int) -> dict:
    """A stream through harness.Client with shadowing on; the promotion replayed from the store."""
    import json
    import tempfile

    import yaml

    from harness import Client
    from harness.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "evals").mkdir()
        (root / "golden_sets").mkdir()
        (root / "rules.py").write_text(CLIENT_RULES)
        config = {"store": "sqlite:///.tierwise/results.db",
                  "models": {"inc": {"python": "rules:incumbent"}, "chal": {"python": "rules:challenger"}},
                  "shadow": {"triage": {"challenger": "chal", "rate": 0.5, "queue": 1000}}}
        (root / "tierwise.yaml").write_text(yaml.safe_dump(config))
        spec = {"task": "triage", "golden_set": "golden_sets/triage.jsonl", "prompt": {"user": "{{ ticket }}"},
                "output": {"choices": LABELS}, "graders": [{"type": "exact"}], "threshold": 0.5,
                "max_regression": MARGIN, "candidates": ["inc", "chal"]}
        (root / "evals" / "triage.yaml").write_text(yaml.safe_dump(spec))
        (root / "golden_sets" / "triage.jsonl").write_text(
            json.dumps({"id": "c1", "vars": {"ticket": "x"}, "expected": "billing"}) + "\n")
        (root / "registry.yaml").write_text(yaml.safe_dump({"tasks": {"triage": {"model": "python:rules:incumbent"}}}))
        with Client(root, shadow_seed=0) as client:
            for i in range(calls):
                client.complete("triage", ticket=f"ticket {i}")
            client.shadow.drain(60)
            stats = client.shadow.stats()
        store = Store(f"sqlite:///{root / '.tierwise' / 'results.db'}")
        rows = store.shadow_calls("triage")
        store.close()
    verdict = promotion([not r["agree"] for r in rows], MARGIN, CONFIDENCE)
    return {"calls": calls, "stats": stats, "rows": len(rows), "promotion": verdict}


def _q(xs: list[int], q: float) -> str:
    return f"{np.percentile(xs, q):.0f}" if xs else "-"


def _alarm_table(table: dict[str, dict], rejected: str, delay: str, sigma3: float) -> bool:
    """Print a monitors' table; whether a monitor (not the `rejected` row) alarmed above ALPHA on null streams."""
    print(f"| monitor | false alarms (null) | detected (drift) | {delay}: median | p90 |")
    print("| --- | --- | --- | --- | --- |")
    failed = False
    for name, v in table.items():
        detected = "-" if name == rejected else f"{v['detected']:.3f}"
        print(f"| {name} | {v['null']:.3f} | {detected} | {_q(v['delays'], 50)} | {_q(v['delays'], 90)} |")
        failed |= name != rejected and v["null"] > ALPHA + sigma3
    return failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--drift-calls", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--client-calls", type=int, default=3000, help="calls through the real client (0: skip)")
    ap.add_argument("--smoke", action="store_true",
                    help="small counts: seconds, for the test suite")
    a = ap.parse_args(argv)
    if a.smoke:
        a.streams, a.calls, a.drift_calls, a.client_calls = 40, 3000, 3000, 400
    rng = np.random.default_rng(a.seed)
    began = time.perf_counter()
    limit = 1 - CONFIDENCE
    sigma3 = 3 * math.sqrt(limit * (1 - limit) / a.streams)
    print(f"promotion: margin {MARGIN}, confidence {CONFIDENCE}, {a.streams} streams of {a.calls} shadowed calls "
          f"(error limit {limit:.2f}; Monte Carlo 3 sigma {sigma3:.3f})")
    print("| disagreement | promoted | calls to promote: median | p90 |")
    print("| --- | --- | --- | --- |")
    failed = False
    for row in promotion_table(rng, a.streams, a.calls):
        tag = " (error)" if row["d"] >= MARGIN else ""
        print(f"| {row['d']:.3f} | {row['promoted']:.3f}{tag} | {_q(row['needed'], 50)} | {_q(row['needed'], 90)} |")
        failed |= row["d"] >= MARGIN and row["promoted"] > limit + sigma3
    print(f"\npairwise: margin {PAIR_MARGIN}, confidence {CONFIDENCE}, {PAIR_LABELS} human verdicts, "
          f"{a.streams} streams of {a.calls} judged pairs")
    print("| judge | loss rate | promoted | calls to promote: median | p90 | judge alone: promoted |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in pairwise_table(rng, a.streams, a.calls):
        tag = " (error)" if row["loss"] >= PAIR_MARGIN else ""
        print(f"| {row['judge']} | {row['loss']:.2f} | {row['promoted']:.3f}{tag} | {_q(row['needed'], 50)} | "
              f"{_q(row['needed'], 90)} | {row['alone']:.3f}{tag if row['alone'] else ''} |")
        failed |= row["loss"] >= PAIR_MARGIN and row["promoted"] > limit + sigma3
    print(f"\ndrift: alpha {ALPHA} per monitor, golden set {GOLDEN_N}, {a.streams} streams of {a.drift_calls} calls, "
          f"change at call {CHANGE_AT}")
    failed |= _alarm_table(drift_table(rng, a.streams, a.drift_calls), "plug-in baseline", "delay", sigma3)
    print(f"\njudged fails: alpha {ALPHA}, golden set {JUDGED_N}, {a.streams} streams of {a.drift_calls} judged calls, "
          f"true fail {TRUE_FAIL} -> {TRUE_FAIL_AFTER} at judged call {CHANGE_AT}; judge false fail {FALSE_FAIL}, "
          f"false pass {FALSE_PASS}")
    failed |= _alarm_table(judged_table(rng, a.streams, a.drift_calls), "judge harsher live", "delay in judged calls",
                           sigma3)
    if a.client_calls:
        c = client_stream(a.client_calls)
        st, p = c["stats"], c["promotion"]
        print(f"\nclient: {c['calls']} calls through harness.Client, shadow rate 0.5: {st.sampled} sampled, "
              f"{st.dropped} dropped, {c['rows']} shadow rows stored; disagreement {p.disagreements}/{p.n}")
        print(f"promotion replayed from the store: {p.text}")
        failed |= c["rows"] != st.called or c["rows"] == 0
    print(f"\n{time.perf_counter() - began:.1f} s")
    if failed:
        print("FAILED: an error or false-alarm rate is above its limit")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
