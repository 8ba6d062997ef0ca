"""Infoway's numeric protocol codes, error codes and kline types.

Every frame of the quote WebSocket is identified by an integer `code`: a request code from the
client, the matching ack code from the server, a push code for market data, or a 5xx error code.
The numbers are the wire contract, so they live in one place and nothing else spells them.
"""

from __future__ import annotations

from typing import Final, Literal

# -- connection -------------------------------------------------------------------------------
WELCOME: Final = 200
WELCOME_MSG: Final = "ws connect success"

# -- requests (client -> server), their acks and their pushes ----------------------------------
SUB_TRADE: Final = 10000
ACK_TRADE: Final = 10001
PUSH_TRADE: Final = 10002

SUB_DEPTH: Final = 10003
ACK_DEPTH: Final = 10004
PUSH_DEPTH: Final = 10005

SUB_KLINE: Final = 10006
ACK_KLINE: Final = 10007
PUSH_KLINE: Final = 10008

HEARTBEAT: Final = 10010
HEARTBEAT_ACK: Final = 10011  # only when the heartbeat asks for it with `ack: 1`

UNSUB_TRADE: Final = 11000
UNSUB_DEPTH: Final = 11001
UNSUB_KLINE: Final = 11002
ACK_UNSUB: Final = 11010  # one ack code for all three unsubscribes (the seeds)

ACK_OK: Final = "ok"

# -- errors (server -> client, `{"traceId", "code", "msg"}`) -----------------------------------
E_INTERNAL: Final = 500
E_RATE_LIMIT: Final = 501  # more than the per-minute frame budget; the connection is closed
E_SYMBOLS_PER_CONNECTION: Final = 505
E_PARAM_ERROR: Final = 506
E_PARAM_LOST: Final = 507
E_KEY_INVALID: Final = 509
E_KEY_BLACKLISTED: Final = 511
E_CONNECTIONS_OVER_LIMIT: Final = 512  # the key's connection cap; the connection is closed
E_HEARTBEAT_TIMEOUT: Final = 513  # no heartbeat in time; the connection is closed
E_NOT_JSON: Final = 515
E_SYMBOLS_PER_KEY: Final = 516  # distinct symbols per channel over all the key's connections

#: The subscription kinds. A connection keeps one symbol set per kind.
Channel = Literal["trade", "depth", "kline"]

SUBSCRIBE_CODES: Final[dict[int, Channel]] = {SUB_TRADE: "trade", SUB_DEPTH: "depth", SUB_KLINE: "kline"}
UNSUBSCRIBE_CODES: Final[dict[int, Channel]] = {
    UNSUB_TRADE: "trade",
    UNSUB_DEPTH: "depth",
    UNSUB_KLINE: "kline",
}
SUBSCRIBE_ACKS: Final[dict[Channel, int]] = {"trade": ACK_TRADE, "depth": ACK_DEPTH, "kline": ACK_KLINE}
KNOWN_CODES: Final = frozenset({*SUBSCRIBE_CODES, *UNSUBSCRIBE_CODES, HEARTBEAT})

#: Infoway kline `type` -> sandex kline interval. Infoway has no 12 h bar, so sandex's "12h"
#: series is simply never published on this dialect.
KLINE_INTERVALS: Final[dict[int, str]] = {
    1: "1m",
    2: "5m",
    3: "15m",
    4: "30m",
    5: "1h",
    6: "2h",
    7: "4h",
    8: "1d",
    9: "1w",
    10: "1M",
    11: "3M",
    12: "1y",
}
KLINE_TYPES: Final[dict[str, int]] = {interval: ktype for ktype, interval in KLINE_INTERVALS.items()}
MIN_KLINE_TYPE: Final = min(KLINE_INTERVALS)
MAX_KLINE_TYPE: Final = max(KLINE_INTERVALS)

#: Trade direction `td`: 0 unknown, 1 buy, 2 sell — the taker's side.
TD_UNKNOWN: Final = 0
TD_BUY: Final = 1
TD_SELL: Final = 2
