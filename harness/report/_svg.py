"""The cost-vs-quality chart of one task, as an inline SVG string (no JS chart library).

x is cost per 1,000 calls (log scale when the priced candidates span two decades or more;
free candidates then sit in their own column at the left edge), y is the mean score with the
one-sided lower bound drawn as a whisker below it. The threshold is a dashed line, the
Pareto frontier (cheapest candidate for each quality level) a step line, the recommended
candidate a ring and the current one a square. Every text is escaped here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from ..decide import Decision
from ._fmt import money as _money
from ..util import below

W, H = 680, 360
X0, X1, Y0, Y1 = 64, W - 20, 16, H - 52   # the plot area
FREE_X = X0 + 18                           # the column of zero-cost candidates on a log axis
CHAR_W, LABEL_H = 6.4, 13                  # label box estimate at 11px


@dataclass
class Point:
    model: str
    cost: float          # per 1,000 calls
    mean: float
    lower: float
    qualifies: bool
    recommended: bool
    current: bool
    tip: str


@dataclass
class Chart:
    svg: str
    plotted: list[str] = field(default_factory=list)
    not_plotted: list[str] = field(default_factory=list)   # "model (why)"
    log: bool = False


def cost_quality_chart(d: Decision) -> Chart:
    """The chart for one decision; candidates without results or price are listed, not drawn."""
    points, skipped = _points(d)
    if not points:
        return Chart(_empty(d), [], skipped)
    xs = _XScale([p.cost for p in points])
    ys = _YScale([p.lower for p in points] + [p.mean for p in points] + [d.threshold])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {W} {H}" role="img" '
             f'aria-label="{_e(_aria(d, points))}">']
    parts += _axes(xs, ys)
    parts += _threshold(d.threshold, ys)
    parts += _frontier(points, xs, ys)
    parts += _marks(points, xs, ys, d.threshold)
    parts.append("</svg>")
    return Chart("".join(parts), [p.model for p in points], skipped, xs.log)


def _points(d: Decision) -> tuple[list[Point], list[str]]:
    points, skipped = [], []
    for c in d.candidates:
        if not c.n:
            skipped.append(f"{c.model} (not evaluated{'' if c.available else '; not available here'})")
            continue
        if c.cost_per_call is None:
            skipped.append(f"{c.model} (no price)")
            continue
        status = "qualifies" if c.qualifies else f"falls short: {c.why_not}"
        tip = (f"{c.model} — mean {c.mean:.3f}, lower bound {below(c.lower)} (n={c.n}), "
               f"{_money(c.cost_per_call * 1000)} per 1,000 calls; {status}")
        points.append(Point(c.model, c.cost_per_call * 1000, c.mean, c.lower, c.qualifies,
                            c.model == d.recommended, c.model == d.current_model, tip))
    return points, skipped


class _XScale:
    def __init__(self, costs: list[float]):
        positive = [c for c in costs if c > 0]
        self.free = any(c <= 0 for c in costs)
        lo, hi = (min(positive), max(positive)) if positive else (0.0, 0.0)
        self.log = bool(positive) and hi / lo >= 100
        if self.log:
            self.lo, self.hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi))
            self.start = FREE_X + 46 if self.free else X0 + 12
        else:
            self.lo, self.hi = 0.0, _nice_ceiling(hi * 1.08) if hi > 0 else 1.0
            self.start = X0 + 12

    def __call__(self, cost: float) -> float:
        if self.log:
            if cost <= 0:
                return FREE_X
            span = math.log10(self.hi) - math.log10(self.lo)
            return self.start + (math.log10(cost) - math.log10(self.lo)) / span * (X1 - 10 - self.start)
        return self.start + (cost - self.lo) / (self.hi - self.lo) * (X1 - 10 - self.start)

    def ticks(self) -> list[float]:
        if self.log:
            return [10 ** e for e in range(round(math.log10(self.lo)), round(math.log10(self.hi)) + 1)]
        step = _nice_step(self.hi / 5)
        return [i * step for i in range(int(self.hi / step + 1e-9) + 1)]


class _YScale:
    def __init__(self, values: list[float]):
        low = min(values)
        self.lo = max(0.0, math.floor((low - 0.02) * 10) / 10)
        self.hi = 1.0

    def __call__(self, value: float) -> float:
        return Y1 - (value - self.lo) / (self.hi - self.lo) * (Y1 - Y0)

    def ticks(self) -> list[float]:
        step = 0.05 if self.hi - self.lo <= 0.3 else (0.1 if self.hi - self.lo <= 0.6 else 0.2)
        count = int(round((self.hi - self.lo) / step))
        return [round(self.lo + i * step, 4) for i in range(count + 1)]


def _axes(xs: _XScale, ys: _YScale) -> list[str]:
    out = [f'<rect class="plot" x="{X0}" y="{Y0}" width="{X1 - X0}" height="{Y1 - Y0}"/>']
    for t in ys.ticks():
        y = ys(t)
        out.append(f'<line class="grid" x1="{X0}" x2="{X1}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{X0 - 6}" y="{y + 4:.1f}" text-anchor="end">{t:.2f}</text>')
    for t in xs.ticks():
        x = xs(t)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{Y0}" y2="{Y1}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{Y1 + 16}" text-anchor="middle">{_e(_money(t))}</text>')
    if xs.log and xs.free:
        out.append(f'<text class="tick" x="{FREE_X}" y="{Y1 + 16}" text-anchor="middle">$0</text>'
                   f'<line class="break" x1="{FREE_X + 23}" x2="{FREE_X + 23}" y1="{Y0}" y2="{Y1}"/>')
    title = "cost per 1,000 calls" + (" (log scale)" if xs.log else "")
    out.append(f'<text class="axis" x="{(X0 + X1) / 2:.0f}" y="{H - 14}" text-anchor="middle">{title}</text>'
               f'<text class="axis" transform="translate(16 {(Y0 + Y1) / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">mean score (whisker: lower bound)</text>')
    return out


def _threshold(threshold: float, ys: _YScale) -> list[str]:
    y = ys(threshold)
    return [f'<line class="threshold" x1="{X0}" x2="{X1}" y1="{y:.1f}" y2="{y:.1f}"/>']


def frontier(points: list[Point]) -> list[Point]:
    """Pareto frontier: candidates no other candidate beats on both cost and mean."""
    out: list[Point] = []
    for p in sorted(points, key=lambda p: (p.cost, -p.mean, p.model)):
        if not out or p.mean > out[-1].mean:
            out.append(p)
    return out


def _frontier(points: list[Point], xs: _XScale, ys: _YScale) -> list[str]:
    front = frontier(points)
    path = f"M{xs(front[0].cost):.1f},{ys(front[0].mean):.1f}"
    for p in front[1:]:
        path += f" H{xs(p.cost):.1f} V{ys(p.mean):.1f}"
    # Past the best point, paying more buys no more quality: the step runs on to the edge.
    return [f'<path class="frontier" d="{path} H{X1}"/>']


def _marks(points: list[Point], xs: _XScale, ys: _YScale, threshold: float) -> list[str]:
    """Whiskers and markers, then every label on top, placed so that none covers another or a marker."""
    at = {p.model: (xs(p.cost), ys(p.mean)) for p in points}
    boxes = [(x - 7, y - 7, x + 7, y + 7) for x, y in at.values()]
    out, labels = [], []
    ty = ys(threshold)
    text = f"threshold {threshold:g}"
    width = len(text) * CHAR_W
    for left, base in ((X1 - 4 - width, ty - 5), (X1 - 4 - width, ty + 14), (X0 + 4, ty - 5), (X0 + 4, ty + 14)):
        box = (left, base - LABEL_H + 3, left + width, base + 3)
        if box[1] >= Y0 and box[3] <= Y1 and not any(_overlap(box, b) for b in boxes):
            break
    boxes.append(box)
    labels.append(f'<text class="threshold-label" x="{left:.1f}" y="{base:.1f}">{_e(text)}</text>')
    # The recommended label gets the first choice of place; markers are drawn with it on top.
    for p in sorted(points, key=lambda p: (not p.recommended, not p.qualifies, -p.mean)):
        x, y = at[p.model]
        label = p.model + (" — recommended" if p.recommended else "") + (" (current)" if p.current else "")
        lx, ly, anchor = _place(label, x, y, boxes)
        labels.append(f'<text class="label{" rec" if p.recommended else ""}" x="{lx:.1f}" y="{ly:.1f}" '
                      f'text-anchor="{anchor}">{_e(label)}</text>')
    for p in sorted(points, key=lambda p: (p.recommended, p.qualifies, p.mean)):
        (x, y), yl = at[p.model], ys(p.lower)
        cls = "pt ok" if p.qualifies else "pt short"
        group = [f'<g class="cand{" rec" if p.recommended else ""}"><title>{_e(p.tip)}</title>',
                 f'<line class="whisker" x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{yl:.1f}"/>',
                 f'<line class="whisker" x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{yl:.1f}" y2="{yl:.1f}"/>']
        if p.current:
            group.append(f'<rect class="current" x="{x - 8:.1f}" y="{y - 8:.1f}" width="16" height="16"/>')
        if p.recommended:
            group.append(f'<circle class="ring" cx="{x:.1f}" cy="{y:.1f}" r="10"/>')
        group.append(f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="5"/></g>')
        out.append("".join(group))
    return out + ['<g class="labels">'] + labels + ["</g>"]


def _place(label: str, x: float, y: float, boxes: list[tuple[float, float, float, float]]):
    """First label position (right, left, above, below, then stacked) that overlaps no other."""
    width = len(label) * CHAR_W
    tries = [(12, 4), (-12, 4), (0, -12), (0, 18)] + [(12, 4 + k * LABEL_H * s) for k in range(1, 6) for s in (1, -1)]
    for dx, dy in tries:
        anchor = "start" if dx > 0 else ("end" if dx < 0 else "middle")
        left = x + dx if dx > 0 else (x + dx - width if dx < 0 else x - width / 2)
        box = (left, y + dy - LABEL_H + 3, left + width, y + dy + 3)
        inside = box[0] >= X0 + 2 and box[2] <= X1 - 2 and box[1] >= Y0 and box[3] <= Y1
        if inside and not any(_overlap(box, b) for b in boxes):
            boxes.append(box)
            return x + dx, y + dy, anchor
    dx = -12 if x + 12 + width > X1 else 12
    return x + dx, y + 4, "end" if dx < 0 else "start"


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _empty(d: Decision) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart empty" viewBox="0 0 {W} 60" role="img" '
            f'aria-label="no candidate of {_e(d.task)} has priced results yet">'
            f'<text class="axis" x="{W / 2:.0f}" y="34" text-anchor="middle">'
            f'no candidate has priced results yet</text></svg>')


def _aria(d: Decision, points: list[Point]) -> str:
    parts = [f"{p.model}: mean {p.mean:.3f}, lower {p.lower:.3f}, {_money(p.cost)} per 1,000 calls" for p in points]
    return f"cost versus quality for {d.task}, threshold {d.threshold:g}; " + "; ".join(parts)


def _nice_step(raw: float) -> float:
    exp = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * exp:
            return m * exp
    return 10 * exp


def _nice_ceiling(value: float) -> float:
    step = _nice_step(value / 5)
    return math.ceil(value / step) * step


def _e(text: str) -> str:
    return escape(str(text), quote=True)
