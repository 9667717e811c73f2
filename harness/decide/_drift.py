"""Drift alarms on the incumbent: anytime-valid sequential tests with a stated false-alarm rate.

The claim. Each monitor watches one stream of production calls and raises an alarm at the first
call where its e-process reaches 1/alpha. If production still behaves as the evaluation did,

    P(the monitor ever raises an alarm, over the whole stream) <= alpha,

however long the stream and however often it is looked at (after every call is fine), because
each statistic is bounded by a nonnegative (super)martingale with mean <= 1 and Ville's inequality
bounds the chance that it ever reaches 1/alpha. An alarm is sticky: it says "since call N".

Rate monitors (`rate_monitor`: contract failures, fallbacks, escalations, cascade deferrals). The
null is "production's rate is at most the evaluated rate". The evaluation saw k0 events in n0 cases,
so the evaluated rate is itself uncertain; plugging in k0/n0 would alarm whenever the evaluation
happened to be lucky. Procedure: p0 = the one-sided Clopper-Pearson upper bound of k0/n0 at
1 - alpha/2, then the one-sided beta-binomial mixture martingale of Howard et al. (2021) (the one
_live.py uses, checked against confseq) against "rate <= p0" at alpha/2. A false alarm needs either
the true evaluated rate above p0 (probability <= alpha/2) or the martingale crossing although the
production rate is at most p0 (<= alpha/2, Ville): the union is <= alpha. The martingale needs no
i.i.d. assumption: it stays a supermartingale whenever every call's event probability given the
past is at most p0, so bursts and daily cycles under the evaluated rate do not alarm.

Label-mix monitor (`label_monitor`). The null is "production's outputs are drawn from the same
label distribution as the golden set's" (give it the incumbent's outputs on the golden set, or the
expected labels), the mix itself known only through the golden sample. Procedure: for each of the K
categories (the task's choices and `(other)`), two rate monitors as above, each at alpha / (2K):
one on "this label's share rose" (events: the label), one on "it fell" (events: any other label,
against the golden count of the others). The union bound keeps P(any of the 2K alarms) <= alpha,
and the alarm names the label that moved.

Alternatives rejected. Universal inference (Wasserman, Ramdas & Balakrishnan 2020) on the whole
mix, DM(G) DM(P_t) / max_q q(G, P_t) with Dirichlet-multinomial mixtures: valid with the golden
mix unknown, but it pays about (K - 1)/2 (log n0 + log t) nats before any evidence counts: with 200
golden labels of 3 choices (0.5/0.3/0.2) and the mix moving to 0.3/0.3/0.4 after 1,000 calls, its
log e-value was still -6 at 4,000 calls (an alarm needs +3.0); the per-label monitors raised the
alarm at call 2,814 ("c rose"). A chi-square test re-run after every call: its level holds at one
pre-chosen n only; looked at as calls arrive its false-alarm rate grows without bound. The golden
mix taken as known (a one-sample multinomial martingale): the golden set is a small sample, so small
golden sets would alarm on the sampling noise of the golden set itself (benchmarks/shadow.py
measures the plug-in rate monitor's false alarms beside this one's). CUSUM / Page's test: needs the
post-change distribution, and its guarantee is an average run length, not a false-alarm probability.

Limits. The label null is a strong one: a golden set built balanced (equal labels), or drawn from
another period, differs from traffic from day one, and the monitor says so; that alarm is real (the
golden set does not represent traffic) but the fix is adding production cases, not re-evaluating.
A small golden set bounds what can be seen: the baseline is its upper bound, so a
rate must rise past what the golden set could not rule out (2 contract failures in 100 cases allow
up to 0.07 at alpha = 0.05). Each test is over the whole stream since the evaluation, so after a long
quiet stretch a change must outweigh it before it shows (the delay grows with the change's start;
benchmarks/shadow.py measures it); restarting the monitors at each re-evaluation keeps the stretch
short. A mixture over change points (restarted martingales weighted to sum to 1, still <= alpha)
would remove that growth; not built yet. Categories are fixed
in advance (the task's choices and an "other" bucket); adding a category after looking breaks the
guarantee. Several monitors on one task each keep their own alpha; an alarm on any of m monitors
has a false-alarm probability of at most m alpha (state alpha per monitor, or divide it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special as _sp

from ._live import T_OPT, mixture_log_wealth

OTHER = "(other)"
FIXES = {"rate": "re-evaluate the task (tierwise run) and check the provider and the prompt",
         "labels": "add recent production cases to the golden set, then re-evaluate"}


@dataclass(frozen=True)
class MonitorState:
    """One monitor's state after the calls seen so far; `text` is the line audit shows."""

    monitor: str
    n: int                    # production calls seen
    observed: float           # production rate (rate monitors) or total variation from the golden mix
    baseline: float           # p0 (rate monitors) or 0.0 (label mix)
    log_e: float              # the e-process's log value after the last call
    alpha: float              # the stated false-alarm rate
    alarm: bool
    since: int | None         # the call (1-based) at which the alarm was first raised
    text: str
    fix: str
    rose: tuple[str, ...] = ()  # label mix: the labels whose share rose past its test (audit --sample)


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _first_crossing(log_e: np.ndarray, alpha: float) -> int | None:
    hit = np.flatnonzero(log_e >= math.log(1 / alpha))
    return int(hit[0]) + 1 if len(hit) else None


