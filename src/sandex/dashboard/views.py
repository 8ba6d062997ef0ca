"""What the dashboard shows of the venue, as plain JSON values.

Read from the same places the dialects read: `venue.marketdata` (books, trades, klines, tickers),
`venue.accountdata` (open orders, fills), the engine's accounts and balances (through
`operations.account_view`, as `sandex accounts` shows them) and the automation plugin's tasks.
Prices, sizes and balances are decimal strings at each market's (or the ledger's) precision, as
at every other edge of sandex: the page shows them as they are and parses them only to draw.

Rows are lists, not objects: a busy market's book and tape are most of the feed's bytes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from ..automation import Automation, CopyTask, TradeResult
from ..core.engine import Account
from ..core.events import OrderEvent, Rejected, TradeEvent
from ..core.markets import Market
from ..core.numbers import LEDGER_DECIMALS, format_trimmed
from ..marketdata.book import Level
from ..marketdata.klines import Bar
from ..marketdata.ticker import Ticker
from ..operations import account_view
from ..server.context import ServerContext
from ..venue import Venue

JSON = dict[str, Any]

#: What the accounts panel lists per account (newest first).
OPEN_ORDERS = 50
FILLS = 20
REJECTS = 20
RESULTS = 20


def market_info(market: Market) -> JSON:
    return {
        "symbol": market.symbol,
        "base": market.base,
        "quote": market.quote,
        "price_precision": market.price_precision,
        "amount_precision": market.amount_precision,
    }


def level_rows(market: Market, levels: Iterable[Level]) -> list[list[str]]:
    """[[price, size], ...]; size "0" drops the level (in a diff)."""
    price, amount = market.format_price, market.format_amount
    return [[price(p), amount(q)] for p, q in levels]


def own_orders(venue: Venue, own: Iterable[int], market: Market) -> list[list[str]]:
    """[[side, price, size resting], ...] of the own accounts' orders resting on `market`, one
    row per (side, price): what the ladder marks."""
    totals: dict[tuple[str, int], int] = {}
    accountdata = venue.accountdata
    for account_id in own:
        for order in accountdata.open_orders(account_id, market.symbol):
            if order.resting > 0:
                key = (order.side, order.price)
                totals[key] = totals.get(key, 0) + order.resting
    return [
        [side, market.format_price(price), market.format_amount(size)]
        for (side, price), size in sorted(totals.items())
    ]


def trade_row(market: Market, trade: TradeEvent, own: Mapping[int, str]) -> list[Any]:
    """[trade id, ts ms, price, amount, taker side, own account name or ""]."""
    mine = own.get(trade.taker_account_id) or own.get(trade.maker_account_id) or ""
    return [
        trade.trade_id,
        trade.ts,
        market.format_price(trade.price),
        market.format_amount(trade.amount),
        trade.taker_side,
        mine,
    ]


def bar_row(market: Market, bar: Bar) -> list[Any]:
    """[open time ms, open, high, low, close, volume (base), trades]."""
    price = market.format_price
    return [
        bar.open_time,
        price(bar.open),
        price(bar.high),
        price(bar.low),
        price(bar.close),
        market.format_amount(bar.volume),
        bar.count,
    ]


def _change_percent(open_: int, last: int) -> str:
    """The 24 h change in percent, two decimals, in integers (rounded half away from zero)."""
    if open_ <= 0:
        return "0.00"
    hundredths, rest = divmod(abs(last - open_) * 10_000, open_)
    if rest * 2 >= open_:
        hundredths += 1
    sign = "-" if last < open_ and hundredths else ""
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


def ticker_row(market: Market, ticker: Ticker) -> JSON:
    price, amount = market.format_price, market.format_amount
    return {
        "symbol": market.symbol,
        "last": price(ticker.last),
        "open": price(ticker.open_24h),
        "high": price(ticker.high_24h),
        "low": price(ticker.low_24h),
        "change": _change_percent(ticker.open_24h, ticker.last),
        "volume": amount(ticker.base_volume_24h),
        "quote_volume": market.format_value(ticker.quote_volume_24h),
        "count": ticker.count_24h,
        "bid": price(ticker.best_bid),
        "ask": price(ticker.best_ask),
    }


def _ledger(value: int) -> str:
    return format_trimmed(value, LEDGER_DECIMALS)


def _order_row(market: Market | None, order: OrderEvent) -> list[Any]:
    """[order id, symbol, side, kind, price, amount, filled, status, created ts ms]."""
    if market is None:
        return [
            order.order_id,
            order.symbol,
            order.side,
            order.kind,
            "",
            "",
            "",
            order.status,
            order.created_ts,
        ]
    return [
        order.order_id,
        order.symbol,
        order.side,
        order.kind,
        market.format_price(order.price) if order.price else "market",
        market.format_amount(order.amount) if order.amount else _ledger(order.quote_amount),
        market.format_amount(order.filled),
        order.status,
        order.created_ts,
    ]


def _fill_row(market: Market | None, account_id: int, trade: TradeEvent) -> list[Any]:
    """[trade id, ts ms, symbol, side, role, price, amount, fee (ledger scale)]."""
    taker = trade.taker_account_id == account_id
    side = trade.taker_side if taker else ("sell" if trade.taker_side == "buy" else "buy")
    fee = trade.taker_fee if taker else trade.maker_fee
    if market is None:
        return [
            trade.trade_id,
            trade.ts,
            trade.symbol,
            side,
            "taker" if taker else "maker",
            "",
            "",
            _ledger(fee),
        ]
    return [
        trade.trade_id,
        trade.ts,
        trade.symbol,
        side,
        "taker" if taker else "maker",
        market.format_price(trade.price),
        market.format_amount(trade.amount),
        _ledger(fee),
    ]


def _reject_row(event: Rejected) -> list[Any]:
    """[ts ms, symbol, code, message, order id]."""
    return [event.ts, event.symbol, event.code, event.message, event.order_id]


def _result_row(result: TradeResult) -> list[Any]:
    """[ts ms, source, source id, state, side, symbol, error code]."""
    return [
        result.ts,
        result.source,
        result.source_id,
        result.state,
        result.side,
        result.symbol,
        result.error_code,
    ]


def _wallet_owner(venue: Venue, wallet_id: str) -> str:
    """A followed wallet as the page names it: its account's name (and the wallet's, when it is
    not the account's first), or the id itself when sandex has no such wallet."""
    engine = venue.engine
    wallet = engine.wallets.get(wallet_id)
    account = engine.accounts.get(wallet.account_id) if wallet is not None else None
    if wallet is None or account is None:
        return wallet_id
    return account.name if account.wallets[:1] == [wallet_id] else f"{account.name}/{wallet.name}"


