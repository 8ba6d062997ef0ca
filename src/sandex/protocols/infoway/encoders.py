"""Server frames as JSON bytes: welcome, acks, errors and the three pushes.

Field order follows the frames recorded from the real server (msgspec writes struct fields in
declaration order). Money leaves as decimal strings without trailing zeros (`"63039"`,
`"0.07933"`), as Infoway writes them; it is formatted from the engine's scaled integers, never
through a float. Pushes carry no trace and one symbol per frame.
"""

from __future__ import annotations

from typing import Final

import msgspec
from msgspec import Struct

from sandex.core.commands import BUY, SELL
from sandex.core.events import TradeEvent
from sandex.core.markets import Market
from sandex.core.numbers import format_trimmed
from sandex.marketdata.book import Top
from sandex.marketdata.klines import Bar

from . import codes

_encode: Final = msgspec.json.Encoder().encode


# -- replies -----------------------------------------------------------------------------------


class _Welcome(Struct):
    code: int
    msg: str


class _Ack(Struct):
    code: int
    trace: str
    msg: str


class _Error(Struct):
    traceId: str | None  # the request's trace; null when there was none to echo
    code: int
    msg: str


def welcome() -> bytes:
    return _encode(_Welcome(codes.WELCOME, codes.WELCOME_MSG))


def ack(code: int, trace: str) -> bytes:
    return _encode(_Ack(code, trace, codes.ACK_OK))


def error(code: int, msg: str, trace: str | None = None) -> bytes:
    return _encode(_Error(trace, code, msg))


# -- pushes ------------------------------------------------------------------------------------


class TradeData(Struct):
    s: str  # Infoway code, BTCUSDT
    p: str  # price
    v: str  # amount (base)
    vw: str  # turnover p x v, exact
    t: int  # trade time, ms
    td: int  # taker side: 1 buy, 2 sell (0 unknown)


class DepthData(Struct):
    s: str
    t: int  # snapshot time, ms
    a: list[list[str]]  # asks, best (lowest) first: [[prices...], [sizes...]]
    b: list[list[str]]  # bids, best (highest) first


class KlineData(Struct):
    s: str
    o: str
    h: str
    l: str  # noqa: E741  # low (the wire name)
    c: str
    v: str  # base volume
    vw: str  # quote volume (turnover)
    pca: str  # c - o
    pfr: str  # (c - o) / o as a percent with 2 decimals, e.g. "-0.01%"
    ty: int  # Infoway kline type 1..12
    t: str  # bar start, epoch SECONDS, as a string (sic)


class _Push(Struct):
    code: int
    data: TradeData | DepthData | KlineData


_TD: Final = {BUY: codes.TD_BUY, SELL: codes.TD_SELL}


def trade_push(code: str, market: Market, trade: TradeEvent) -> bytes:
    data = TradeData(
        s=code,
        p=format_trimmed(trade.price, market.price_precision),
        v=format_trimmed(trade.amount, market.amount_precision),
        vw=format_trimmed(trade.value, market.value_decimals),
        t=trade.ts,
        td=_TD.get(trade.taker_side, codes.TD_UNKNOWN),
    )
    return _encode(_Push(codes.PUSH_TRADE, data))


def depth_push(code: str, market: Market, top: Top, ts_ms: int) -> bytes:
    """A full snapshot of the top levels, column-major (`top` is (bids, asks), best first)."""
    bids, asks = top
    pp, ap = market.price_precision, market.amount_precision
    data = DepthData(
        s=code,
        t=ts_ms,
        a=[[format_trimmed(p, pp) for p, _ in asks], [format_trimmed(q, ap) for _, q in asks]],
        b=[[format_trimmed(p, pp) for p, _ in bids], [format_trimmed(q, ap) for _, q in bids]],
    )
    return _encode(_Push(codes.PUSH_DEPTH, data))


def kline_push(code: str, market: Market, bar: Bar, kline_type: int) -> bytes:
    pp = market.price_precision
    change = bar.close - bar.open
    data = KlineData(
        s=code,
        o=format_trimmed(bar.open, pp),
        h=format_trimmed(bar.high, pp),
        l=format_trimmed(bar.low, pp),
        c=format_trimmed(bar.close, pp),
        v=format_trimmed(bar.volume, market.amount_precision),
        vw=format_trimmed(bar.quote_volume, market.value_decimals),
        pca=format_trimmed(change, pp),
        pfr=percent_change(change, bar.open),
        ty=kline_type,
        t=str(bar.open_time // 1000),
    )
    return _encode(_Push(codes.PUSH_KLINE, data))


def percent_change(change: int, base: int) -> str:
    """`change / base` as a percent with two decimals and a `%`, rounded half away from zero.

    Integer arithmetic on the scaled prices (both share the price scale, so it cancels out).
    A change that rounds to zero is written "0.00%", without a sign.
    """
    if base <= 0:
        return "0.00%"
    hundredths, remainder = divmod(abs(change) * 10_000, base)
    if 2 * remainder >= base:
        hundredths += 1
    sign = "-" if change < 0 and hundredths else ""
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}%"
