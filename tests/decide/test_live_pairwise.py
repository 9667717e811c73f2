"""Promotion of an open-ended task's shadow challenger by the blind pairwise judge
(decide/_live_pairwise.py, runner/_shadow_judging.py) through `recommend`, with python judges:
both orders asked, a split verdict a tie, judge failures counted, resume, the correction by human
verdicts, and the gate on the evidence written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.commands import recommend
from harness.decide import CLAIM_LIVE, CLAIM_OFFLINE, Misses, PairTally, pair_labels_needed, pairwise_bound, tally
from harness.project import load_project
from harness.registry import read_evidence
from harness.store import Store
from tests.shadowfix import store_pairs

N = 80  # golden cases; the challenger answers badly on every eighth

MODELS = '''
def big(vars):
    return f"good answer {vars['i']}"

def small(vars):
    return f"bad answer {vars['i']}" if vars["i"] % 8 == 0 else f"good answer {vars['i']}"
'''

JUDGES = '''
import json, os

def _log(v):
    with open(os.environ["TW_PAIR_LOG"], "a") as f:
        f.write(json.dumps(v) + "\\n")

def prefers_good(v):
    _log(v)
    a, b = "good" in v["A"], "good" in v["B"]
    return json.dumps({"reason": "judged", "winner": "tie" if a == b else "A" if a else "B"})

def always_a(v):
    _log(v)
    return json.dumps({"reason": "A reads better", "winner": "A"})

def chatty(v):
    _log(v)
    return "I think A."

def flaky(v):
    _log(v)
    if os.path.exists(os.environ["TW_PAIR_LOG"] + ".down"):
        raise RuntimeError("judge service down")
    return prefers_good(v)
'''


def _spec(judge: str, labels: bool = True) -> str:
    return f"""\
task: reply
golden_set: golden_sets/reply.jsonl
prompt:
  user: "Answer: {{{{ text }}}}"
graders:
  - {{type: pairwise, judge: judge-{judge}}}