def clopper_pearson_upper(events: int, n: int, confidence: float) -> float:
    """One-sided exact upper bound of a rate; 1.0 with no cases or when every case was an event."""
    if n == 0 or events >= n:
        return 1.0
    return float(_sp.betaincinv(events + 1, n - events, confidence))


def rate_monitor(events: Sequence[bool | int], baseline_events: int, baseline_n: int, alpha: float,
                 monitor: str = "rate", t_opt: float = T_OPT) -> MonitorState:
    """Has the rate of `events` (1 = the event, in call order) risen above the evaluated rate?

    P(an alarm while every call's rate is at most the evaluated one) <= alpha (see the module).
    """
    _check_alpha(alpha)
    if baseline_n < 0 or not 0 <= baseline_events <= baseline_n:
        raise ValueError(f"need 0 <= baseline_events <= baseline_n, got {baseline_events}, {baseline_n}")
    x = np.asarray(events, dtype=float).reshape(-1)
    if np.any((x != 0) & (x != 1)):
        raise ValueError("events must be 0/1 outcomes")
    p0 = clopper_pearson_upper(baseline_events, baseline_n, 1 - alpha / 2)
    n = len(x)
    log_e = np.full(n, -math.inf)
    if n and p0 < 1.0:
        t = np.arange(1, n + 1)
        # e = M / 2: at e >= 1/alpha the martingale M has reached 1/(alpha/2)
        log_e = mixture_log_wealth(np.cumsum(x), t, p0, t_opt, alpha / 2) - math.log(2)
    since = _first_crossing(log_e, alpha)
    rate = float(x.mean()) if n else math.nan
    seen = f"{int(x.sum())}/{n} = {rate:.3f}" if n else "no calls yet"
    evaluated = f"{baseline_events}/{baseline_n} evaluated (at most {p0:.3f})"
    if since is not None:
        text = f"ALARM since call {since}: {monitor} {seen} against {evaluated}"
    else:
        text = f"ok: {monitor} {seen} against {evaluated}"
    last = float(log_e[-1]) if n else -math.inf
    return MonitorState(monitor, n, rate, p0, last, alpha, since is not None, since, text, FIXES["rate"])


def label_monitor(labels: Sequence[str], golden_labels: Sequence[str], categories: Sequence[str],
                  alpha: float, monitor: str = "label mix") -> MonitorState:
    """Does production's label mix differ from the golden set's? Labels outside `categories`
    count as one more category, `(other)`. P(an alarm while both come from one mix) <= alpha."""
    _check_alpha(alpha)
    cats = list(dict.fromkeys(categories))
    if not cats:
        raise ValueError("categories must not be empty")
    index = {c: i for i, c in enumerate(cats)}
    other = len(cats)

    def codes(xs: Sequence[str]) -> np.ndarray:
        return np.array([index.get(v, other) for v in xs], dtype=int)

    k = len(cats) + 1
    gold = np.bincount(codes(golden_labels), minlength=k)
    n0 = int(gold.sum())
    prod = codes(labels)
    n = len(prod)
    names = cats + [OTHER]
    level = alpha / (2 * k)
    fired: list[tuple[int, str, MonitorState]] = []
    best: MonitorState | None = None
    for i in range(k):
        hit = prod == i
        for way, events, base in (("rose", hit, int(gold[i])), ("fell", ~hit, n0 - int(gold[i]))):
            state = rate_monitor(events.astype(float), base, n0, level, f"{names[i]} {way}")
            if state.alarm:
                fired.append((state.since or 0, f"{names[i]} {way}", state))
            if best is None or state.log_e > best.log_e:
                best = state
    gold_share = gold / n0 if n0 else np.full(k, 1 / k)
    prod_share = np.bincount(prod, minlength=k) / n if n else gold_share
    tv = float(0.5 * np.abs(prod_share - gold_share).sum())
    moved = sorted(range(k), key=lambda i: -abs(prod_share[i] - gold_share[i]))[:2]
    shift = ", ".join(f"{names[i]} {gold_share[i]:.0%} -> {prod_share[i]:.0%}" for i in moved)
    log_e = best.log_e + math.log(level / alpha) if best is not None else -math.inf  # on the alpha scale
    if fired:
        since, what, _ = min(fired, key=lambda f: f[0])
        text = f"ALARM since call {since}: {monitor} differs from the golden set's ({what}; {shift}; n={n})"
        rose = tuple(w[:-len(" rose")] for _, w, _ in sorted(fired, key=lambda f: f[0]) if w.endswith(" rose"))
        return MonitorState(monitor, n, tv, 0.0, log_e, alpha, True, since, text, FIXES["labels"], rose)
    text = (f"ok: {monitor} over {n} calls is consistent with the golden set's (largest moves: {shift})"
            if n else f"ok: {monitor}: no calls yet")
    return MonitorState(monitor, n, tv, 0.0, log_e, alpha, False, None, text, FIXES["labels"])
