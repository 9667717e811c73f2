"""Number formatting shared by the HTML and Markdown reports (one place, so they agree)."""

from __future__ import annotations

import math
from typing import Any


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None) -> str:
    """Dollars: two decimals from ten cents up, two significant digits below ($0.046, $0.0012)."""
    if missing(value):
        return "unpriced"
    if value == 0:
        return "$0"
    if abs(value) >= 0.1:
        return f"${value:,.2f}"
    rounded = float(f"{value:.2g}")
    digits = -math.floor(math.log10(abs(rounded))) + 1
    return f"${rounded:.{digits}f}"


def score(value: float | None, digits: int = 3) -> str:
    return "–" if missing(value) else f"{value:.{digits}f}"


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if missing(value) else f"{value:.{digits}%}"


def ms(value: float | None) -> str:
    if missing(value):
        return "–"
    return f"{value:.2f} ms" if value < 1 else f"{value:,.0f} ms"


def number(value: float | None, digits: int = 0) -> str:
    return "–" if missing(value) else f"{value:,.{digits}f}"


def confidence(value: float) -> str:
    return f"{round(value * 100, 6):g}%"


def signed_money(value: float | None) -> str:
    """A saving: positive is money saved, negative money spent."""
    if missing(value):
        return "–"
    return money(value) if value >= 0 else "−" + money(-value)


FILTERS = {"money": money, "score": score, "pct": pct, "ms": ms, "number": number,
           "confidence": confidence, "signed_money": signed_money}
