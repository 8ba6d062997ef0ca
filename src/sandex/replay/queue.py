"""Where a client order stands among replayed liquidity: the `risk_averse` queue model.

As hftbacktest's risk-averse model: an order joins behind everything displayed at its price
when it arrives (the replayed size plus the client orders already there). Only recorded trades
at its price move it forward (by their amount); a recorded depth update that leaves less than
that ahead of it moves it up to the displayed size (what was ahead cannot be more than what is
there). A trade at its price with more than the queue ahead fills it by the excess; a trade
printing through its price (a sell below a bid, a buy above an ask) fills it whole.

Pure and deterministic: plain integers, no engine.
"""

from __future__ import annotations


def fill_at_price(ahead: int, remaining: int, traded: int) -> tuple[int, int]:
    """A recorded trade of `traded` at the order's own price: (new queue ahead, amount filled)."""
    ahead -= traded
    if ahead >= 0:
        return ahead, 0
    return 0, min(-ahead, remaining)


def clamp_to_depth(ahead: int, displayed: int) -> int:
    """After a recorded update of the order's level to `displayed` (replayed size)."""
    return displayed if displayed < ahead else ahead


def prints_through(order_is_buy: bool, order_price: int, trade_price: int) -> bool:
    """A trade at a price strictly worse than the order's for its maker: it fills the order whole."""
    return trade_price < order_price if order_is_buy else trade_price > order_price


def at_price(order_price: int, trade_price: int) -> bool:
    return order_price == trade_price


__all__ = ["at_price", "clamp_to_depth", "fill_at_price", "prints_through"]
