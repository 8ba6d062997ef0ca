"""Where a client order stands among replayed liquidity: the `risk_averse` and `prob` models.

As hftbacktest's risk-averse model: an order joins behind everything displayed at its price
when it arrives (the replayed size plus the client orders already there). Only recorded trades
at its price move it forward (by their amount); a recorded depth update that leaves less than
that ahead of it moves it up to the displayed size (what was ahead cannot be more than what is
there). A trade at its price with more than the queue ahead fills it by the excess; a trade
printing through its price (a sell below a bid, a buy above an ask) fills it whole.

`prob` (hftbacktest's ProbQueueModel with its power function, n = 3): a decrease of the
displayed size is split between the part ahead of the order and the part behind it, more of it
ahead the more there is ahead: with front = ahead, back = displayed before - front and
p = back^3 / (back^3 + front^3), the new ahead is
front - (1 - p) * decrease + min(back - p * decrease, 0), never more than the new displayed size.
Trades move it as in risk_averse. Computed in integers (floor division), so it is deterministic.

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


def prob_on_depth(ahead: int, before: int, after: int, power: int = 3) -> int:
    """`prob`: the queue ahead after a recorded update of the level from `before` to `after`."""
    decrease = before - after
    if decrease <= 0:
        return clamp_to_depth(ahead, after)
    front = ahead
    back = max(before - front, 0)
    weight_back, weight_front = back**power, front**power
    total = weight_back + weight_front
    if total == 0:
        return clamp_to_depth(0, after)
    at_front = decrease * weight_front // total  # (1 - p) * decrease
    at_back = decrease - at_front  # p * decrease
    estimate = front - at_front + min(back - at_back, 0)
    return clamp_to_depth(max(estimate, 0), after)


def prints_through(order_is_buy: bool, order_price: int, trade_price: int) -> bool:
    """A trade at a price strictly worse than the order's for its maker: it fills the order whole."""
    return trade_price < order_price if order_is_buy else trade_price > order_price


def at_price(order_price: int, trade_price: int) -> bool:
    return order_price == trade_price


QUEUE_MODELS = ("risk_averse", "prob")

__all__ = ["QUEUE_MODELS", "at_price", "clamp_to_depth", "fill_at_price", "prints_through", "prob_on_depth"]
