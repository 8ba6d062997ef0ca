"""Private spot REST v3 endpoints: orders, cancels, order queries, own trades, balances.

Orders go through `venue.execute` (journaled, applied in order); queries read the account-data
view, which remembers finished orders and fills (the engine keeps only open orders). Balances are
the account's default wallet, DigiFinex spot having a single spot account.

Lookups of ids that name no order of the caller are not errors in list answers (`/spot/order`
returns the orders it found; ccxt turns an empty list into OrderNotFound), but are 20013 where a
single order is the answer (`/spot/order/detail`). A cancel reports per id in `success` / `error`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from aiohttp import web

from sandex.core.commands import LIMIT, CancelOrder
from sandex.core.events import Event, OrderEvent, Rejected, TradeEvent
from sandex.core.markets import Market
from sandex.faults import FaultController
from sandex.venue import Venue

from . import errors, orders, views
from .errors import RestError
from .rest_common import (
    RestRateLimits,
    Route,
    Signed,
    answers_errors,
    authenticate,
    int_param,
    json_response,
    spot_only,
)

HISTORY_DEFAULT, HISTORY_MAX = 100, 500
MY_TRADES_DEFAULT, MY_TRADES_MAX = 100, 500
MAX_IDS: Final = 20


class PrivateApi:
    def __init__(
        self,
        venue: Venue,
        clock: Callable[[], float],
        faults: FaultController | None = None,
        limits: RestRateLimits | None = None,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.faults = faults or FaultController()
        self.limits = limits or RestRateLimits()
        self.markets: dict[str, Market] = {m.symbol: m for m in venue.markets}
        self.currencies = sorted({m.base for m in venue.markets} | {m.quote for m in venue.markets})

    async def _signed(self, request: web.Request) -> Signed:
        spot_only(request)
        signed = await authenticate(request, self.venue, self.clock, self.limits)
        orders.check_spot(signed.params)
        return signed

    def _symbol_filter(self, params: dict[str, str]) -> str | None:
        if not params.get("symbol", "").strip():
            return None
        return orders.market_of(params, self.markets).symbol

    def _check_order_entry(self) -> None:
        halted = self.venue.order_entry_error
        if halted:
            raise RestError(errors.INTERNAL, f"order entry halted: {halted}")

    # -- orders ------------------------------------------------------------------------------

    async def new_order(self, request: web.Request) -> web.Response:
        signed = await self._signed(request)
        command = orders.place_order_command(signed.params, signed.account.id, self.markets)
        self._check_order_entry()
        rejection = self.faults.order_rejection("digifinex", signed.account.api_key)
        if rejection is not None:
            raise RestError(rejection.code, rejection.message)
        events = await self.venue.execute(command)
        order = orders.placed_order(events, signed.account.id)
        return json_response({"code": 0, "order_id": str(order.order_id)})

    async def cancel(self, request: web.Request) -> web.Response:
        signed = await self._signed(request)
        ids = orders.order_ids(signed.params, limit=MAX_IDS)
        self._check_order_entry()
        account_id = signed.account.id
        open_orders = self.venue.engine.orders
        pending: dict[str, asyncio.Future[list[Event]] | None] = {}
        for text in dict.fromkeys(ids):
            order_id = orders.engine_order_id(text)
            resting = open_orders.get(order_id) if order_id is not None else None
            if resting is None or resting.account_id != account_id:
                pending[text] = None  # not an open order of the caller: nothing to journal
                continue
            # Submitted together: applied in order, sharing group commits. One may still fail
            # (filled in between) and is then reported in `error`.
            pending[text] = self.venue.submit(CancelOrder(account_id, resting.id))
        success: list[str] = []
        failed: list[str] = []
        for text, future in pending.items():
            events = await future if future is not None else []
            cancelled = future is not None and not any(isinstance(e, Rejected) for e in events)
            (success if cancelled else failed).append(text)
        return json_response({"code": 0, "success": success, "error": failed})

    def _own_order(self, account_id: int, text: str) -> OrderEvent | None:
        order_id = orders.engine_order_id(text)
        return None if order_id is None else self.venue.accountdata.order(account_id, order_id)

    async def order(self, request: web.Request) -> web.Response:
        signed = await self._signed(request)
        found = [
            o
            for text in orders.order_ids(signed.params, limit=MAX_IDS)
            if (o := self._own_order(signed.account.id, text)) is not None
        ]
        return json_response({"code": 0, "data": [views.order_row(self.markets[o.symbol], o) for o in found]})

    async def order_detail(self, request: web.Request) -> web.Response:
        signed = await self._signed(request)
        order = self._own_order(signed.account.id, orders.require(signed.params, "order_id"))
        if order is None:
            raise RestError(errors.ORDER_NOT_FOUND, "No order info found")
        fills = [
            t
            for t in reversed(self.venue.accountdata.trades(signed.account.id, order.symbol))
            if t.taker_order_id == order.order_id or t.maker_order_id == order.order_id
        ]
        return json_response(
            {"code": 0, "data": views.order_detail_row(self.markets[order.symbol], order, fills)}
        )

    async def current(self, request: web.Request) -> web.Response:
        signed = await self._signed(request)
        symbol = self._symbol_filter(signed.params)
        open_orders = sorted(
            self.venue.accountdata.open_orders(signed.account.id, symbol),
            key=lambda o: o.order_id,
            reverse=True,
        )
        return json_response(
            {"code": 0, "data": [views.order_row(self.markets[o.symbol], o) for o in open_orders]}
        )

    async def history(self, request: web.Request) -> web.Response:
        """Open and finished orders, newest first, optionally by symbol and creation time."""
        signed = await self._signed(request)
        params = signed.params
        symbol = self._symbol_filter(params)
        limit = int_param(params, "limit", HISTORY_DEFAULT, low=1, high=HISTORY_MAX) or HISTORY_DEFAULT
        start_ms, end_ms = self._time_range(params)
        data = self.venue.accountdata
        every = data.open_orders(signed.account.id, symbol) + data.closed_orders(signed.account.id, symbol)
        chosen = sorted(
            (o for o in every if start_ms <= o.created_ts <= end_ms), key=lambda o: o.order_id, reverse=True
        )[:limit]
        return json_response(
            {"code": 0, "data": [views.order_row(self.markets[o.symbol], o) for o in chosen]}
        )

    # -- trades and balances -----------------------------------------------------------------

    async def my_trades(self, request: web.Request) -> web.Response:
        signed = await self._signed(request)
        params = signed.params
        account_id = signed.account.id
        symbol = self._symbol_filter(params)
        limit = int_param(params, "limit", MY_TRADES_DEFAULT, low=1, high=MY_TRADES_MAX) or MY_TRADES_DEFAULT
        start_ms, end_ms = self._time_range(params)
        rows = []
        for trade in self.venue.accountdata.trades(account_id, symbol):
            if not start_ms <= trade.ts <= end_ms:
                continue
            rows.append(
                views.my_trade_row(
                    self.markets[trade.symbol], trade, account_id, self._own_kind(account_id, trade)
                )
            )
            if len(rows) == limit:
                break
        return json_response({"code": 0, "list": rows})

    def _own_kind(self, account_id: int, trade: TradeEvent) -> str:
        """limit or market, for the account's side of a fill (a maker is always a limit order)."""
        if trade.taker_account_id != account_id:
            return LIMIT
        order = self.venue.accountdata.order(account_id, trade.taker_order_id)
        return order.kind if order is not None else LIMIT

    async def assets(self, request: web.Request) -> web.Response:
        signed = await self._signed(request)
        account = signed.account
        balances = {currency: (0, 0) for currency in self.currencies}
        if account.wallets:
            balances.update(self.venue.engine.balances_of(account.wallets[0]))
        return json_response(views.assets_body(balances))

    @staticmethod
    def _time_range(params: dict[str, str]) -> tuple[int, int]:
        start = int_param(params, "start_time", 0, low=0, high=10**11) or 0
        end = int_param(params, "end_time", 10**11, low=0, high=10**11) or 10**11
        return start * 1000, end * 1000 + 999

    def routes(self) -> list[Route]:
        h = answers_errors
        return [
            ("POST", "/v3/{market}/order/new", h(self.new_order)),
            ("POST", "/v3/{market}/order/cancel", h(self.cancel)),
            ("GET", "/v3/{market}/order", h(self.order)),
            ("GET", "/v3/{market}/order/detail", h(self.order_detail)),
            ("GET", "/v3/{market}/order/current", h(self.current)),
            ("GET", "/v3/{market}/order/history", h(self.history)),
            ("GET", "/v3/{market}/mytrades", h(self.my_trades)),
            ("GET", "/v3/{market}/assets", h(self.assets)),
        ]
