"""Infoway's REST market data, sans I/O: plain parameters in, the envelope's `data` out.

What a crypto user of the official SDK (`InfowayClient`) calls: latest trades, depth snapshots and
klines (`/crypto/...`), the symbol listing and details (`/common/basic/symbols[/info]`) and the
key's package (`/package/info`). Values are read from the same market data the WebSocket pushes
and built with the same structs (`wire.trade_data`, `wire.depth_data`), so a REST answer and a
push of the same moment carry the same values.

Every refusal raises `RestError` with Infoway's `ret` and message; `admit` decides the key's
access (401) and its per-minute budget (429) before any handler runs. `routes` turns both into
HTTP responses.
"""

from __future__ import annotations

from typing import Final

import msgspec

from sandex.core.markets import Market
from sandex.core.numbers import format_trimmed
from sandex.server.ratelimits import KeyedLimiters, KeyGuard
from sandex.venue import Venue

from . import wire
from .errors import (
    COLON,
    MSG_INTERNAL,
    MSG_NO_PRODUCT,
    RET_BAD_REQUEST,
    RET_KLINE_OVER_LIMIT,
    RET_PRODUCTS_OVER_LIMIT,
    RET_SERVER_ERROR,
    RestError,
    not_simulated,
    rest_param_error,
    rest_param_lost,
    rest_rate_limited,
    unauthorized,
)
from .limits import InfowayLimits
from .symbols import SymbolMap
from .wire import KLINE_INTERVALS, MAX_KLINE_TYPE, MIN_KLINE_TYPE, split_codes

#: How long a depth request waits for a gateway that is refilling a gap (`Venue.fresh`).
STALE_WAIT_S = 1.0

#: Infoway's quote caps (`query.max` of its HTTP API): codes per call, candles for one code, and
#: candles each when several codes are asked for at once (applied silently, as Infoway does).
MAX_CODES: Final = 100
MAX_KLINE_NUM: Final = 500
MAX_KLINE_NUM_BATCHED: Final = 2

#: The product `type`s the SDK knows (`SymbolType`); sandex lists crypto, the others are markets
#: it does not simulate.
CRYPTO: Final = "CRYPTO"
SYMBOL_TYPES: Final = frozenset(
    {
        "STOCK_US",
        "STOCK_CN",
        "STOCK_HK",
        "STOCK_JP",
        "STOCK_KS",
        "STOCK_IN",
        "STOCK_TW",
        CRYPTO,
        "FOREX",
        "FUTURES",
        "ENERGY",
        "METAL",
        "INDICES",
    }
)
EXCHANGE: Final = "SANDEX"
RATE_WINDOW_S: Final = 60.0
_MAX_TIMESTAMP_S: Final = 10**11  # far beyond any bar; larger numbers are a unit mistake


