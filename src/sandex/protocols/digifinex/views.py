"""REST v3 response bodies, built from market data and account data (no I/O).

DigiFinex writes amounts and prices as JSON numbers. They are written here as exact decimal
literals (`msgspec.Raw` holding e.g. `65000.5`), never through a float: the server never rounds,
and a client that parses numbers as decimals (`json.loads(..., parse_float=Decimal)`) gets the
exact values. Timestamps in REST bodies are unix seconds, as DigiFinex sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from msgspec import Raw

from sandex.accountdata import CHANGE_TRADE, CHANGE_TRANSFER, BalanceChange
from sandex.core.commands import BUY, SELL
from sandex.core.events import OrderEvent, TradeEvent
from sandex.core.markets import Market
from sandex.core.numbers import LEDGER_DECIMALS, format_trimmed
from sandex.marketdata.book import Top
from sandex.marketdata.klines import Bar
from sandex.marketdata.ticker import Ticker

from . import order_fields

Body = dict[str, Any]


def num(value: int, decimals: int) -> Raw:
    """A scaled integer as an exact JSON number literal."""
    return Raw(format_trimmed(value, decimals).encode())


def _num_text(text: str) -> Raw:
    return Raw(text.encode())


def ok(**fields: Any) -> Body:
    return {"code": 0, **fields}


# -- public ----------------------------------------------------------------------------------------


def markets_body(markets: Iterable[Market], now_s: int) -> Body:
    """GET /v3/markets: DigiFinex's older listing (min_amount is the minimum order value)."""
    data = [
        {
            "volume_precision": m.amount_precision,
            "price_precision": m.price_precision,
            "market": m.symbol.lower(),
            "min_amount": num(m.min_value, m.value_decimals),
            "min_volume": num(m.min_amount, m.amount_precision),
        }
        for m in markets
    ]
    return ok(data=data, date=now_s)


def symbols_body(markets: Iterable[Market]) -> Body:
    """GET /v3/spot/symbols (and /v3/trades/symbols, which ccxt's load_markets reads)."""
    symbol_list = [
        {
            "order_types": ["LIMIT", "MARKET"],
            "quote_asset": m.quote,
            "minimum_value": num(m.min_value, m.value_decimals),
            "amount_precision": m.amount_precision,
            "status": "TRADING",
            "minimum_amount": num(m.min_amount, m.amount_precision),
            "symbol": m.symbol,
            "is_allow": 1,
            "zone": "MAIN",
            "base_asset": m.base,
            "price_precision": m.price_precision,
        }
        for m in markets
    ]
    return ok(symbol_list=symbol_list)


def currencies_body(currencies: Iterable[str]) -> Body:
    """GET /v3/currencies: every currency is listed; sandex has no deposits or withdrawals."""
    data = [
        {
            "currency": currency,
            "deposit_status": 0,
            "withdraw_status": 0,
            "min_deposit_amount": 0,
            "min_withdraw_amount": 0,
            "min_withdraw_fee": 0,
            "withdraw_fee_rate": 0,
            "withdraw_fee_currency": currency,
        }
        for currency in currencies
    ]
    return ok(data=data)


