"""Number formatting shared by the HTML and Markdown reports (one place, so they agree); dollars,
percentages and confidence levels are harness/fmt.py's, as every command writes them."""

from __future__ import annotations

from ..fmt import level as confidence
from ..fmt import missing, money, pct, signed_money

__all__ = ["FILTERS", "confidence", "missing", "money", "ms", "number", "pct", "score", "signed_money"]


def score(value: float | None, digits: int = 3) -> str:
    return "–" if missing(value) else f"{value:.{digits}f}"


def ms(value: float | None) -> str:
    if missing(value):
        return "–"
    return f"{value:.2f} ms" if value < 1 else f"{value:,.0f} ms"


def number(value: float | None, digits: int = 0) -> str:
    return "–" if missing(value) else f"{value:,.{digits}f}"


FILTERS = {"money": money, "score": score, "pct": pct, "ms": ms, "number": number,
           "confidence": confidence, "signed_money": signed_money}
