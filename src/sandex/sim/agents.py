"""Seeded market participants. Pure: they read engine state and return commands.

Each market gets one agent that plays two roles:
- a market maker keeping a ladder of `levels` quotes per side around a fair price, moving them
  with amends (the most common real-venue operation) as the fair price wanders;
- a taker sending market orders of random size, a `taker_ratio` share of all actions.
The fair price is a mean-reverting random walk around the market's initial price, so a demo
market stays near realistic prices for days. All randomness comes from the injected
`random.Random`, so a seed fixes the command stream for a given engine state.
"""

from __future__ import annotations

import math
import random

from ..core.commands import AmendOrder, Command, PlaceOrder
from ..core.engine import Engine
from ..core.markets import Market
from ..core.numbers import LEDGER_DECIMALS

#: Quote value of one maker quote, in quote units (e.g. USDT); sizes vary around it.
QUOTE_NOTIONAL = 2000.0
#: Spread between ladder steps, as a fraction of the price.
STEP = 0.0005


class MarketAgent:
    def __init__(
        self,
        market: Market,
        rng: random.Random,
        *,
        maker_id: int,
        taker_id: int,
        levels: int = 10,
        taker_ratio: float = 0.3,
    ) -> None:
        self.market = market
        self.rng = rng
        self.maker_id = maker_id
        self.taker_id = taker_id
        self.levels = levels
        self.taker_ratio = taker_ratio
        scale = 10**market.price_precision
        self.initial = market.initial_price / scale if market.initial_price else 1.0
        self.fair = self.initial
        #: (side, level) -> order id of the maker's quote in that slot (0 = none yet)
        self.slots: dict[tuple[str, int], int] = {}
        self.pending: set[tuple[str, int]] = set()

    def _walk(self) -> None:
        # Mean reversion keeps the price near its start; noise of ~2 bp per step.
        self.fair += 0.001 * (self.initial - self.fair) + self.fair * self.rng.gauss(0.0, 0.0002)
        self.fair = max(self.fair, self.initial * 0.2)

    def _price(self, side: str, level: int) -> int:
        m = self.market
        offset = STEP * (level + 1) * (1 + 0.3 * self.rng.random())
        raw = self.fair * (1 - offset if side == "buy" else 1 + offset)
        ticks = raw * 10**m.price_precision
        ticks = math.floor(ticks) if side == "buy" else math.ceil(ticks)
        return max(1, int(ticks))

    def _amount(self, price: int) -> int:
        m = self.market
        price_f = price / 10**m.price_precision
        base = QUOTE_NOTIONAL * (0.2 + self.rng.random()) / max(price_f, 1e-12)
        amount = int(base * 10**m.amount_precision)
        return max(amount, m.min_amount, 1)

    def next_command(self, engine: Engine) -> Command | None:
        """The agent's next action, or None when a slot's previous order is still in flight."""
        self._walk()
        m = self.market
        if self.rng.random() < self.taker_ratio:
            side = self.rng.choice(("buy", "sell"))
            notional = QUOTE_NOTIONAL * 0.3 * (0.1 + self.rng.random())
            if side == "buy":
                quote = int(notional * 10**LEDGER_DECIMALS)
                return PlaceOrder(
                    self.taker_id, m.symbol, "buy", kind="market", quote_amount=quote, source="sim"
                )
            amount = max(int(notional / self.fair * 10**m.amount_precision), m.min_amount, 1)
            return PlaceOrder(self.taker_id, m.symbol, "sell", kind="market", amount=amount, source="sim")
        side = self.rng.choice(("buy", "sell"))
        level = self.rng.randrange(self.levels)
        slot = (side, level)
        if slot in self.pending:
            return None
        price = self._price(side, level)
        amount = self._amount(price)
        order_id = self.slots.get(slot, 0)
        order = engine.orders.get(order_id) if order_id else None
        if order is not None and order.account_id == self.maker_id:
            return AmendOrder(self.maker_id, order_id, price, order.filled + amount)
        self.pending.add(slot)
        return PlaceOrder(
            self.maker_id,
            m.symbol,
            side,
            price=price,
            amount=amount,
            source="sim",
            source_id=f"{side}:{level}",
        )

    def placed(self, slot_id: str, order_id: int) -> None:
        """Record the order id the engine gave a maker quote placed for slot `side:level`."""
        side, _, level = slot_id.partition(":")
        slot = (side, int(level))
        self.pending.discard(slot)
        if order_id:
            self.slots[slot] = order_id