def _task_row(venue: Venue, task: CopyTask, results: Iterable[TradeResult]) -> JSON:
    last = next((r for r in results if r.source_id == task.id), None)
    return {
        "id": task.id,
        "name": task.spec.name,
        "enabled": task.enabled,
        "targets": [_wallet_owner(venue, wallet_id) for wallet_id in task.spec.target_ids],
        "created_ts": task.created_ts,
        "last": None if last is None else _result_row(last),
    }


def automation_of(venue: Venue) -> Automation | None:
    """The automation engine plugin (copy trading), when the venue runs one."""
    for plugin in venue.engine.plugins:
        if isinstance(plugin, Automation):
            return plugin
    return None


def account_panel(
    ctx: ServerContext,
    account: Account,
    *,
    rejects: deque[Rejected] | None,
    results: deque[TradeResult] | None,
    automation: Automation | None,
) -> JSON:
    """One account as the accounts panel shows it: `operations.account_view` (balances free and
    held per wallet, key blocks) plus its open orders, recent fills, rejects and tasks."""
    venue = ctx.venue
    markets = venue.engine.markets
    accountdata = venue.accountdata
    view = account_view(ctx, account)
    open_orders = sorted(accountdata.open_orders(account.id), key=lambda o: o.order_id, reverse=True)
    view["open_orders"] = [_order_row(markets.get(o.symbol), o) for o in open_orders[:OPEN_ORDERS]]
    view["open_order_count"] = len(open_orders)
    view["fills"] = [
        _fill_row(markets.get(t.symbol), account.id, t) for t in accountdata.trades(account.id)[:FILLS]
    ]
    view["rejects"] = [_reject_row(r) for r in reversed(rejects or ())][:REJECTS]
    newest_results = list(reversed(results or ()))
    view["results"] = [_result_row(r) for r in newest_results[:RESULTS]]
    tasks: list[JSON] = []
    pending_automation = 0
    if automation is not None:
        state = automation.state
        tasks = [
            _task_row(venue, task, newest_results)
            for task in state.tasks.values()
            if task.account_id == account.id
        ]
        pending_automation = sum(
            1
            for orders in (state.pnl_orders, state.limit_orders)
            for order in orders.values()
            if order.account_id == account.id and order.state in ("init", "processing")
        )
    view["tasks"] = tasks
    view["automation_orders"] = pending_automation
    return view
