"""The REST v3 handlers: plain parameters in, response bodies out (no aiohttp here).

`routes` reads each HTTP request into a `Call` — the urlencoded parameters (the raw query string
of a GET, the raw form body of a POST), the `{market}` segment of the path and, for private
calls, the account the ACCESS-* headers signed in (`Authenticator`) — awaits the handler and
writes the body it returns as JSON. Every answer is HTTP 200 with `code` (0 = ok), errors
included, as DigiFinex does: ccxt and hand-written clients look at `code`. A failure is a
`RestError` raised where it is detected; `routes` turns it into `{"code": n, "msg": ...}`.

Public endpoints: time, markets, tickers, order book, trades, klines. ccxt's `load_markets`
calls three — `/v3/currencies`, `/v3/trades/symbols` and the swap listing
`/swap/v2/public/instruments` — so all three answer (the last with an empty list: sandex has no
perpetuals).

Private endpoints: orders, cancels, order queries, own trades, balances. Orders go through
`venue.execute` (journaled, applied in order); queries read the account-data view, which
remembers finished orders and fills (the engine keeps only open orders). Balances are the
account's default wallet, DigiFinex spot having a single spot account. Lookups of ids that name
no order of the caller are not errors in list answers (`/spot/order` returns the orders it
found; ccxt turns an empty list into OrderNotFound), but are 20013 where a single order is the
answer (`/spot/order/detail`). A cancel reports per id in `success` / `error`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl

from sandex.core.commands import LIMIT, CancelOrder
from sandex.core.engine import Account
from sandex.core.events import Event, OrderEvent, Rejected, TradeEvent
from sandex.core.markets import Market
from sandex.faults import FaultController
from sandex.marketdata.klines import bar_end
from sandex.server.metrics import DialectTally
from sandex.server.ratelimits import Clock, KeyedLimiters
from sandex.venue import Venue

from . import errors, orders, views
from .errors import RestError
from .signing import check_rest_signature, check_rest_timestamp
from .subscriptions import DIALECT

Body = dict[str, Any]

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
HISTORY_DEFAULT, HISTORY_MAX = 100, 500
MY_TRADES_DEFAULT, MY_TRADES_MAX = 100, 500
FINANCE_DEFAULT, FINANCE_MAX = 100, 500
#: What `financelog` covers when no start_time is given (DigiFinex: the last 3 days).
FINANCE_DEFAULT_WINDOW_S = 3 * 86400
MAX_IDS: Final = 20
#: Orders in one `order/batch_new` (DigiFinex's limit, and ccxt's).
MAX_BATCH: Final = 10

#: How long a book request waits for a gateway that is refilling a gap (`Venue.fresh`) before
#: answering 50000 rather than serve a book it knows to be stale.
STALE_WAIT_S = 1.0

#: DigiFinex's own wording for 10005.
RATE_LIMIT_MESSAGE = "Request frequency exceeds the limit"


@dataclass(frozen=True, slots=True)
class Call:
    """One REST call as a handler sees it."""

    params: dict[str, str]
    #: The `{market}` segment of `/v3/{market}/...` (spot, margin, otc); "spot" elsewhere.
    market: str = "spot"
    #: The account the call is signed by (private endpoints only).
    account: Account | None = None

    @property
    def signer(self) -> Account:
        assert self.account is not None, "a private handler was called unsigned"
        return self.account


Handler = Callable[[Call], Awaitable[Body]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    #: Signed with ACCESS-* headers (counted per API key), or public (counted per address).
    private: bool = False


# -- parameters -----------------------------------------------------------------------------------


def parse_form(text: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
    except ValueError:
        raise RestError(errors.ILLEGAL_PARAMS, "malformed parameters") from None


def int_param(
    params: Mapping[str, str], name: str, default: int | None, *, low: int, high: int
) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return default
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses (found by fuzzing).
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 18:
        raise RestError(errors.ILLEGAL_PARAMS, f"{name} must be an integer")
    value = int(text)
    if not low <= value <= high:
        raise RestError(errors.ILLEGAL_PARAMS, f"{name} must be between {low} and {high}")
    return value


def spot_only(market: str) -> None:
    """`/v3/{market}/...`: DigiFinex routes spot, margin and otc this way; only spot is simulated."""
    if market != "spot":
        raise RestError(errors.ILLEGAL_PARAMS, f"{market} trading is not supported (spot only)")


# -- rate limits and authentication ---------------------------------------------------------------


class RestRateLimits:
    """10005: private calls counted per API key, public ones per client address, at most N of each
    in any sliding second (0 = not limited). Refusals count in the dialect's metrics tally."""

    def __init__(
        self,
        per_key: int = 0,
        per_ip: int = 0,
        tally: DialectTally | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._keys = KeyedLimiters(per_key, 1.0, clock) if per_key else None
        self._ips = KeyedLimiters(per_ip, 1.0, clock) if per_ip else None
        self._tally = tally

    @property
    def per_key(self) -> KeyedLimiters | None:
        """The per-API-key budget (shared across the bus's processes, `ServerContext`)."""
        return self._keys

    def check_key(self, key: str) -> None:
        self._check(self._keys, key, "API key")

    def check_ip(self, remote: str) -> None:
        self._check(self._ips, remote, "IP")

    def _check(self, limiters: KeyedLimiters | None, key: str, per: str) -> None:
        if limiters is None or limiters.allow(key):
            return
        if self._tally is not None:
            self._tally.rest_rate_limit_violations += 1
        raise RestError(
            errors.RATE_LIMITED, f"{RATE_LIMIT_MESSAGE}: {limiters.limit} requests per second per {per}"
        )


class Authenticator:
    """ACCESS-KEY / ACCESS-TIMESTAMP / ACCESS-SIGN, in two steps so that a refused key costs no
    body read: `account_for` (the key) before the body is read, `verify` (time and HMAC) after."""

    def __init__(
        self,
        venue: Venue,
        clock: Callable[[], float],
        limits: RestRateLimits,
        is_blocked: Callable[[str], bool] = lambda key: False,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.limits = limits
        #: Whether an operator or the limits blocked the key: its calls are refused (10006).
        self.is_blocked = is_blocked

    def account_for(self, headers: Mapping[str, str], remote: str) -> Account:
        key = headers.get("ACCESS-KEY", "").strip()
        account = self.venue.engine.account_by_key.get(key) if key else None
        if account is None:
            # No account to charge: a flood of missing or made-up keys is limited per address.
            self.limits.check_ip(remote)
            if not key:
                raise RestError(errors.MISSING_API_KEY, "missing ACCESS-KEY header")
            raise RestError(errors.INVALID_API_KEY, "Invalid ApiKey")
        if self.is_blocked(key):
            raise RestError(errors.UNAUTHORIZED, "this API key is blocked (sandex keys unblock KEY)")
        # Charged once the key names an account but before the body is read or the HMAC computed,
        # so a flood of bad signatures or stale timestamps under one key is refused as cheaply as
        # any excess and spends that key's budget. The price: whoever knows a key (an identifier
        # sent in clear, not a secret) can spend its budget too; counting only verified calls
        # instead would let bad signatures through uncounted, each costing an HMAC.
        self.limits.check_key(key)
        return account

    def verify(self, account: Account, headers: Mapping[str, str], payload: str) -> dict[str, str]:
        """Check the timestamp and the signature over `payload`; return its parameters."""
        check_rest_timestamp(headers.get("ACCESS-TIMESTAMP", ""), self.clock())
        signature = headers.get("ACCESS-SIGN", "")
        if not signature:
            raise RestError(errors.SIGN_MISMATCH, "missing ACCESS-SIGN header")
        check_rest_signature(account.secret, payload, signature)
        params = parse_form(payload)
        orders.check_spot(params)
        return params


# -- not simulated --------------------------------------------------------------------------------


def unknown_endpoint(method: str, path: str, routes: list[Route]) -> RestError:
    """What DigiFinex answers for a call it does not serve: 10001 for a known path asked with
    the wrong method, 10009 ("Unexist endpoint") for any other path. sandex simulates spot
    trading only, so DigiFinex's deposit, withdrawal, transfer, margin and OTC endpoints get
    10009 too, and the message says why (ccxt shows its own text for each code, raw clients ours).
    """
    allowed = sorted({r.method for r in routes if _path_matches(r.path, path)})
    if allowed:
        return RestError(
            errors.WRONG_METHOD, f"Wrong request method: {path} takes {' or '.join(allowed)}, not {method}"
        )
    return RestError(
        errors.UNKNOWN_ENDPOINT,
        f"Unexist endpoint: {method} {path} is not simulated by sandex, which simulates spot "
        "trading only (no deposits, withdrawals, transfers, margin or OTC)",
    )


def _path_matches(pattern: str, path: str) -> bool:
    """`/v3/{market}/order` against a request path (one `{name}` = one path segment)."""
    want, got = pattern.rstrip("/").split("/"), path.rstrip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and g) for w, g in zip(want, got, strict=True)
    )


