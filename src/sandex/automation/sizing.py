"""The arithmetic of copy trading, as pure functions on scaled integers.

Nothing here reads or changes engine state.
Rounding always favours the follower's limits: budgets and sell sizes round down, take-profit
triggers round up (never fire early), stop triggers round down.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.literals import BUY
from ..core.markets import Market
from .model import RATIO_ONE, BuySettings

HOUR_MS = 3_600_000


def apply_ratio(amount: int, ratio: int) -> int:
    """amount × ratio, rounded down (ratio in RATIO_ONE units)."""
    return amount * ratio // RATIO_ONE


def utc_hour(now_ms: int) -> int:
    return (now_ms // HOUR_MS) % 24


def in_hour_window(now_ms: int, start_hour: int, end_hour: int) -> bool:
    """Inclusive UTC window; start > end wraps past midnight (22..2 = 22,23,0,1,2)."""
    hour = utc_hour(now_ms)
    if start_hour <= end_hour:
        return start_hour <= hour <= end_hour
    return hour >= start_hour or hour <= end_hour


def within(value: int, low: int, high: int | None) -> bool:
    return value >= low and (high is None or value <= high)


def buy_budget(settings: BuySettings, target_value: int) -> int:
    """Quote (ledger scale) a copied buy spends for a target fill worth `target_value`.

    fixed_amount spends max_buy_amount; fixed_ratio the target's value × buy_ratio; follow_amount
    the target's value; the last two are capped by max_buy_amount.
    """
    if settings.amount_type == "fixed_amount":
        return settings.max_buy_amount
    if settings.amount_type == "fixed_ratio":
        return min(apply_ratio(target_value, settings.buy_ratio), settings.max_buy_amount)
    return min(target_value, settings.max_buy_amount)


def sell_size(
    amount_type: str, holding: int, target_sold: int, target_before: int, x_target_ratio: int
) -> int:
    """Base amount (market scale) a copied sell sells out of the follower's `holding`.

    `all` sells everything; `follow_ratio` the share of its holding the target just sold
    (target_sold / target_before); `x_target_ratio` that share times x_target_ratio (capped at all).
    """
    if amount_type == "all" or target_before <= 0:
        return holding
    if amount_type == "x_target_ratio":
        size = holding * target_sold * x_target_ratio // (target_before * RATIO_ONE)
    else:
        size = holding * target_sold // target_before
    return min(size, holding)


def estimate_fill(
    levels: Iterable[tuple[int, int]], market: Market, *, quote_budget: int = 0, base_amount: int = 0
) -> tuple[int, int]:
    """What a market order would fill against `levels` ((price, size) best first, as
    `Engine.liquidity` gives them) now: (base amount, value), market scales.

    A buy is sized by `quote_budget` (ledger scale) the way the engine sizes market buys (whole
    units of amount precision the remaining budget affords at each level); a sell by
    `base_amount`. Self-trade prevention is not modelled: it can only remove liquidity the
    follower itself provides.
    """
    per_unit = market.value_to_ledger
    filled = value = 0
    for price, size in levels:
        if quote_budget:
            remaining = quote_budget - value * per_unit
            quantity = min(remaining // (price * per_unit), size)
        else:
            quantity = min(base_amount - filled, size)
        if quantity <= 0:
            break
        filled += quantity
        value += quantity * price
    return filled, value


def slippage_exceeded(
    side: str, fill_amount: int, fill_value: int, ref_amount: int, ref_value: int, max_slippage: int
) -> bool:
    """Is the average price fill_value/fill_amount worse than the reference price
    ref_value/ref_amount by more than `max_slippage`? (Buys: higher; sells: lower.)"""
    if side == BUY:
        return fill_value * ref_amount * RATIO_ONE > ref_value * fill_amount * (RATIO_ONE + max_slippage)
    return fill_value * ref_amount * RATIO_ONE < ref_value * fill_amount * (RATIO_ONE - max_slippage)


def take_profit_price(base_value: int, base_amount: int, percent: int) -> int:
    """The price `percent` above the average base_value/base_amount, rounded up."""
    numerator = base_value * (RATIO_ONE + percent)
    denominator = base_amount * RATIO_ONE
    return -(-numerator // denominator)


def stop_price(base_value: int, base_amount: int, percent: int) -> int:
    """The price `percent` below the average base_value/base_amount, rounded down (0 = none)."""
    if percent >= RATIO_ONE:
        return 0
    return base_value * (RATIO_ONE - percent) // (base_amount * RATIO_ONE)


def trailing_price(peak: int, percent: int) -> int:
    """The trailing stop's trigger: `percent` below the highest price seen, rounded down."""
    if percent >= RATIO_ONE:
        return 0
    return peak * (RATIO_ONE - percent) // RATIO_ONE
