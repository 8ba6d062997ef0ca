"""How an engine order or trigger reads in DigiFinex terms (shared by REST and WebSocket).

Order status: 0 unfilled, 1 partially filled, 2 filled, 3 cancelled unfilled, 4 cancelled
partially filled. Order `type` on REST joins side and kind (`buy`, `sell_market`, ...), as
DigiFinex does. A market buy is sized by the quote it may spend, so it has no base `amount`
(reported as 0, like DigiFinex's own pushes) and its `cash_amount` is that budget.

Trigger (order_algo) status: -2 failed, -1 cancelled (or expired), 0 waiting (or disabled by its
owner: it still exists and can be re-enabled), 1 triggering, 2 done. The engine places the order
in the same step that fires the trigger, so "triggering" is never observable here.
"""

from __future__ import annotations

from typing import Final

from sandex.core import events as ev
from sandex.core.commands import BUY, MARKET
from sandex.core.markets import Market
from sandex.core.numbers import LEDGER_DECIMALS, format_trimmed

UNFILLED: Final = 0
PARTIAL: Final = 1
FILLED: Final = 2
CANCELLED_UNFILLED: Final = 3
CANCELLED_PARTIAL: Final = 4

_ALGO_STATUS: Final = {
    ev.T_WAITING: 0,
    ev.T_DISABLED: 0,
    ev.T_TRIGGERED: 2,
    ev.T_CANCELLED: -1,
    ev.T_EXPIRED: -1,
    ev.T_FAILED: -2,
}


def order_status(order: ev.OrderEvent) -> int:
    status = order.status
    if status == ev.FILLED:
        return FILLED
    if status == ev.CANCELLED:
        return CANCELLED_PARTIAL if order.filled else CANCELLED_UNFILLED
    return PARTIAL if order.filled else UNFILLED


def is_closed(order: ev.OrderEvent) -> bool:
    return order.status == ev.FILLED or order.status == ev.CANCELLED


def algo_status(trigger: ev.TriggerEvent) -> int:
    return _ALGO_STATUS.get(trigger.status, -2)


def rest_type(side: str, kind: str) -> str:
    return f"{side}_market" if kind == MARKET else side


def is_market_buy(order: ev.OrderEvent) -> bool:
    return order.kind == MARKET and order.side == BUY


def average_price(market: Market, filled: int, filled_value: int) -> str:
    """Average fill price, rounded down to price + amount precision places ("0" before a fill).

    filled_value / filled is exact in the value scale only when it divides; extra places keep
    the average honest without ever printing a float.
    """
    if not filled:
        return "0"
    extra = market.amount_precision
    return format_trimmed(filled_value * 10**extra // filled, market.price_precision + extra)


def order_amount(market: Market, order: ev.OrderEvent) -> str:
    return "0" if is_market_buy(order) else format_trimmed(order.amount, market.amount_precision)


def cash_amount(market: Market, order: ev.OrderEvent) -> str:
    """The order's quote size: price x amount for a limit order, the budget of a market buy,
    the quote received so far for a market sell."""
    if order.kind == MARKET:
        if order.side == BUY:
            return format_trimmed(order.quote_amount, LEDGER_DECIMALS)
        return format_trimmed(order.filled_value, market.value_decimals)
    return format_trimmed(order.price * order.amount, market.value_decimals)
