"""`recommend --against MODEL`: the month's spend with one model everywhere, against the pick."""

from harness.decide import projected_against
from harness.decide._decision import CandidateResult, Decision
from harness.report import against_text


def decision(task, recommended, costs, volume):
    cands = [CandidateResult(model=m, target=m, provider="p", available=True, n=10 if c is not None else 0,
                             cost_per_call=c) for m, c in costs.items()]
    return Decision(task=task, threshold=0.9, confidence=0.95, status="recommend" if recommended else "no_qualifier",
                    current=None, current_model=None, recommended=recommended, fallbacks=[], entry=None,
                    changed=True, reason="", candidates=cands, monthly_volume=volume)


def test_saving_counts_tasks_with_a_volume_and_the_model_measured():
    decisions = [
        decision("a", "small", {"small": 0.001, "big": 0.004}, 1000),   # 4.00 -> 1.00
        decision("b", None, {"small": 0.001, "big": 0.002}, 500),       # nothing qualifies: keeps big, 1.00 -> 1.00
        decision("c", "rule", {"rule": 0.0, "big": 0.003}, None),       # no volume: left out
        decision("d", "small", {"small": 0.001, "big": None}, 100),     # big not measured: left out
    ]
    got = projected_against(decisions, "big")
    assert got.tasks == ["a", "b"] and got.left_out == ["c", "d"]
    assert abs(got.everywhere - 5.0) < 1e-9 and abs(got.recommended - 2.0) < 1e-9
    assert "$5.00/month → $2.00 recommended (60% less), over 2 tasks" in against_text(got)
    assert "left out" in against_text(got)


def test_nothing_to_compare_says_so():
    got = projected_against([decision("a", "small", {"small": 0.001}, 100)], "big")
    assert not got.tasks and "no task has both a volume and big's measured cost" in against_text(got)
