"""The bound against the number of cases: for each candidate near the bar, how its lower
confidence bound narrowed as cases came in, beside the bar it has to clear (inline SVG, drawn
here on the server, every text escaped).

The path. A candidate's cases in the order their results were stored (a case's score is the
mean of its repeats, failed calls 0, as the decision scores them); at up to MAX_POINTS case
counts k, the one-sided lower bound of the first k cases by the decision's method, at the level
the decision shows this candidate's bound at (1 − Holm's level for it; where Holm stopped
before reaching it, 1 − (1 − confidence) / the number of candidates, as decide/_selection
does): exact (Clopper-Pearson) for pass/fail scores, so the last point is the decision's bound;
bootstrap otherwise (BOOT_RESAMPLES resamples at each of at most BOOT_POINTS counts, to keep a
page load bounded; the decision's own bootstrap differs, so its bound is marked apart). The
running mean is drawn beside it.

What the figure does not claim. Each point is the bound a decision made at that k would have
used; read as a path it is not a confidence sequence (looking at every k and stopping when it
first clears the bar would spend the error rate many times over — `--adaptive` does that with
an anytime-valid bound instead). The decision's own bound is marked at the end: for a judged
task it is corrected by people's verdicts (docs/judges.md), for an adaptive run it is the
anytime bound, and the caption says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

MAX_CHARTS = 6          # candidates drawn per task: the nearest the bar (the rest are listed)
MAX_POINTS = 40         # case counts per path, pass/fail scores
BOOT_POINTS = 12        # case counts per path, continuous scores
BOOT_RESAMPLES = 2000
W, H = 360, 220
X0, X1, Y0, Y1 = 44, W - 14, 14, H - 40
# Okabe-Ito: distinguishable with the common colour-vision deficiencies
QUALIFIES, SHORT, MEAN, BAR = "#0072B2", "#D55E00", "#999999", "#000000"


@dataclass
class BoundPath:
    model: str
    ks: list[int]
    lower: list[float]
    mean: list[float]
    confidence: float            # the level the path is computed at
    method: str                  # exact | bootstrap
    decision_lower: float        # the decision's bound for this candidate (marked at the last k)
    decision_method: str
    qualifies: bool
    threshold: float
    needed: int | None = None    # cases that clear the bar with 80% power at the current mean (pass/fail)
    decision_mean: float = math.nan  # the decision's mean and n for this candidate (what its Why says)
    decision_n: int = 0
    human_labels: int = 0        # human verdicts the decision's bound is corrected by

    @property
    def n(self) -> int:
        return self.ks[-1] if self.ks else 0


@dataclass
class BoundFigure:
    svg: str
    caption: str
    path: BoundPath


def bound_figures(d: Any, rows: Any) -> tuple[list[BoundFigure], list[str]]:
    """(a figure per candidate nearest the bar, at most MAX_CHARTS; "model (why)" for those not drawn)."""
    scored = [c for c in d.candidates if c.n and rows is not None and len(rows)]
    scored.sort(key=lambda c: abs(c.lower - d.threshold))
    figures, skipped = [], [f"{c.model} (not evaluated)" for c in d.candidates if not c.n]
    for c in scored:
        if len(figures) >= MAX_CHARTS:
            skipped.append(f"{c.model} (further from the bar)")
            continue
        scores = case_scores(rows[rows["model"] == c.model])
        if not len(scores):
            skipped.append(f"{c.model} (no current results)")
            continue
        path = bound_path(c, scores, d.threshold, d.confidence, len(d.family) or len(d.candidates))
        figures.append(BoundFigure(bound_svg(path), caption(path), path))
    return figures, skipped


def case_scores(rows: Any) -> Any:
    """Each case's score in the order the cases' first results were stored (the decision's unit:
    the mean of a case's repeats, a failed call 0)."""
    ordered = rows.sort_values("id", kind="stable") if "id" in rows else rows
    return ordered["score"].fillna(0.0).clip(0, 1).groupby(ordered["case_id"], sort=False).mean().to_numpy(dtype=float)


def bound_path(c: Any, scores: Any, threshold: float, task_confidence: float, family: int = 1) -> BoundPath:
    """The candidate's bound at up to MAX_POINTS (BOOT_POINTS) prefixes of its cases, at the level
    its bound is shown at by the decision: Holm's level for it, or, where Holm stopped before
    reaching it, (1 − confidence) / the family's size (decide/_selection.select)."""
    import numpy as np

    from ..decide import cases_needed, stats

    level = c.level if c.level is not None else (1 - task_confidence) / max(1, family)
    confidence = 1 - level
    binary = stats.is_binary(scores)
    n = len(scores)
    ks = _counts(n, MAX_POINTS if binary else BOOT_POINTS)
    cums = np.cumsum(scores)
    lower = []
    for k in ks:
        if binary:
            lower.append(stats.lower_bound(scores[:k], confidence).lower)
        else:
            lower.append(stats.bootstrap_lower(scores[:k], confidence, n_resamples=BOOT_RESAMPLES))
    path = BoundPath(c.model, ks, lower, [float(cums[k - 1] / k) for k in ks], confidence,
                     "exact" if binary else "bootstrap", float(c.lower), c.method or "", bool(c.qualifies), threshold,
                     decision_mean=float(c.mean), decision_n=int(c.n), human_labels=int(c.human_labels or 0))
    mean = float(scores.mean())
    if binary and not c.qualifies and mean > threshold:
        path.needed = cases_needed(threshold, confidence, mean)
    return path


def _counts(n: int, points: int) -> list[int]:
    """Up to `points` case counts from 1 to n, evenly spaced, n always last."""
    if n <= points:
        return list(range(1, n + 1))
    return sorted({max(1, round(n * i / points)) for i in range(1, points + 1)})


def caption(p: BoundPath) -> str:
    """The figure's text alternative: what it shows, in words. It leads with the decision's own
    figures for the candidate, written as the decision's "Why" writes them (decide/_rule.py's
    _why: a bound short of the bar rounded down, the level in per cent, mean and n), so the caption
    and the Why never disagree; then what the line drawn is, where it differs."""
    from ..util import below

    state = "clears" if p.qualifies else "falls short of"
    shown = f"{p.decision_lower:.3f}" if p.qualifies else below(p.decision_lower)
    how = (f"the judge's grades corrected by {p.human_labels} human verdicts" if p.human_labels
           else "the adaptive run's anytime bound" if p.decision_method.startswith("anytime") else p.decision_method)
    words = (f"{p.model}: the decision's lower bound {shown} at {_pct(p.confidence)} ({how}) {state} the bar "
             f"{p.threshold:g} (mean {p.decision_mean:.3f}, n={p.decision_n})")
    same = not p.human_labels and p.decision_method == p.method and p.n == p.decision_n
    if not same:
        drawn = "from the judge's grades alone" if p.human_labels else f"by the {p.method} method"
        words += (f". The line is the bound {drawn}: {p.lower[-1]:.3f} after {p.n} cases (mean {p.mean[-1]:.3f}); "
                  f"the ring marks the decision's")
    if p.needed is not None:
        words += f"; at its current mean about {p.needed:,} cases would clear it with 80% power"
    elif not p.qualifies and p.mean[-1] <= p.threshold:
        words += "; its mean is at or below the bar, so more cases will not lift it"
    return words + "."


def bound_svg(p: BoundPath) -> str:
    """The figure: x the number of cases, y the score; the bar dashed, the bound solid, the mean grey."""
    lo = _floor(min([p.threshold, p.decision_lower, *p.mean] + [v for v in p.lower if v > 0]) - 0.1)
    top = max(p.n, p.needed) if p.needed is not None and p.needed <= 3 * p.n else p.n

    def x(k: float) -> float:
        return X0 + (X1 - X0) * (k / top if top else 0)

    def y(v: float) -> float:
        return Y1 - (Y1 - Y0) * (max(lo, min(1.0, v)) - lo) / (1.0 - lo)

    colour = QUALIFIES if p.qualifies else SHORT
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bound-chart" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="{escape(caption(p))}">', f"<title>{escape(caption(p))}</title>"]
    for v in _ticks(lo):
        out.append(f'<line x1="{X0}" x2="{X1}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                   f'<text x="{X0 - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">{v:.1f}</text>')
    for k in _xticks(top):
        out.append(f'<text x="{x(k):.1f}" y="{Y1 + 14}" text-anchor="middle" class="tick">{k:,}</text>')
    out.append(f'<text x="{(X0 + X1) / 2:.0f}" y="{H - 6}" text-anchor="middle" class="axis">cases</text>')
    out.append(f'<line x1="{X0}" x2="{X1}" y1="{y(p.threshold):.1f}" y2="{y(p.threshold):.1f}" stroke="{BAR}" '
               f'stroke-dasharray="5 4" class="bar"/><text x="{X1}" y="{y(p.threshold) - 4:.1f}" '
               f'text-anchor="end" class="tick">bar {p.threshold:g}</text>')
    if p.needed is not None and p.needed <= top:
        out.append(f'<line x1="{x(p.needed):.1f}" x2="{x(p.needed):.1f}" y1="{Y0}" y2="{Y1}" stroke="{colour}" '
                   f'stroke-dasharray="1 3" class="needed"/>')
    out.append(_line([(x(k), y(v)) for k, v in zip(p.ks, p.mean)], MEAN, "mean", 1.2))
    out.append(_line([(x(k), y(v)) for k, v in zip(p.ks, p.lower)], colour, "lower", 2.2))
    end = x(p.n)
    out.append(f'<circle cx="{end:.1f}" cy="{y(p.decision_lower):.1f}" r="5" fill="none" stroke="{colour}" '
               f'stroke-width="2" class="decision"/>')
    out.append(f'<text x="{X0 + 4}" y="{Y0 + 10}" class="name">{escape(p.model)}</text>')
    out.append("</svg>")
    return "".join(out)


def _line(points: list[tuple[float, float]], colour: str, cls: str, width: float) -> str:
    if len(points) == 1:
        (px, py), = points
        return f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour}" class="{cls}"/>'
    d = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(points))
    return f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}" class="{cls}"/>'


def _floor(v: float) -> float:
    return max(0.0, math.floor(v * 10) / 10)


def _ticks(lo: float) -> list[float]:
    step = 0.1 if 1 - lo <= 0.5 else 0.2
    out, v = [], 1.0
    while v >= lo - 1e-9:
        out.append(round(v, 1))
        v -= step
    return out


def _xticks(n: int) -> list[int]:
    if n <= 0:
        return []
    raw = n / 4
    mag = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), 10 * mag)
    return [int(k) for k in range(0, n + 1, int(step))]


def _pct(confidence: float) -> str:
    return f"{round(confidence * 100, 4):g}%"
