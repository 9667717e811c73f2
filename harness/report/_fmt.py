"""Number formatting shared by the HTML and Markdown reports (one place, so they agree); dollars,
percentages and confidence levels are harness/fmt.py's, as every command writes them."""

from __future__ import annotations

from ..fmt import level as confidence
from ..fmt import missing, money, pct, signed_money

__all__ = ["FILTERS", "bound", "confidence", "missing", "money", "ms", "number", "pct", "score", "signed_money"]


def score(value: float | None, digits: int = 3) -> str:
    return "–" if missing(value) else f"{value:.{digits}f}"


def bound(value: float | None, digits: int = 3) -> str:
    """A lower confidence bound, rounded down as every command words one (harness.util.below): a
    bound of 0.8496 shows as 0.849, never as a 0.850 that reads as clearing a 0.85 bar."""
    from ..util import below

    return "–" if missing(value) else below(value, digits)


def ms(value: float | None) -> str:
    if missing(value):
        return "–"
    return f"{value:.2f} ms" if value < 1 else f"{value:,.0f} ms"


def number(value: float | None, digits: int = 0) -> str:
    return "–" if missing(value) else f"{value:,.{digits}f}"


FILTERS = {"money": money, "score": score, "bound": bound, "pct": pct, "ms": ms, "number": number,
           "confidence": confidence, "signed_money": signed_money}
