"""Hand-built engine events and a small order-flow model for the market-data tests.

The model is not a matching engine: it only produces OrderEvent sequences that obey the event
contract (absolute state, `resting` is what sits on the book now at `price`), which is all that
BookView relies on. It also keeps the brute-force truth: every resting order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hypothesis import strategies as st

from sandex.core.events import (
    CANCELLED,
    FILLED,
    OPEN,
    PARTIAL,
    R_AMENDED,
    R_CANCELLED,
    R_FILL,
    R_IOC,
    R_PLACED,
    OrderEvent,
    TradeEvent,
)
from sandex.core.markets import make_market

SYMBOL = "BTC_USDT"
MARKET = make_market(SYMBOL, price_precision=2, amount_precision=4)
OTHER = make_market("ETH_USDT", price_precision=2, amount_precision=3)


def order_event(
    *,
    seq: int = 1,
    ts: int = 0,
    order_id: int,
    side: str,
    price: int,
    amount: int,
    resting: int,
    filled: int = 0,
    status: str = OPEN,
    reason: str = R_PLACED,
    symbol: str = SYMBOL,
    kind: str = "limit",
    tif: str = "gtc",
) -> OrderEvent:
    return OrderEvent(
        seq=seq,
        ts=ts,
        order_id=order_id,
        account_id=1,
        wallet_id="main",
        symbol=symbol,
        side=side,
        kind=kind,
        tif=tif,
        price=price,
        amount=amount,
        quote_amount=0,
        filled=filled,
        filled_value=filled * price,
        resting=resting,
        status=status,
        reason=reason,
        created_ts=ts,
        client_order_id="",
        source="test",
        source_id="",
    )


def trade_event(
    *,
    seq: int = 1,
    ts: int,
    trade_id: int = 1,
    price: int,
    amount: int,
    taker_side: str = "buy",
    symbol: str = SYMBOL,
) -> TradeEvent:
    return TradeEvent(
        seq=seq,
        ts=ts,
        trade_id=trade_id,
        symbol=symbol,
        price=price,
        amount=amount,
        value=price * amount,
        taker_side=taker_side,
        maker_order_id=1,
        taker_order_id=2,
        maker_account_id=1,
        taker_account_id=2,
        maker_wallet_id="main",
        taker_wallet_id="main",
        maker_fee=0,
        taker_fee=0,
    )


# -- order flow -----------------------------------------------------------------------------------

# An operation: (kind, side, a, b, c) with small ints; the model maps them onto live orders.
#   place:  a -> price offset, b -> amount, c -> how much of it already filled on arrival
#   taker:  an order that never rests (IOC remainder / market order): resting stays 0
#   fill:   a -> which resting order, b -> how much of it (b/8 of resting, at least 1)
#   cancel: a -> which resting order
#   amend:  a -> which resting order, b -> new price offset, c -> new amount (0 keeps it)
op_strategy = st.tuples(
    st.sampled_from(["place", "place", "place", "taker", "fill", "fill", "cancel", "amend"]),
    st.sampled_from(["buy", "sell"]),
    st.integers(0, 1000),
    st.integers(0, 1000),
    st.integers(0, 1000),
)


def random_op(rnd: random.Random, kinds: list[str]) -> tuple[str, str, int, int, int]:
    """An operation like op_strategy's, for long seeded runs."""
    side = rnd.choice(["buy", "sell"])
    return (rnd.choice(kinds), side, rnd.randrange(1000), rnd.randrange(1000), rnd.randrange(1000))


@dataclass
class OrderFlow:
    """Turns operations into OrderEvents and keeps the brute-force truth."""

    #: Each side's prices span this many ticks: bids 1..span, asks span+1..2*span.
    span: int = 20
    symbol: str = SYMBOL
    resting: dict[int, tuple[str, int, int]] = field(default_factory=dict)  # id -> (side, price, qty)
    amounts: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (amount, filled)
    next_id: int = 1
    seq: int = 0
    ts: int = 1_700_000_000_000

    def _price(self, side: str, offset: int) -> int:
        tick = offset % self.span
        return self.span - tick if side == "buy" else self.span + 1 + tick

    def _event(self, **kwargs: object) -> OrderEvent:
        self.seq += 1
        self.ts += 7
        return order_event(seq=self.seq, ts=self.ts, symbol=self.symbol, **kwargs)  # type: ignore[arg-type]

    def step(self, op: tuple[str, str, int, int, int]) -> OrderEvent:
        kind, side, a, b, c = op
        if kind in ("fill", "cancel", "amend") and not self.resting:
            kind = "place"
        if kind == "place":
            order_id, self.next_id = self.next_id, self.next_id + 1
            price = self._price(side, a)
            amount = 1 + b % 50
            filled = c % amount  # a taker that partly filled, then rests
            self.resting[order_id] = (side, price, amount - filled)
            self.amounts[order_id] = (amount, filled)
            status = PARTIAL if filled else OPEN
            return self._event(
                order_id=order_id,
                side=side,
                price=price,
                amount=amount,
                resting=amount - filled,
                filled=filled,
                status=status,
            )
        if kind == "taker":
            order_id, self.next_id = self.next_id, self.next_id + 1
            return self._event(
                order_id=order_id,
                side=side,
                price=0,
                amount=1 + b % 50,
                resting=0,
                status=CANCELLED,
                reason=R_IOC,
                kind="market",
                tif="ioc",
            )
        ids = sorted(self.resting)
        order_id = ids[a % len(ids)]
        side, price, qty = self.resting[order_id]
        amount, filled = self.amounts[order_id]
        if kind == "fill":
            take = max(1, qty * (b % 9) // 8)
            take = min(take, qty)
            filled += take
            qty -= take
            self.amounts[order_id] = (amount, filled)
            if qty:
                self.resting[order_id] = (side, price, qty)
            else:
                del self.resting[order_id]
            return self._event(
                order_id=order_id,
                side=side,
                price=price,
                amount=amount,
                resting=qty,
                filled=filled,
                status=PARTIAL if qty else FILLED,
                reason=R_FILL,
            )
        if kind == "cancel":
            del self.resting[order_id]
            return self._event(
                order_id=order_id,
                side=side,
                price=price,
                amount=amount,
                resting=0,
                filled=filled,
                status=CANCELLED,
                reason=R_CANCELLED,
            )
        # amend: a new price (possibly the same) and maybe a new amount, never below what filled
        new_price = self._price(side, b)
        new_amount = amount if c % 3 == 0 else filled + 1 + c % 50
        qty = new_amount - filled
        self.resting[order_id] = (side, new_price, qty)
        self.amounts[order_id] = (new_amount, filled)
        return self._event(
            order_id=order_id,
            side=side,
            price=new_price,
            amount=new_amount,
            resting=qty,
            filled=filled,
            status=PARTIAL if filled else OPEN,
            reason=R_AMENDED,
        )

    def levels(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Brute force: aggregate every resting order; bids descending, asks ascending."""
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for side, price, qty in self.resting.values():
            book = bids if side == "buy" else asks
            book[price] = book.get(price, 0) + qty
        return sorted(bids.items(), reverse=True), sorted(asks.items())

    def top(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids, asks = self.levels()
        return bids[:n], asks[:n]
