"""Dollars and percentages as Tierwise writes them for a reader, in one place.

Each style of dollars has its reader, and the commands keep them apart on purpose:

    money         a price or a cost (reports, recommend): two decimals from ten cents up, two
                  significant digits below ($12.50, $0.046, $0.0012)
    spend         money spent or projected over a month (audit): whole dollars from $100, cents
                  from $1, three significant digits below, a power of ten under a tenth of a cent
    call_cost     one call's cost compared between runs (diff): every digit to a millionth
    budget        a run's budget and the calls it stops at: four decimals, four significant
                  digits below a cent (so a small estimate is not "$0.0000")
    cents         dollars and cents, thousands grouped ($1,234.50)
    price         a catalog price as the user or LiteLLM set it ($0.15, $1e-07)

Percentages: `pct` for a rate or a share (0.034 → "3.4%", digits and sign as asked); `level`
for a confidence level, which keeps every digit the user wrote (0.95 → "95%", 0.975 → "97.5%").
A missing value (None or NaN) is written as the caller's `missing` mark.
"""

from __future__ import annotations

import math
from typing import Any


def missing(value: Any) -> bool:
    """None or NaN: a figure that was not measured."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None, missing_mark: str = "unpriced") -> str:
    """Dollars: two decimals from ten cents up, two significant digits below ($0.046, $0.0012)."""
    if missing(value):
        return missing_mark
    if value == 0:
        return "$0"
    if abs(value) >= 0.1:
        return cents(value)
    rounded = float(f"{value:.2g}")
    digits = -math.floor(math.log10(abs(rounded))) + 1
    return f"${rounded:.{digits}f}"


def signed_money(value: float | None) -> str:
    """A saving: positive is money saved, negative (with a minus sign) money spent."""
    if missing(value):
        return "–"
    return money(value) if value >= 0 else "−" + money(-value)


def spend(value: float | None, missing_mark: str = "-") -> str:
    """Money spent: $1,234 from $100, $12.34 from $1, three significant digits below, $1.20e-04
    under a tenth of a cent."""
    if missing(value):
        return missing_mark
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return cents(value)
    return f"${value:.3g}" if abs(value) >= 0.001 else f"${value:.2e}"


def call_cost(value: float | None, missing_mark: str = "—") -> str:
    """One call's cost to a millionth of a dollar, trailing zeros dropped ($0.000125)."""
    if missing(value):
        return missing_mark
    return f"${value:.6f}".rstrip("0").rstrip(".") if value else "$0"


def budget(value: float) -> str:
    """Four decimals, four significant digits below a cent ($1.2500, $0.001235)."""
    return f"${value:.4f}" if abs(value) >= 0.01 or value == 0 else f"${value:.4g}"


def cents(value: float) -> str:
    """Dollars and cents, thousands grouped ($1,234.50)."""
    return f"${value:,.2f}"


def price(value: float) -> str:
    """A price as it was set, in its shortest form ($0.15, $1e-07)."""
    return f"${value:g}"


def pct(value: float | None, digits: int = 1, missing_mark: str = "–", signed: bool = False) -> str:
    """A rate or a share as a percentage with `digits` decimals (signed: "+12%")."""
    if missing(value):
        return missing_mark
    return f"{value:{'+' if signed else ''}.{digits}%}"


def level(value: float, places: int = 6) -> str:
    """A confidence level with the digits it has, up to `places` decimals of a percent (95%, 97.5%)."""
    return f"{round(value * 100, places):g}%"


def plural(count: int, noun: str) -> str:
    """"1 cascade", "3 cascades": a count with its noun (regular plurals only)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
