"""Dollars and percentages as every command writes them (harness/fmt.py): each style pinned to
the text the commands printed before they shared one module."""

from __future__ import annotations

import math

import pytest

from harness import fmt

NAN = math.nan


@pytest.mark.parametrize("value, money, spend, call_cost", [
    (None, "unpriced", "-", "—"),
    (NAN, "unpriced", "-", "—"),
    (0, "$0", "$0", "$0"),
    (0.000012345, "$0.000012", "$1.23e-05", "$0.000012"),
    (0.00123, "$0.0012", "$0.00123", "$0.00123"),
    (0.046, "$0.046", "$0.046", "$0.046"),
    (0.1, "$0.10", "$0.1", "$0.1"),
    (12.5, "$12.50", "$12.50", "$12.5"),
    (1234.5, "$1,234.50", "$1,234", "$1234.5"),
])
def test_each_dollar_style_writes_what_its_command_wrote(value, money, spend, call_cost):
    assert (fmt.money(value), fmt.spend(value), fmt.call_cost(value)) == (money, spend, call_cost)


@pytest.mark.parametrize("value, text", [(0, "$0.0000"), (0.00123456, "$0.001235"), (0.0099, "$0.0099"),
                                         (0.01, "$0.0100"), (1.25, "$1.2500")])
def test_a_budget_keeps_four_significant_digits_below_a_cent(value, text):
    assert fmt.budget(value) == text


def test_a_saving_is_signed_and_a_price_is_written_as_it_was_set():
    assert (fmt.signed_money(0.046), fmt.signed_money(-0.046), fmt.signed_money(None)) == ("$0.046", "−$0.046", "–")
    assert (fmt.price(0.15), fmt.price(1e-07), fmt.price(2.5)) == ("$0.15", "$1e-07", "$2.5")
    assert fmt.cents(1234.5) == "$1,234.50"


@pytest.mark.parametrize("args, kwargs, text", [
    ((0.034,), {}, "3.4%"), ((0.034, 0), {}, "3%"), ((0.125, 0), {"signed": True}, "+12%"),
    ((-0.3, 0), {"signed": True}, "-30%"), ((None,), {}, "–"), ((NAN,), {"missing_mark": "-"}, "-"),
])
def test_percentages(args, kwargs, text):
    assert fmt.pct(*args, **kwargs) == text


def test_a_confidence_level_keeps_the_digits_it_has():
    assert (fmt.level(0.95), fmt.level(0.975), fmt.level(1 - 0.05 / 3, 4)) == ("95%", "97.5%", "98.3333%")