def _change_percent(open_: int, last: int) -> Raw:
    if not open_:
        return Raw(b"0")
    change = (Decimal(last - open_) * 100 / Decimal(open_)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return _num_text(format(change.normalize(), "f") if change else "0")


def ticker_row(market: Market, ticker: Ticker) -> Body:
    pp, ap = market.price_precision, market.amount_precision
    return {
        "vol": num(ticker.base_volume_24h, ap),
        "change": _change_percent(ticker.open_24h, ticker.last),
        "base_vol": num(ticker.quote_volume_24h, market.value_decimals),  # DigiFinex: quote volume
        "sell": num(ticker.best_ask, pp),
        "last": num(ticker.last, pp),
        "symbol": market.symbol.lower(),
        "low": num(ticker.low_24h, pp),
        "buy": num(ticker.best_bid, pp),
        "high": num(ticker.high_24h, pp),
    }


def ticker_body(rows: list[Body], now_s: int) -> Body:
    return ok(ticker=rows, date=now_s)


def order_book_body(market: Market, top: Top, now_s: int) -> Body:
    """Both sides by price descending, as numeric [price, amount] pairs."""
    pp, ap = market.price_precision, market.amount_precision
    bids, asks = top
    return ok(
        bids=[[num(p, pp), num(q, ap)] for p, q in bids],
        asks=[[num(p, pp), num(q, ap)] for p, q in reversed(asks)],
        date=now_s,
    )


def trades_body(market: Market, newest_first: Iterable[TradeEvent], now_s: int) -> Body:
    data = [
        {
            "date": t.ts // 1000,
            "id": t.trade_id,
            "amount": num(t.amount, market.amount_precision),
            "type": t.taker_side,
            "price": num(t.price, market.price_precision),
        }
        for t in newest_first
    ]
    return ok(data=data, date=now_s)


def kline_body(market: Market, bars: Iterable[Bar]) -> Body:
    """Rows are [time_s, volume, close, high, low, open] — DigiFinex's order, oldest first."""
    pp, ap = market.price_precision, market.amount_precision
    data = [
        [
            b.open_time // 1000,
            num(b.volume, ap),
            num(b.close, pp),
            num(b.high, pp),
            num(b.low, pp),
            num(b.open, pp),
        ]
        for b in bars
    ]
    return ok(data=data)


# -- private ---------------------------------------------------------------------------------------


def order_row(market: Market, order: OrderEvent) -> Body:
    pp = market.price_precision
    return {
        "symbol": order.symbol,
        "order_id": str(order.order_id),
        "created_date": order.created_ts // 1000,
        "finished_date": order.ts // 1000 if order_fields.is_closed(order) else 0,
        "price": num(order.price, pp),
        "amount": _num_text(order_fields.order_amount(market, order)),
        "cash_amount": _num_text(order_fields.cash_amount(market, order)),
        "executed_amount": num(order.filled, market.amount_precision),
        "avg_price": _num_text(order_fields.average_price(market, order.filled, order.filled_value)),
        "status": order_fields.order_status(order),
        "type": order_fields.rest_type(order.side, order.kind),
        "kind": "spot",
    }


def order_detail_row(market: Market, order: OrderEvent, fills: Sequence[TradeEvent]) -> Body:
    row = order_row(market, order)
    row["detail"] = [
        {
            "tid": t.trade_id,
            "date": t.ts // 1000,
            "executed_amount": num(t.amount, market.amount_precision),
            "executed_price": num(t.price, market.price_precision),
        }
        for t in fills
    ]
    return row


def my_trade_row(market: Market, trade: TradeEvent, account_id: int, own_kind: str) -> Body:
    """One fill from `account_id`'s side: its side, its fee, the currency it paid the fee in
    (the buyer pays in base, the seller in quote), and whether it was the maker."""
    is_taker = trade.taker_account_id == account_id
    side = trade.taker_side if is_taker else (SELL if trade.taker_side == BUY else BUY)
    fee = trade.taker_fee if is_taker else trade.maker_fee
    return {
        "timestamp": trade.ts // 1000,
        "is_maker": not is_taker,
        "id": str(trade.trade_id),
        "amount": num(trade.amount, market.amount_precision),
        "side": order_fields.rest_type(side, own_kind),
        "symbol": trade.symbol,
        "fee_currency": market.base if side == BUY else market.quote,
        "fee": num(fee, LEDGER_DECIMALS),
        "order_id": str(trade.taker_order_id if is_taker else trade.maker_order_id),
        "price": num(trade.price, market.price_precision),
    }


def assets_body(balances: dict[str, tuple[int, int]]) -> Body:
    """GET /v3/spot/assets: free and total (free + held) per currency."""
    rows = [
        {"currency": currency, "free": num(free, LEDGER_DECIMALS), "total": num(free + held, LEDGER_DECIMALS)}
        for currency, (free, held) in sorted(balances.items())
    ]
    return ok(list=rows)


#: `type` of a financial log entry. DigiFinex's own codes are not published; these are sandex's:
#: 1 a fill (its fee included), 2 a credit or debit (a configured balance, an operator's transfer).
FINANCE_TYPES: dict[str, int] = {CHANGE_TRADE: 1, CHANGE_TRANSFER: 2}


def finance_body(total: int, changes: Iterable[BalanceChange]) -> Body:
    """GET /v3/spot/financelog: the account's balance changes, newest first."""
    finance = [
        {
            "currency_mark": c.currency,
            "type": FINANCE_TYPES[c.cause],
            "num": num(c.change, LEDGER_DECIMALS),
            "balance": num(c.balance, LEDGER_DECIMALS),
            "time": c.ts // 1000,
        }
        for c in changes
    ]
    return ok(data={"total": total, "finance": finance})
