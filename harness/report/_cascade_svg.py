"""A cascade's quality and cost against its deferral threshold, as an inline SVG string.

One chart per cascade decided down a confidence grid (decide/_cascade.py): x is the grid, in testing
order (most deferring first: the first stage answers only when its confidence is at least the
threshold), spaced evenly since the grid is dense near 1; the left axis is the cascade's mean score
at each threshold, with the task's bar dashed, a filled point where the fixed-sequence chain
certified it and an open one where it did not; the right axis is its cost per 1,000 calls (a dashed
line). The chosen threshold (the last certified point) is ringed, with a whisker down to its lower
bound. Every text is escaped here; each point's title says its figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..decide import Decision
from ._fmt import money as _money
from ._svg import H, W, X0, Y0, Y1, _e, _nice_ceiling, _YScale  # the task chart's frame and score scale
from ..util import below

X1 = W - 72  # room on the right for the cost axis


@dataclass
class CascadeChart:
    name: str
    svg: str
    chosen: float | None   # the chosen threshold, None when nothing was certified


def cascade_charts(d: Decision) -> list[CascadeChart]:
    """A chart per cascade with a grid of two or more points (one without a grid is one point: its
    line in the text says all)."""
    return [CascadeChart(c["name"], cascade_svg(d, c), c["threshold"] if c["qualifies"] else None)
            for c in d.cascades if len(c.get("curve") or []) > 1]


def cascade_svg(d: Decision, row: dict) -> str:
    curve = row["curve"]
    n = len(curve)
    xs = [X0 + 24 + j * (X1 - X0 - 48) / (n - 1) for j in range(n)]
    means = [p["mean"] for p in curve]
    ys = _YScale([m for m in means if m is not None] + [d.threshold, row["lower"]])
    costs = [p["cost_per_call"] * 1000 if p["cost_per_call"] is not None else None for p in curve]
    top = _nice_ceiling(max([c for c in costs if c is not None] or [0.0]) * 1.08) or 1.0

    def cy(cost: float) -> float:
        return Y1 - cost / top * (Y1 - Y0)

    aria = (f"quality and cost of cascade {row['name']} against its deferral threshold; "
            + "; ".join(f"{p['threshold']:g}: mean {p['mean']:.3f}, {_money(c)} per 1,000 calls"
                        + (", certified" if p["certified"] else "")
                        for p, c in zip(curve, costs) if p["mean"] is not None and c is not None))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart cascade" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="{_e(aria)}">', f'<rect class="plot" x="{X0}" y="{Y0}" width="{X1 - X0}" height="{Y1 - Y0}"/>']
    for t in ys.ticks():
        y = ys(t)
        out.append(f'<line class="grid" x1="{X0}" x2="{X1}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{X0 - 6}" y="{y + 4:.1f}" text-anchor="end">{t:.2f}</text>')
    for k in range(6):
        value = top * k / 5
        out.append(f'<text class="tick cost" x="{X1 + 6}" y="{cy(value) + 4:.1f}">{_e(_money(value))}</text>')
    for x, p in zip(xs, curve):
        out.append(f'<text class="tick" x="{x:.1f}" y="{Y1 + 16}" text-anchor="middle">{p["threshold"]:g}</text>')
    out.append(f'<text class="axis" x="{(X0 + X1) / 2:.0f}" y="{H - 14}" text-anchor="middle">deferral threshold '
               f'(the first stage answers at confidence ≥ it; most deferring first)</text>'
               f'<text class="axis" transform="translate(16 {(Y0 + Y1) / 2:.0f}) rotate(-90)" text-anchor="middle">'
               f'mean score</text>'
               f'<text class="axis cost" transform="translate({W - 8} {(Y0 + Y1) / 2:.0f}) rotate(90)" '
               f'text-anchor="middle">cost per 1,000 calls (dashed)</text>')
    bar = ys(d.threshold)
    out.append(f'<line class="threshold" x1="{X0}" x2="{X1}" y1="{bar:.1f}" y2="{bar:.1f}"/>'
               f'<text class="threshold-label" x="{X0 + 4}" y="{bar - 5:.1f}">threshold {d.threshold:g}</text>')
    cost_pts = [(x, cy(c)) for x, c in zip(xs, costs) if c is not None]
    if cost_pts:
        out.append('<polyline class="cost-line" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in cost_pts) + '"/>')
    mean_pts = [(x, ys(m)) for x, m in zip(xs, means) if m is not None]
    out.append('<polyline class="frontier" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in mean_pts) + '"/>')
    for x, p, c in zip(xs, curve, costs):
        if p["mean"] is None:
            continue
        y = ys(p["mean"])
        tip = (f"threshold {p['threshold']:g}: mean {p['mean']:.3f}, first stage defers {p['deferral_rate']:.1%}, "
               f"{_money(c) if c is not None else 'unpriced'} per 1,000 calls; "
               + ("certified" if p["certified"] else "not certified"))
        group = [f'<g class="cand"><title>{_e(tip)}</title>']
        chosen = row["qualifies"] and p["threshold"] == row["threshold"]
        if chosen:
            low = ys(row["lower"])
            group += [f'<line class="whisker" x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{low:.1f}"/>',
                      f'<line class="whisker" x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{low:.1f}" y2="{low:.1f}"/>',
                      f'<circle class="ring" cx="{x:.1f}" cy="{y:.1f}" r="10"/>']
        if c is not None:
            group.append(f'<rect class="cost-pt" x="{x - 3:.1f}" y="{cy(c) - 3:.1f}" width="6" height="6"/>')
        group.append(f'<circle class="pt {"ok" if p["certified"] else "short"}" cx="{x:.1f}" cy="{y:.1f}" r="5"/></g>')
        out.append("".join(group))
        if chosen:
            label = f"chosen: lower bound {below(row['lower'])}"
            ly = y - 16 if y - 16 >= Y0 + 12 else ys(row["lower"]) + 16  # above the ring, else below the whisker
            anchor = "end" if x + len(label) * 3.2 > X1 else "middle"
            out.append(f'<g class="labels"><text class="label rec" x="{x:.1f}" y="{ly:.1f}" '
                       f'text-anchor="{anchor}">{_e(label)}</text></g>')
    out.append("</svg>")
    return "".join(out)
