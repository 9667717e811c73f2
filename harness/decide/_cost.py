"""Which candidate is cheaper: costs per call, their spread, and a stable rule for ties.

A token or per-call price gives every call of a case the same exact cost. A `per_hour` price
varies: a local model's call costs what its tokens take at the model's rate (models/_pricing.py),
so its mean cost per call depends on which cases were evaluated, and a self-hosted endpoint's
call costs its wall time, which moves with the machine. A "cheapest" that flips on a small
difference in either is not a decision. So each per_hour-priced candidate carries a spread, the
half-width of a two-sided 95 % Student-t confidence interval for its mean cost per call (over
the calls of the evaluation), and candidates whose intervals overlap are a tie.

The claim: under independent calls, the interval covers the candidate's expected cost per call
with probability about 95 % (the t interval is exact for normal costs and close for the skewed
costs of real calls at n >= 30: benchmarks/cost_ties.py measures its coverage). Declaring
"A is cheaper than B" only when the intervals do not overlap is stricter than a 5 % test of
the difference (non-overlap of two 95 % intervals of equal width is p < 0.006), so an order
the rule states is rarely an accident of the measurement.

The tie rule: among tied candidates the one with the smaller weights file first (it needs
less compute per token on any machine: decode is bound by reading the weights; a python: rule
has none), then a known size before an unknown one (an API model's), then the better mean
score, then the smaller adjusted p-value, then the name; all of them figures that do not move
with machine load. Ties chain from the cheapest: a candidate joins the group of the
cheapest not yet placed when its interval overlaps that candidate's interval, so each group is
settled before the next one starts and the order is a total order.

Rejected: rounding costs to a fixed number of digits (a cost near a rounding edge still flips);
a fixed relative tolerance (10 % is noise for one measurement and a real difference for another).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    import pandas as pd

    from ._decision import CandidateResult

CONFIDENCE = 0.95


def cost_spread(costs: Sequence[float], compute_priced: bool) -> float:
    """Half-width of the 95 % t interval for the mean cost per call (0.0 for an exact price,
    or fewer than two calls' worth of compute measurements)."""
    values = [float(c) for c in costs if c is not None and not math.isnan(c)]
    if not compute_priced or len(values) < 2:
        return 0.0
    from scipy import stats

    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)


def spread_of(rows: pd.DataFrame, compute_priced: bool) -> float:
    """`cost_spread` over a candidate's result rows (a DataFrame slice): its answered calls' costs."""
    if not compute_priced or "cost" not in rows:
        return 0.0
    return cost_spread(rows.loc[rows["error"].isna(), "cost"].tolist(), compute_priced)


def cost_order_key(results: Sequence[CandidateResult]) -> Callable[[CandidateResult], tuple]:
    """A sort key ordering `results` cheapest first, with costs within each other's spread tied and the tie
    broken by the rule in this module's docstring. Unknown costs sort last, by name."""
    known = sorted((r for r in results if r.cost_per_call is not None), key=lambda r: (r.cost_per_call, r.model))
    group_of: dict[str, int] = {}
    group, leader_high = -1, -math.inf
    for r in known:
        low = r.cost_per_call - (r.cost_spread or 0.0)
        if low > leader_high:  # no overlap with the current group's first member: a new group
            group += 1
            leader_high = r.cost_per_call + (r.cost_spread or 0.0)
        group_of[r.model] = group
    last = group + 1

    def key(r: CandidateResult) -> tuple:
        size = r.weights_bytes
        mean = r.mean if r.mean == r.mean else -math.inf
        adjusted = r.adjusted_p
        return (group_of.get(r.model, last), size is None, size or 0, -mean,
                math.inf if adjusted is None or adjusted != adjusted else adjusted, r.model)

    return key


def tie_note(results: Sequence[CandidateResult], best: CandidateResult) -> str:
    """One line when `best` was chosen from a tie on cost ("" otherwise), for the decision's notes."""
    key = cost_order_key(results)
    tied = [r for r in results if r is not best and r.cost_per_call is not None and key(r)[0] == key(best)[0]]
    if not tied:
        return ""
    names = ", ".join(r.model for r in sorted(tied, key=key))
    return (f"cost tie: {best.model} and {names} cost the same within their measured spread "
            f"(95 % intervals overlap); the smaller weights file, then the better mean, then the name decides")
