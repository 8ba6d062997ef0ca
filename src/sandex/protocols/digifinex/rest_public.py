"""Public REST v3 endpoints: time, markets, tickers, order book, trades, klines.

ccxt's `load_markets` calls three endpoints — `/v3/currencies`, `/v3/trades/symbols` and the swap
listing `/swap/v2/public/instruments` — so all three answer (the last with an empty list: sandex
has no perpetuals).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

from aiohttp import web

from sandex.core.markets import Market
from sandex.marketdata.klines import bar_end
from sandex.venue import Venue

from . import errors, views
from .errors import RestError
from .rest_common import RestRateLimits, Route, answers_errors, int_param, json_response, public_params

#: DigiFinex kline periods -> sandex intervals.
PERIODS: Final = {
    "1": "1m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "240": "4h",
    "720": "12h",
    "1D": "1d",
    "1W": "1w",
}
ORDER_BOOK_DEFAULT, ORDER_BOOK_MAX = 10, 150
TRADES_DEFAULT, TRADES_MAX = 100, 500
KLINE_DEFAULT_BARS, KLINE_MAX_BARS = 100, 500


class PublicApi:
    def __init__(
        self, venue: Venue, clock: Callable[[], float], limits: RestRateLimits | None = None
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.limits = limits or RestRateLimits()
        self.markets: dict[str, Market] = {m.symbol: m for m in venue.markets}
        self.currencies = sorted({m.base for m in venue.markets} | {m.quote for m in venue.markets})

    def _now_s(self) -> int:
        return int(self.clock())

    def _market(self, params: dict[str, str], *, required: bool = True) -> Market | None:
        symbol = params.get("symbol", "").strip().upper()
        if not symbol:
            if required:
                raise RestError(errors.ILLEGAL_PARAMS, "missing parameter: symbol")
            return None
        market = self.markets.get(symbol)
        if market is None:
            raise RestError(errors.BAD_SYMBOL, f"unknown symbol: {symbol}")
        return market

    async def ping(self, request: web.Request) -> web.Response:
        return json_response({"msg": "pong", "code": 0})

    async def time(self, request: web.Request) -> web.Response:
        return json_response({"server_time": self._now_s(), "code": 0})

    async def markets_list(self, request: web.Request) -> web.Response:
        return json_response(views.markets_body(self.markets.values(), self._now_s()))

    async def symbols(self, request: web.Request) -> web.Response:
        # spot and trades (API-tradable) list every market; margin lists none (not simulated).
        listing = request.match_info.get("market")
        if listing not in ("spot", "trades", "margin"):
            raise RestError(errors.ILLEGAL_PARAMS, f"unknown symbol listing: {listing}")
        listed = [] if listing == "margin" else self.markets.values()
        return json_response(views.symbols_body(listed))

    async def currencies_list(self, request: web.Request) -> web.Response:
        return json_response(views.currencies_body(self.currencies))

    async def swap_instruments(self, request: web.Request) -> web.Response:
        return json_response({"code": 0, "data": []})

    async def ticker(self, request: web.Request) -> web.Response:
        market = self._market(public_params(request), required=False)
        md = self.venue.marketdata
        chosen = [market] if market is not None else list(self.markets.values())
        rows = [views.ticker_row(m, md.ticker(m.symbol)) for m in chosen]
        return json_response(views.ticker_body(rows, self._now_s()))

    async def order_book(self, request: web.Request) -> web.Response:
        params = public_params(request)
        market = self._market(params)
        assert market is not None
        limit = int_param(params, "limit", ORDER_BOOK_DEFAULT, low=1, high=ORDER_BOOK_MAX)
        top = self.venue.marketdata.top(market.symbol, limit or ORDER_BOOK_DEFAULT)
        return json_response(views.order_book_body(market, top, self._now_s()))

    async def trades(self, request: web.Request) -> web.Response:
        params = public_params(request)
        market = self._market(params)
        assert market is not None
        limit = int_param(params, "limit", TRADES_DEFAULT, low=1, high=TRADES_MAX)
        recent = self.venue.marketdata.recent_trades(market.symbol, limit)
        return json_response(views.trades_body(market, recent, self._now_s()))

    async def kline(self, request: web.Request) -> web.Response:
        """Bars opening in [start_time, end_time] (seconds); by default the last 100 periods."""
        params = public_params(request)
        market = self._market(params)
        assert market is not None
        period = params.get("period", "1").strip()
        interval = PERIODS.get(period)
        if interval is None:
            raise RestError(errors.ILLEGAL_PARAMS, f"period must be one of {', '.join(PERIODS)}")
        end_s = int_param(params, "end_time", None, low=0, high=10**11)
        start_s = int_param(params, "start_time", None, low=0, high=10**11)
        end_ms = (end_s if end_s is not None else self._now_s()) * 1000
        if start_s is not None:
            start_ms = start_s * 1000
        else:
            # Every DigiFinex period has a fixed length, so the bar opening at 0 ends at it.
            start_ms = end_ms - KLINE_DEFAULT_BARS * bar_end(interval, 0)
        if start_ms > end_ms:
            raise RestError(errors.ILLEGAL_PARAMS, "start_time must not be after end_time")
        bars = self.venue.marketdata.bars(market.symbol, interval, start_ms, end_ms, KLINE_MAX_BARS)
        return json_response(views.kline_body(market, bars))

    def routes(self) -> list[Route]:
        h = functools.partial(answers_errors, admit=self.limits.check_ip)
        return [
            ("GET", "/v3/ping", h(self.ping)),
            ("GET", "/v3/time", h(self.time)),
            ("GET", "/v3/markets", h(self.markets_list)),
            ("GET", "/v3/{market}/symbols", h(self.symbols)),
            ("GET", "/v3/currencies", h(self.currencies_list)),
            ("GET", "/v3/ticker", h(self.ticker)),
            ("GET", "/v3/order_book", h(self.order_book)),
            ("GET", "/v3/trades", h(self.trades)),
            ("GET", "/v3/kline", h(self.kline)),
            ("GET", "/swap/v2/public/instruments", h(self.swap_instruments)),
        ]
