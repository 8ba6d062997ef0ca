"""The params of every WebSocket push, built from events and market-data values.

Amounts are decimal strings in the market's fixed precision (`"65000.00"`, `"0.500000"`), never
floats. Fixed precision matters for depth: a client keys its book by the price string, so the
same price must always be written the same way, in snapshots and diffs alike. Balances use the
ledger's 18 places without trailing zeros.

Depth sides are both ordered by price descending, as DigiFinex sends them (asks too).
"""

from __future__ import annotations

from collections.abc import Iterable

from msgspec import Struct

from sandex.core import events as ev
from sandex.core.commands import BUY, MARKET
from sandex.core.markets import Market
from sandex.core.numbers import LEDGER_DECIMALS, format_scaled, format_trimmed
from sandex.marketdata.book import Level
from sandex.marketdata.ticker import Ticker

from . import order_fields

MODE_SPOT = 1


class TradeItem(Struct, gc=False):
    id: int
    time: float  # seconds with milliseconds, as DigiFinex sends it (a timestamp, not money)
    price: str
    amount: str
    type: str  # the taker's side


class DepthBook(Struct, gc=False):
    asks: list[tuple[str, str]]
    bids: list[tuple[str, str]]


class TickerItem(Struct, gc=False):
    symbol: str
    open_24h: str
    high_24h: str
    low_24h: str
    base_volume_24h: str
    quote_volume_24h: str
    last: str
    last_qty: str
    best_bid: str
    best_bid_size: str
    best_ask: str
    best_ask_size: str
    timestamp: int  # ms


class OrderItem(Struct, gc=False):
    id: str
    symbol: str
    side: str
    type: str  # limit | market
    status: int
    amount: str
    filled: str
    price: str
    price_avg: str
    notional: str  # quote value filled so far
    mode: int
    timestamp: int  # ms of this change


class AlgoItem(Struct, gc=False):
    id: str
    symbol: str
    side: str
    status: int
    amount: str  # base amount, or the quote budget of a market buy
    algo_price: str  # limit price of the order it places ("0" for a market order)
    trigger_price: str
    mode: int
    timestamp: int


class BalanceItem(Struct, gc=False):
    currency: str
    free: str
    total: str
    used: str


def trade_item(market: Market, trade: ev.TradeEvent) -> TradeItem:
    return TradeItem(
        trade.trade_id,
        trade.ts / 1000,
        format_scaled(trade.price, market.price_precision),
        format_scaled(trade.amount, market.amount_precision),
        trade.taker_side,
    )


def trades_params(market: Market, clean: bool, newest_first: Iterable[ev.TradeEvent]) -> list[object]:
    return [clean, [trade_item(market, t) for t in newest_first], market.symbol]


def _levels(market: Market, levels: Iterable[Level]) -> list[tuple[str, str]]:
    pp, ap = market.price_precision, market.amount_precision
    # A level to drop is written "0" exactly, as DigiFinex does (clients test for that string).
    return [(format_scaled(price, pp), format_scaled(qty, ap) if qty else "0") for price, qty in levels]


def depth_params(market: Market, clean: bool, bids_desc: list[Level], asks_asc: list[Level]) -> list[object]:
    """A snapshot (clean) or a diff (qty 0 = drop the level); sides as marketdata orders them."""
    book = DepthBook(asks=_levels(market, reversed(asks_asc)), bids=_levels(market, bids_desc))
    return [clean, book, market.symbol]


def ticker_item(market: Market, ticker: Ticker) -> TickerItem:
    pp, ap = market.price_precision, market.amount_precision
    return TickerItem(
        symbol=market.symbol,
        open_24h=format_scaled(ticker.open_24h, pp),
        high_24h=format_scaled(ticker.high_24h, pp),
        low_24h=format_scaled(ticker.low_24h, pp),
        base_volume_24h=format_scaled(ticker.base_volume_24h, ap),
        quote_volume_24h=format_scaled(ticker.quote_volume_24h, market.value_decimals),
        last=format_scaled(ticker.last, pp),
        last_qty=format_scaled(ticker.last_qty, ap),
        best_bid=format_scaled(ticker.best_bid, pp),
        best_bid_size=format_scaled(ticker.best_bid_size, ap),
        best_ask=format_scaled(ticker.best_ask, pp),
        best_ask_size=format_scaled(ticker.best_ask_size, ap),
        timestamp=ticker.timestamp,
    )


def order_item(market: Market, order: ev.OrderEvent) -> OrderItem:
    pp, ap = market.price_precision, market.amount_precision
    return OrderItem(
        id=str(order.order_id),
        symbol=order.symbol,
        side=order.side,
        type=order.kind,
        status=order_fields.order_status(order),
        amount=order_fields.order_amount(market, order),
        filled=format_trimmed(order.filled, ap),
        price=format_trimmed(order.price, pp),
        price_avg=order_fields.average_price(market, order.filled, order.filled_value),
        notional=format_trimmed(order.filled_value, market.value_decimals),
        mode=MODE_SPOT,
        timestamp=order.ts,
    )


def algo_item(market: Market, trigger: ev.TriggerEvent) -> AlgoItem:
    if trigger.kind == MARKET and trigger.side == BUY:
        amount = format_trimmed(trigger.quote_amount, LEDGER_DECIMALS)
    else:
        amount = format_trimmed(trigger.amount, market.amount_precision)
    return AlgoItem(
        # A trigger placed for an automation record (a DBot pnl or limit order) goes by that
        # record's id, as DBot shows it, and keeps it when the record replaces its trigger.
        id=trigger.source_id or str(trigger.trigger_id),
        symbol=trigger.symbol,
        side=trigger.side,
        status=order_fields.algo_status(trigger),
        amount=amount,
        algo_price=format_trimmed(trigger.price, market.price_precision),
        trigger_price=format_trimmed(trigger.trigger_price, market.price_precision),
        mode=MODE_SPOT,
        timestamp=trigger.ts,
    )


def balance_item(currency: str, free: int, held: int) -> BalanceItem:
    return BalanceItem(
        currency=currency,
        free=format_trimmed(free, LEDGER_DECIMALS),
        total=format_trimmed(free + held, LEDGER_DECIMALS),
        used=format_trimmed(held, LEDGER_DECIMALS),
    )