# -- handlers -------------------------------------------------------------------------------------


@dataclass
class RestApi:
    venue: Venue
    clock: Callable[[], float] = time.time
    faults: FaultController = field(default_factory=FaultController)

    def __post_init__(self) -> None:
        self.markets: dict[str, Market] = {m.symbol: m for m in self.venue.markets}
        self.currencies = sorted({m.base for m in self.venue.markets} | {m.quote for m in self.venue.markets})

    def _now_s(self) -> int:
        return int(self.clock())

    def _market(self, params: Mapping[str, str], *, required: bool = True) -> Market | None:
        symbol = params.get("symbol", "").strip().upper()
        if not symbol:
            if required:
                raise RestError(errors.ILLEGAL_PARAMS, "missing parameter: symbol")
            return None
        market = self.markets.get(symbol)
        if market is None:
            raise RestError(errors.BAD_SYMBOL, f"unknown symbol: {symbol}")
        return market

    # -- public ------------------------------------------------------------------------------

    async def ping(self, call: Call) -> Body:
        return {"msg": "pong", "code": 0}

    async def time(self, call: Call) -> Body:
        return {"server_time": self._now_s(), "code": 0}

    async def markets_list(self, call: Call) -> Body:
        return views.markets_body(self.markets.values(), self._now_s())

    async def symbols(self, call: Call) -> Body:
        # spot and trades (API-tradable) list every market; margin lists none (not simulated).
        if call.market not in ("spot", "trades", "margin"):
            raise RestError(errors.ILLEGAL_PARAMS, f"unknown symbol listing: {call.market}")
        listed = [] if call.market == "margin" else self.markets.values()
        return views.symbols_body(listed)

    async def currencies_list(self, call: Call) -> Body:
        return views.currencies_body(self.currencies)

    async def swap_instruments(self, call: Call) -> Body:
        return {"code": 0, "data": []}

    async def ticker(self, call: Call) -> Body:
        market = self._market(call.params, required=False)
        md = self.venue.marketdata
        chosen = [market] if market is not None else list(self.markets.values())
        rows = [views.ticker_row(m, md.ticker(m.symbol)) for m in chosen]
        return views.ticker_body(rows, self._now_s())

    async def order_book(self, call: Call) -> Body:
        market = self._market(call.params)
        assert market is not None
        limit = int_param(call.params, "limit", ORDER_BOOK_DEFAULT, low=1, high=ORDER_BOOK_MAX)
        stale = await self.venue.fresh(STALE_WAIT_S)
        if stale is not None:
            raise RestError(errors.INTERNAL, f"order book unavailable: {stale}")
        top = self.venue.marketdata.top(market.symbol, limit or ORDER_BOOK_DEFAULT)
        return views.order_book_body(market, top, self._now_s())

    async def trades(self, call: Call) -> Body:
        market = self._market(call.params)
        assert market is not None
        limit = int_param(call.params, "limit", TRADES_DEFAULT, low=1, high=TRADES_MAX)
        recent = self.venue.marketdata.recent_trades(market.symbol, limit)
        return views.trades_body(market, recent, self._now_s())

    async def kline(self, call: Call) -> Body:
        """Bars opening in [start_time, end_time] (seconds); by default the last 100 periods."""
        params = call.params
        market = self._market(params)
        assert market is not None
        period = params.get("period", "1").strip()
        interval = PERIODS.get(period)
        if interval is None:
            raise RestError(errors.ILLEGAL_PARAMS, f"period must be one of {', '.join(PERIODS)}")
        end_s = int_param(params, "end_time", None, low=0, high=10**11)
        start_s = int_param(params, "start_time", None, low=0, high=10**11)
        if end_s is not None:
            end_ms = end_s * 1000
        elif self.venue.marketdata.is_replayed(market.symbol):
            # A replayed market's bars are on the recording's time: "the last 100 periods" end
            # at its clock, not at today's wall time (where it has no bars at all).
            end_ms = self.venue.marketdata.clock(market.symbol)
        else:
            end_ms = self._now_s() * 1000
        if start_s is not None:
            start_ms = start_s * 1000
        else:
            # Every DigiFinex period has a fixed length, so the bar opening at 0 ends at it.
            start_ms = end_ms - KLINE_DEFAULT_BARS * bar_end(interval, 0)
        if start_ms > end_ms:
            raise RestError(errors.ILLEGAL_PARAMS, "start_time must not be after end_time")
        bars = self.venue.marketdata.bars(market.symbol, interval, start_ms, end_ms, KLINE_MAX_BARS)
        return views.kline_body(market, bars)

    # -- orders ------------------------------------------------------------------------------

    def _symbol_filter(self, params: Mapping[str, str]) -> str | None:
        if not params.get("symbol", "").strip():
            return None
        return orders.market_of(params, self.markets).symbol

    def _check_order_entry(self, account: Account) -> None:
        halted = self.venue.order_entry_error
        if halted:
            raise RestError(errors.INTERNAL, f"order entry halted: {halted}")
        rejection = self.faults.order_rejection(DIALECT, account.api_key)
        if rejection is not None:
            raise RestError(rejection.code, rejection.message)

    async def new_order(self, call: Call) -> Body:
        account = call.signer
        command = orders.place_order_command(call.params, account.id, self.markets)
        self._check_order_entry(account)
        events = await self.venue.execute(command)
        order = orders.placed_order(events, account.id)
        return {"code": 0, "order_id": str(order.order_id)}

    async def batch_new(self, call: Call) -> Body:
        """Up to 10 orders of one symbol. Every order is checked before any is journaled (one
        malformed order refuses the call and places nothing); the engine then applies them in
        order, together. If it refuses one (balance, minimums), the call answers that refusal's
        code, naming the order and the ids of those that were placed (a design choice: DigiFinex
        does not document partial batches, and ccxt pairs `order_ids` with its orders by index)."""
        account = call.signer
        forms = orders.batch_forms(call.params, limit=MAX_BATCH)
        commands = [orders.place_order_command(form, account.id, self.markets) for form in forms]
        self._check_order_entry(account)
        results = await asyncio.gather(*(self.venue.submit(command) for command in commands))
        placed: list[str] = []
        refused: tuple[int, RestError] | None = None
        for index, events in enumerate(results):
            try:
                placed.append(str(orders.placed_order(events, account.id).order_id))
            except RestError as exc:
                refused = refused or (index, exc)
        if refused is not None:
            index, refusal = refused
            raise RestError(
                refusal.code,
                f"order {index + 1} of {len(forms)} refused: {refusal.message}; "
                f"placed: {', '.join(placed) if placed else 'none'}",
            )
        return {"code": 0, "order_ids": placed}

    async def cancel(self, call: Call) -> Body:
        account_id = call.signer.id
        ids = orders.order_ids(call.params, limit=MAX_IDS)
        halted = self.venue.order_entry_error
        if halted:
            raise RestError(errors.INTERNAL, f"order entry halted: {halted}")
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
        return {"code": 0, "success": success, "error": failed}

    def _own_order(self, account_id: int, text: str) -> OrderEvent | None:
        order_id = orders.engine_order_id(text)
        return None if order_id is None else self.venue.accountdata.order(account_id, order_id)

    async def order(self, call: Call) -> Body:
        account_id = call.signer.id
        found = [
            o
            for text in orders.order_ids(call.params, limit=MAX_IDS)
            if (o := self._own_order(account_id, text)) is not None
        ]
        return {"code": 0, "data": [views.order_row(self.markets[o.symbol], o) for o in found]}

    async def order_detail(self, call: Call) -> Body:
        account_id = call.signer.id
        order = self._own_order(account_id, orders.require(call.params, "order_id"))
        if order is None:
            raise RestError(errors.ORDER_NOT_FOUND, "No order info found")
        fills = [
            t
            for t in reversed(self.venue.accountdata.trades(account_id, order.symbol))
            if t.taker_order_id == order.order_id or t.maker_order_id == order.order_id
        ]
        return {"code": 0, "data": views.order_detail_row(self.markets[order.symbol], order, fills)}

    async def current(self, call: Call) -> Body:
        account_id = call.signer.id
        symbol = self._symbol_filter(call.params)
        open_orders = sorted(
            self.venue.accountdata.open_orders(account_id, symbol), key=lambda o: o.order_id, reverse=True
        )
        return {"code": 0, "data": [views.order_row(self.markets[o.symbol], o) for o in open_orders]}

    async def history(self, call: Call) -> Body:
        """Open and finished orders, newest first, optionally by symbol and creation time."""
        account_id = call.signer.id
        params = call.params
        symbol = self._symbol_filter(params)
        limit = int_param(params, "limit", HISTORY_DEFAULT, low=1, high=HISTORY_MAX) or HISTORY_DEFAULT
        start_ms, end_ms = _time_range(params)
        data = self.venue.accountdata
        every = data.open_orders(account_id, symbol) + data.closed_orders(account_id, symbol)
        chosen = sorted(
            (o for o in every if start_ms <= o.created_ts <= end_ms), key=lambda o: o.order_id, reverse=True
        )[:limit]
        return {"code": 0, "data": [views.order_row(self.markets[o.symbol], o) for o in chosen]}

    # -- trades and balances -----------------------------------------------------------------

    async def my_trades(self, call: Call) -> Body:
        account_id = call.signer.id
        params = call.params
        symbol = self._symbol_filter(params)
        limit = int_param(params, "limit", MY_TRADES_DEFAULT, low=1, high=MY_TRADES_MAX) or MY_TRADES_DEFAULT
        start_ms, end_ms = _time_range(params)
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
        return {"code": 0, "list": rows}

    def _own_kind(self, account_id: int, trade: TradeEvent) -> str:
        """limit or market, for the account's side of a fill (a maker is always a limit order)."""
        if trade.taker_account_id != account_id:
            return LIMIT
        order = self.venue.accountdata.order(account_id, trade.taker_order_id)
        return order.kind if order is not None else LIMIT

    async def financelog(self, call: Call) -> Body:
        """The account's balance changes (fills with their fees, credits), newest first, by
        currency (`currency_mark`) and time (seconds; by default the last 3 days)."""
        params = call.params
        currency = params.get("currency_mark", "").strip().upper() or None
        limit = int_param(params, "limit", FINANCE_DEFAULT, low=1, high=FINANCE_MAX) or FINANCE_DEFAULT
        end_s = int_param(params, "end_time", None, low=0, high=10**11)
        end_ms = (end_s if end_s is not None else self._now_s()) * 1000 + 999
        start_s = int_param(params, "start_time", None, low=0, high=10**11)
        start_ms = (start_s if start_s is not None else end_ms // 1000 - FINANCE_DEFAULT_WINDOW_S) * 1000
        account = call.signer
        # DigiFinex spot has one account balance: the account's default wallet.
        wallet = account.wallets[0] if account.wallets else None
        chosen = [
            c
            for c in self.venue.accountdata.balance_changes(account.id, currency)
            if c.wallet_id == wallet and start_ms <= c.ts <= end_ms
        ]
        return views.finance_body(len(chosen), chosen[:limit])

    async def assets(self, call: Call) -> Body:
        account = call.signer
        balances = {currency: (0, 0) for currency in self.currencies}
        if account.wallets:
            balances.update(self.venue.engine.balances_of(account.wallets[0]))
        return views.assets_body(balances)

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/v3/ping", self.ping),
            Route("GET", "/v3/time", self.time),
            Route("GET", "/v3/markets", self.markets_list),
            Route("GET", "/v3/{market}/symbols", self.symbols),
            Route("GET", "/v3/currencies", self.currencies_list),
            Route("GET", "/v3/ticker", self.ticker),
            Route("GET", "/v3/order_book", self.order_book),
            Route("GET", "/v3/trades", self.trades),
            Route("GET", "/v3/kline", self.kline),
            Route("GET", "/swap/v2/public/instruments", self.swap_instruments),
            Route("POST", "/v3/{market}/order/new", self.new_order, private=True),
            Route("POST", "/v3/{market}/order/batch_new", self.batch_new, private=True),
            Route("POST", "/v3/{market}/order/cancel", self.cancel, private=True),
            Route("GET", "/v3/{market}/order", self.order, private=True),
            Route("GET", "/v3/{market}/order/detail", self.order_detail, private=True),
            Route("GET", "/v3/{market}/order/current", self.current, private=True),
            Route("GET", "/v3/{market}/order/history", self.history, private=True),
            Route("GET", "/v3/{market}/mytrades", self.my_trades, private=True),
            Route("GET", "/v3/{market}/assets", self.assets, private=True),
            Route("GET", "/v3/{market}/financelog", self.financelog, private=True),
        ]


def _time_range(params: Mapping[str, str]) -> tuple[int, int]:
    start = int_param(params, "start_time", 0, low=0, high=10**11) or 0
    end = int_param(params, "end_time", 10**11, low=0, high=10**11) or 10**11
    return start * 1000, end * 1000 + 999