threshold: 0.75
confidence: 0.95
max_regression: 0.15
candidates: [big, small]
""" + ("judge: {labels: labels/reply.jsonl}\n" if labels else "")


def _labels() -> str:
    """People agree with the judge on every output of both models (no misses)."""
    rows = []
    for i in range(N):
        rows.append({"case": f"c{i:03d}", "model": "big", "verdict": "pass"})
        rows.append({"case": f"c{i:03d}", "model": "small", "verdict": "fail" if i % 8 == 0 else "pass"})
    return "".join(json.dumps(r) + "\n" for r in rows)


def tierwise(root: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--project", str(root)])


@pytest.fixture
def make(tmp_path, monkeypatch):
    """A judged project run and written (big in the registry; small cheaper, short of the bar offline)."""
    log = tmp_path / "judge.log"
    monkeypatch.setenv("TW_PAIR_LOG", str(log))
    monkeypatch.syspath_prepend(str(tmp_path))

    def build(judge: str = "prefers_good", labels: bool = True):
        root = tmp_path / "p"
        (root / "evals").mkdir(parents=True)
        (root / "golden_sets").mkdir()
        (root / "labels").mkdir()
        models = {"big": {"python": "pairmodels:big", "price": {"per_call": 0.002}},
                  "small": {"python": "pairmodels:small", "price": {"per_call": 0.0001}},
                  **{f"judge-{j}": {"python": f"pairjudges:{j}"} for j in ("prefers_good", "always_a", "chatty", "flaky")}}
        (root / "tierwise.yaml").write_text(json.dumps({"store": "sqlite:///.tierwise/results.db",
                                                         "registry": "registry.yaml", "models": models}))
        (tmp_path / "pairmodels.py").write_text(MODELS)
        (tmp_path / "pairjudges.py").write_text(JUDGES)
        (root / "evals" / "reply.yaml").write_text(_spec(judge, labels))
        (root / "golden_sets" / "reply.jsonl").write_text("".join(
            json.dumps({"id": f"c{i:03d}", "vars": {"text": f"question {i}", "i": i}, "expected": f"good answer {i}"})
            + "\n" for i in range(N)))
        (root / "labels" / "reply.jsonl").write_text(_labels())
        (root / "registry.yaml").write_text("tasks: {}\n")
        assert tierwise(root, "run").exit_code == 0
        assert tierwise(root, "recommend", "--write").exit_code == 0
        log.write_text("")
        return load_project(root)
    return build


def judge_log(project) -> list[dict]:
    path = Path(project.root).parent / "judge.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


def shadow(project, losses: list[bool], capture: bool = True, start_id: int = 0):
    """One shadow pair per call (1 = the challenger's answer is the bad one), its input in the ledger."""
    store_pairs(project.store_url(), [({"text": f"question {i}", "i": i}, f"good answer {i}",
                                       f"{'bad' if bad else 'good'} reply {i}")
                                      for i, bad in enumerate(losses, start_id)],
                capture, start_id, target="python:pairmodels:big")


def decision(project):
    return recommend(load_project(project.root)).decisions[0]


def test_offline_the_challenger_lacks_the_cases_and_the_incumbent_qualifies(make):
    d = decision(make())
    assert d.recommended == "big" and d.claim == CLAIM_OFFLINE
    small = next(c for c in d.candidates if c.model == "small")
    assert not small.qualifies


def test_an_equal_challenger_is_promoted_on_judged_pairs_and_the_gate_accepts_it(make):
    project = make()
    shadow(project, [False] * 400)
    d = decision(project)
    assert (d.recommended, d.fallbacks, d.claim) == ("small", ["big"], CLAIM_LIVE)
    p = d.live["pairwise"]
    assert d.live["kind"] == "pairwise" and p["judged"] == 400 and p["ties"] == 400 and p["losses"] == 0
    assert p["labels"] == N and p["misses"] == 0
    assert d.live["upper"] == pytest.approx(p["judge_upper"] + p["miss_upper"]) and d.live["upper"] < 0.15
    assert "corrected by 80 human verdicts" in d.reason
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    live = read_evidence(load_project(project.root).registry_path).record("reply").live
    assert live.kind == "pairwise" and live.pairwise.judge == "judge-prefers_good" and live.calls == 400
    gate = tierwise(project.root, "gate")
    assert gate.exit_code == 0, gate.output
    assert "judged loss (corrected by 80 human verdicts) upper" in gate.output


def test_both_orders_are_asked_blind(make):
    project = make()
    shadow(project, [True, False])
    decision(project)
    asked = judge_log(project)
    assert sorted(a["order"] for a in asked) == ["AB", "AB", "BA", "BA"]
    first = [a for a in asked if "reply 0" in a["A"] + a["B"]]
    assert {(a["order"], a["A"], a["B"]) for a in first} == {("AB", "bad reply 0", "good answer 0"),
                                                              ("BA", "good answer 0", "bad reply 0")}
    assert {a["input"] for a in first} == {"Answer: question 0"}  # the call's input, from the ledger
    assert not any(name in json.dumps(a) for a in asked for name in ("small", "big"))  # no model is named


def test_a_worse_challenger_is_not_promoted(make):
    project = make()
    shadow(project, [i % 4 == 0 for i in range(400)])  # loses a quarter of the pairs
    d = decision(project)
    assert d.recommended == "big" and d.claim == CLAIM_OFFLINE
    note = next(n for n in d.notes if n.startswith("shadow small against big"))
    assert "100 losses" in note and "more shadowed pairs are needed" in note


def test_without_human_verdicts_nothing_is_promoted_and_the_note_says_what_to_add(make):
    project = make()
    labels = Path(project.root) / "labels" / "reply.jsonl"
    labels.write_text("".join(line + "\n" for line in labels.read_text().splitlines() if '"small"' not in line))
    shadow(project, [False] * 400)
    d = decision(project)
    assert d.recommended == "big" and d.claim == CLAIM_OFFLINE
    note = next(n for n in d.notes if n.startswith("shadow small against big"))
    assert "without human verdicts on small's outputs (0)" in note and "labels/reply.jsonl" in note
    assert "about" in note and "in all" in note


def test_a_split_verdict_is_a_tie(make):
    project = make(judge="always_a")  # prefers whichever answer is shown first: AB a win, BA a loss
    shadow(project, [True] * 5)
    decision(project)
    with Store(project.store_url()) as store:
        rows = store.shadow_calls("reply")
        (judge,) = {v["judge"] for v in _all_verdicts(store)}
        t = tally(rows, store.shadow_verdicts("reply", judge))
    assert (t.ties, t.losses, t.wins, t.judged) == (5, 0, 0, 5)


def _all_verdicts(store):
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM shadow_verdicts")).mappings()]


def test_a_judge_without_a_verdict_is_a_recorded_failure_counted_against_the_challenger(make):
    project = make(judge="chatty")
    shadow(project, [False] * 3)
    d = decision(project)
    assert any("3 judge failures, counted against the challenger" in n for n in d.notes)
    note = next(n for n in d.notes if n.startswith("shadow small against big"))
    assert "in 0 judged pairs, 3 judge failures" in note
    with Store(project.store_url()) as store:
        failed = _all_verdicts(store)
    assert len(failed) == 3 and all(v["outcome"] is None and "gave no verdict" in v["error"] for v in failed)


def test_a_failed_judge_is_asked_again_on_the_next_read(make, tmp_path):
    project = make(judge="flaky")
    down = tmp_path / "judge.log.down"
    down.write_text("")
    shadow(project, [False] * 3)
    decision(project)
    with Store(project.store_url()) as store:
        assert [v["outcome"] for v in _all_verdicts(store)] == [None] * 3
        assert all("judge service down" in v["error"] for v in _all_verdicts(store))
    down.unlink()
    d = decision(project)
    with Store(project.store_url()) as store:
        assert sorted(v["outcome"] for v in _all_verdicts(store)) == ["tie"] * 3  # replaced, one row a pair
    assert any("judged 3 new shadow pairs" in n and "failures" not in n for n in d.notes)


def test_a_second_read_judges_nothing_twice(make):
    project = make()
    shadow(project, [False, True, False])
    decision(project)
    calls = len(judge_log(project))
    assert calls == 6
    decision(project)
    assert len(judge_log(project)) == calls
    shadow(project, [True], start_id=3)
    d = decision(project)
    assert len(judge_log(project)) == calls + 2
    assert any("judged 1 new shadow pairs" in n for n in d.notes)


def test_verdicts_are_written_in_batches_not_one_transaction_each(make, monkeypatch):
    import harness.runner._judge_session as session

    monkeypatch.setattr(session, "VERDICT_BATCH", 4)
    monkeypatch.setattr(session, "FLUSH_S", 3600.0)  # no timed flush: a loaded machine must not add writes
    sizes: list[int] = []
    write = Store.write_shadow_verdicts
    monkeypatch.setattr(Store, "write_shadow_verdicts", lambda self, rows: sizes.append(len(rows)) or write(self, rows))
    project = make()
    shadow(project, [False] * 10)
    d = decision(project)
    assert sum(sizes) == 10 and sizes == [4, 4, 2]
    assert any("judged 10 new shadow pairs" in n for n in d.notes)


def test_a_slow_judges_verdict_is_written_within_a_flush_interval_not_at_the_end(make, monkeypatch):
    import asyncio

    import harness.runner._judge_session as session
    import harness.runner._shadow_judging as judging

    monkeypatch.setattr(session, "FLUSH_S", 0.05)
    judge_pair = judging._judge_pair
    seen: list[set] = []

    async def slow_second(task, grader, judging_, row, values, judge):
        if row["call_id"] == "k1":  # k0's verdict is had at once; this pair's judge takes its time
            await asyncio.sleep(0.5)
            with Store(project.store_url()) as store:
                seen.append({v["shadow_id"] for v in _all_verdicts(store)})
        return await judge_pair(task, grader, judging_, row, values, judge)

    monkeypatch.setattr(judging, "_judge_pair", slow_second)
    project = make()
    shadow(project, [False] * 2)
    decision(project)
    with Store(project.store_url()) as store:
        k0 = next(r["id"] for r in store.shadow_calls("reply") if r["call_id"] == "k0")
    assert seen == [{k0}]  # stored while the read was still judging


def test_a_read_that_crashes_keeps_every_verdict_it_had_and_the_next_judges_the_rest(make, monkeypatch):
    import harness.runner._shadow_judging as judging

    import asyncio

    judge_pair = judging._judge_pair
    had: list[int] = []

    async def crashing(task, grader, judging_, row, values, judge):
        verdict = await judge_pair(task, grader, judging_, row, values, judge)
        if row["call_id"] != "k5":
            had.append(row["id"])
            return verdict
        while len(had) < 7:  # the others' verdicts are had (and wait in the batch), then the read dies
            await asyncio.sleep(0.01)
        raise RuntimeError("the machine went down")

    monkeypatch.setattr(judging, "_judge_pair", crashing)
    project = make()
    shadow(project, [False] * 8)
    with pytest.raises(RuntimeError, match="the machine went down"):
        decision(project)
    with Store(project.store_url()) as store:
        kept = {v["shadow_id"] for v in _all_verdicts(store)}
    assert kept == set(had) and len(kept) == 7  # nothing had before the crash is lost
    asked = len(judge_log(project))
    monkeypatch.setattr(judging, "_judge_pair", judge_pair)
    d = decision(project)
    assert any("judged 1 new shadow pairs" in n for n in d.notes)  # only the pair without a verdict
    assert len(judge_log(project)) == asked  # and its judge's answers come from the cache: nothing is asked twice
    with Store(project.store_url()) as store:
        assert len(_all_verdicts(store)) == 8


def test_pairs_without_captured_text_are_not_judged(make):
    project = make()
    shadow(project, [False] * 4, capture=False)
    d = decision(project)
    assert judge_log(project) == []
    note = next(n for n in d.notes if n.startswith("shadow small against big"))
    assert "in 0 judged pairs" in note and "4 shadow pairs have no stored answers to judge" in note
    assert "capture=True" in note


def test_a_task_judged_without_a_pairwise_grader_says_what_to_add(make):
    project = make()
    spec = Path(project.root) / "evals" / "reply.yaml"
    spec.write_text(spec.read_text().replace("{type: pairwise, judge: judge-prefers_good}",
                                             "{type: llm_judge, rubric: 'Good?', judge: judge-prefers_good}"))
    shadow(project, [False] * 10)
    d = decision(project)
    note = next(n for n in d.notes if n.startswith("shadow small against big"))
    assert "none compares answers pairwise" in note and "add a `pairwise` grader" in note


# ---- the bound on counts -----------------------------------------------------------------------


def _tally(losses: int, n: int, judge_errors: int = 0) -> PairTally:
    stream = (1,) * (losses + judge_errors) + (0,) * (n - losses - judge_errors)
    return PairTally(n, n - judge_errors, 0, n - losses - judge_errors, losses, judge_errors, 0, 0, 0, stream)


def test_the_bound_adds_the_judges_misses_to_its_losses():
    from harness.decide import disagreement_upper

    b = pairwise_bound(_tally(4, 400), Misses(80, 1), 0.15, 0.95)
    assert b.judge_upper == pytest.approx(disagreement_upper(4, 400, 0.975))
    assert b.miss_upper == pytest.approx(disagreement_upper(1, 80, 0.975))
    assert b.upper == pytest.approx(b.judge_upper + b.miss_upper) and b.shown == (b.upper < 0.15)


def test_a_lenient_judge_cannot_promote_what_people_fail():
    # the judge calls every pair a tie, but people failed half the outputs it passed
    b = pairwise_bound(_tally(0, 5000), Misses(200, 100), 0.15, 0.95)
    assert not b.shown and b.miss_upper > 0.4


def test_judge_failures_count_against_the_challenger():
    rows = [{"id": i, "outcome": "ok", "output": "x", "incumbent_output": "y"} for i in range(4)]
    rows.append({"id": 4, "outcome": "error"})
    verdicts = {0: {"outcome": "win"}, 1: {"outcome": "tie"}, 2: {"outcome": None}}
    t = tally(rows, verdicts)
    assert (t.wins, t.ties, t.losses, t.judge_errors, t.challenger_errors, t.pending) == (1, 1, 0, 1, 1, 1)
    assert t.stream == (0, 0, 1, 1)


def test_labels_needed_is_where_the_bound_starts_to_clear():
    t = _tally(0, 2000)
    need = pair_labels_needed(t, Misses(0, 0), 0.15, 0.95)
    assert need is not None
    assert pairwise_bound(t, Misses(need, 0), 0.15, 0.95).shown
    assert not pairwise_bound(t, Misses(need - 1, 0), 0.15, 0.95).shown
    assert pair_labels_needed(_tally(300, 1000), Misses(0, 0), 0.15, 0.95) is None  # the judge's half alone fails


def _rewrite_live(project, **changes):
    """Edit the entry's live block and re-sign its digest, as someone editing the file with Tierwise's code might."""
    from harness.fingerprint import evidence_digest

    path = Path(project.root) / "registry.evidence.json"
    doc = json.loads(path.read_text())
    record = doc["tasks"]["reply"]
    for key, value in changes.items():
        target = record["live"]["pairwise"] if key in record["live"]["pairwise"] else record["live"]
        target[key] = value
    record["digest"] = evidence_digest(record)
    path.write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize("changes, why", [
    ({"upper": 0.05}, "live.upper 0.050 is below judge_upper + miss_upper"),
    ({"labels": 0, "misses": 0}, "0 human verdicts (0 misses) cannot correct the judge"),
    ({"losses": 7}, "do not add up to 0 counted against it"),
])
def test_the_gate_fails_pairwise_evidence_that_does_not_hold_together(make, changes, why):
    project = make()
    shadow(project, [False] * 400)
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    _rewrite_live(project, **changes)
    gate = tierwise(project.root, "gate")
    assert gate.exit_code == 1 and why in gate.output, gate.output


def test_audit_shows_no_agreement_claim_for_a_judged_task(make):
    project = make()
    shadow(project, [False] * 50)
    out = tierwise(project.root, "audit")
    assert "reply: shadow small: PENDING" in out.output and "disagree" not in out.output
    assert "non-inferior on live traffic" not in out.output


def _monitor(project) -> str:
    from harness.commands import audit

    (row,) = [m for m in audit(load_project(project.root)).monitors if m.monitor == "shadow small"]
    return row.line()


def test_audit_shows_the_judged_promotion_from_the_stored_verdicts(make):
    project = make()
    shadow(project, [False] * 400)
    assert tierwise(project.root, "recommend", "--write").exit_code == 0
    calls = len(judge_log(project))
    line = _monitor(project)
    assert len(judge_log(project)) == calls  # every pair had its verdict: audit judged nothing again
    assert line.startswith("reply: shadow small: PROMOTED: non-inferior on live traffic (judged loss < 0.15 at 95%) "
                           "against big: 0 losses, 400 ties, 0 wins in 400 judged pairs; loss upper bound ")
    assert f"(0 of {N} human verdicts) < 0.15 at 95%" in line and "PENDING" not in line
    live = read_evidence(load_project(project.root).registry_path).record("reply").live
    assert f"loss upper bound {live.upper:.3f} = judge {live.pairwise.judge_upper:.3f}" in line  # recommend's bound


def test_audit_shows_a_losing_challenger_pending_with_its_bound(make):
    project = make()
    shadow(project, [i % 4 == 0 for i in range(400)])
    line = _monitor(project)
    assert line.startswith("reply: shadow small: PENDING: against big: 100 losses, 300 ties, 0 wins in 400 judged pairs")
    assert ">= 0.15 at 95%" in line and "more shadowed pairs are needed" in line


def test_audit_counts_judge_failures_and_pairs_not_judged_yet(make, tmp_path):
    project = make(judge="flaky")
    (tmp_path / "judge.log.down").write_text("")
    shadow(project, [False] * 3)
    decision(project)  # three recorded judge failures
    shadow(project, [False] * 2, start_id=3)  # stored after the last read: not judged yet
    from harness.audit import live_monitors

    loaded = load_project(project.root)
    (row,) = live_monitors(loaded, loaded.store_url(), [])  # the monitor alone judges nothing
    assert row.state == "pending" and "in 0 judged pairs, 3 judge failures" in row.text
    assert "2 pairs not judged yet (`tierwise recommend` judges them)" in row.text
    assert len(judge_log(project)) == 3  # the first read only (one failed call a pair)


def test_audit_without_the_current_results_gets_no_credit_for_human_verdicts(make):
    project = make()
    shadow(project, [False] * 400)
    decision(project)
    from harness.audit import live_monitors

    loaded = load_project(project.root)
    (row,) = live_monitors(loaded, loaded.store_url(), [])
    assert row.state == "pending" and "(0 of 0 human verdicts)" in row.text and "without human verdicts" in row.text


def test_recommend_judges_from_inside_a_running_event_loop(make):
    import asyncio

    project = make()
    shadow(project, [False, True])

    async def in_a_notebook():
        return decision(project)

    d = asyncio.run(in_a_notebook())
    assert any("judged 2 new shadow pairs" in n for n in d.notes)