class InfowayApi:
    def __init__(
        self,
        venue: Venue,
        symbols: SymbolMap,
        limits: InfowayLimits,
        *,
        guard: KeyGuard | None = None,
        profile: str = "strict",
    ) -> None:
        self.venue = venue
        self.symbols = symbols
        self.limits = limits
        self.guard = guard
        self.profile = profile
        self.markets: dict[str, Market] = {m.symbol: m for m in venue.markets if symbols.code(m.symbol)}
        per_minute = limits.rest_calls_per_minute
        self.rate = KeyedLimiters(per_minute, RATE_WINDOW_S) if per_minute else None

    # -- access --------------------------------------------------------------------------------

    def admit(self, key: str | None) -> str:
        """The caller's key if it may call now; 401 for a missing, unknown or blocked key, 429 over
        the key's budget. Every admitted call counts against the budget."""
        if not key:
            raise unauthorized("the apikey header is missing")
        if key not in self.venue.engine.account_by_key:
            raise unauthorized("unknown apikey")
        if self.guard is not None and self.guard.is_blocked(key):
            raise unauthorized("the apikey is blocked")
        if self.rate is not None and not self.rate.allow(key):
            raise rest_rate_limited(self.limits.rest_calls_per_minute)
        return key

    # -- market data ---------------------------------------------------------------------------

    def batch_trade(self, codes: str) -> list[wire.TradeData]:
        """The latest trade of each code (codes without a trade yet are left out)."""
        md = self.venue.marketdata
        rows = []
        for code, market in self._markets_of(codes):
            latest = md.recent_trades(market.symbol, 1)
            if latest:
                rows.append(wire.trade_data(code, market, latest[0]))
        return rows

    async def batch_depth(self, codes: str) -> list[wire.DepthData]:
        """The book of each code: the WebSocket's levels, column-major, stamped now. A gateway
        refilling a gap waits up to STALE_WAIT_S for it, then answers 500 rather than serve a
        book it knows to be stale."""
        stale = await self.venue.fresh(STALE_WAIT_S)
        if stale is not None:
            raise RestError(RET_SERVER_ERROR, f"{MSG_INTERNAL}{COLON}depth unavailable: {stale}")
        md = self.venue.marketdata
        now_ms = int(self.venue.clock() * 1000)
        levels = self.limits.depth_levels
        return [
            wire.depth_data(code, market, md.top(market.symbol, levels), now_ms)
            for code, market in self._markets_of(codes)
        ]

    def batch_kline(self, body: bytes) -> list[wire.KlineRows]:
        """`klineNum` bars of `klineType` per code, newest first, ending at `timestamp` (seconds,
        inclusive of the bar opening then) or now."""
        try:
            request = wire.KLINE_REQUEST.decode(body)
        except msgspec.ValidationError as exc:
            raise rest_param_error(_field_of(str(exc))) from None
        except msgspec.DecodeError:
            raise RestError(RET_BAD_REQUEST, f"Bad request{COLON}the body is not a JSON object") from None
        if not request.codes or not split_codes(request.codes):
            raise rest_param_lost("codes")
        kline_type = _integer(request.klineType, "klineType")
        if not MIN_KLINE_TYPE <= kline_type <= MAX_KLINE_TYPE:
            raise rest_param_error(f"klineType must be {MIN_KLINE_TYPE} to {MAX_KLINE_TYPE}")
        count = _integer(request.klineNum, "klineNum")
        if count < 1:
            raise rest_param_error("klineNum must be at least 1")
        if count > MAX_KLINE_NUM:
            raise RestError(RET_KLINE_OVER_LIMIT, f"Kline quantity exceeds the limit{COLON}{MAX_KLINE_NUM}")
        end_ms = None
        if request.timestamp is not None:
            end_s = _integer(request.timestamp, "timestamp")
            if end_s > _MAX_TIMESTAMP_S:
                raise rest_param_error("timestamp is in seconds")
            end_ms = end_s * 1000
        markets = self._markets_of(request.codes)
        if len(split_codes(request.codes)) > 1:
            count = min(count, MAX_KLINE_NUM_BATCHED)
        interval = KLINE_INTERVALS[kline_type]
        md = self.venue.marketdata
        rows = []
        for code, market in markets:
            bars = md.bars(market.symbol, interval, None, end_ms, count)
            rows.append(wire.KlineRows(code, [wire.candle(market, bar) for bar in reversed(bars)]))
        return rows

    # -- reference data ------------------------------------------------------------------------

    def symbol_list(self, type_: str | None, codes: str | None) -> list[wire.SymbolRow]:
        rows = []
        for code, market in self._listed(type_, codes):
            name = f"{market.base}/{market.quote}"
            rows.append(wire.SymbolRow(code, name_cn=name, name_hk=name, name_en=name))
        return rows

    def symbol_info(self, type_: str | None, codes: str | None) -> list[wire.SymbolInfo]:
        rows = []
        for code, market in self._listed(type_, codes):
            name = f"{market.base}/{market.quote}"
            rows.append(
                wire.SymbolInfo(
                    symbol=code,
                    market=CRYPTO,
                    name_cn=name,
                    name_en=name,
                    name_hk=name,
                    exchange=EXCHANGE,
                    currency=market.quote,
                    base=market.base,
                    price_precision=market.price_precision,
                    amount_precision=market.amount_precision,
                    min_amount=format_trimmed(market.min_amount, market.amount_precision),
                    min_value=format_trimmed(market.min_value, market.value_decimals),
                )
            )
        return rows

    def package_info(self) -> wire.PackageInfo:
        """The limits this server enforces on every key, in Infoway's field names."""
        limits = self.limits
        per_minute = limits.rest_calls_per_minute
        return wire.PackageInfo(
            packageName=f"sandex {self.profile}",
            expireTime=None,
            apiNumPerSec=max(1, per_minute // 60) if per_minute else None,
            apiNumPerMin=per_minute or None,
            maxWsConNum=limits.max_connections_per_key or None,
            maxNum=limits.max_symbols_per_type or None,
            allWsNum=limits.max_symbols_per_key or None,
            wsNumPerMin=limits.frames_per_minute or None,
        )

    # -- helpers -------------------------------------------------------------------------------

    def _markets_of(self, codes: str) -> list[tuple[str, Market]]:
        """The markets of a comma list of codes, in request order; unknown codes are skipped, and
        none known at all is Infoway's "All product not exists"."""
        wanted = split_codes(codes)
        if not wanted:
            raise rest_param_lost("codes")
        if len(wanted) > MAX_CODES:
            raise RestError(RET_PRODUCTS_OVER_LIMIT, f"Products quantity exceeds the limit{COLON}{MAX_CODES}")
        found = []
        for code in wanted:
            symbol = self.symbols.venue_symbol(code)
            if symbol is not None:
                found.append((code, self.markets[symbol]))
        if not found:
            raise RestError(RET_SERVER_ERROR, f"{MSG_NO_PRODUCT}{COLON}{','.join(wanted)}")
        return found

    def _listed(self, type_: str | None, codes: str | None) -> list[tuple[str, Market]]:
        """The markets of a symbols query: `type` must be CRYPTO; `symbols` filters (all if absent)."""
        if not type_:
            raise rest_param_lost("type")
        if type_ not in SYMBOL_TYPES:
            raise rest_param_error(f"type must be one of {', '.join(sorted(SYMBOL_TYPES))}")
        if type_ != CRYPTO:
            raise not_simulated(f"type {type_}")
        wanted = split_codes(codes) if codes else None
        if wanted is not None and len(wanted) > MAX_CODES:
            raise RestError(RET_PRODUCTS_OVER_LIMIT, f"Products quantity exceeds the limit{COLON}{MAX_CODES}")
        listed = [
            (code, market) for market in self.markets.values() if (code := self.symbols.code(market.symbol))
        ]
        if wanted is None:
            return listed
        chosen = set(wanted)
        return [(code, market) for code, market in listed if code in chosen]


def _integer(value: int | str | None, name: str) -> int:
    """A JSON integer, or a string of ASCII digits (nothing else: no sign, space or other digits)."""
    if value is None or value == "":
        raise rest_param_lost(name)
    if isinstance(value, int):
        return value
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise rest_param_error(f"{name} must be an integer")
    return int(value)


def _field_of(message: str) -> str:
    """`Expected \\`int | str\\`, got \\`float\\` - at \\`$.klineNum\\`` -> `klineNum has the wrong type`."""
    _, _, at = message.rpartition("$.")
    name = at.rstrip("`") if at else ""
    return f"{name} has the wrong type" if name else "the body must be a JSON object"
