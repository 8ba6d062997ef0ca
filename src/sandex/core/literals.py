"""The engine's closed sets of words, each defined once: sides, order kinds, time in force,
order and trigger statuses, why an event was emitted, and reject codes.

Each set is a `Literal` type (what the fields of commands, events, orders and triggers are
declared as: mypy checks every use, and msgspec refuses any other word when it decodes a
command or an event) plus one `Final` constant per word (what code compares against). They are
`Literal`s rather than `StrEnum`s on purpose: the values stay plain `str` at run time, so the
compiled engine compares them as strings on its hot path and the journal and the event stream
keep their bytes (the engine benchmark's reference hashes).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# ------------------------------------------------------------------ orders
Side = Literal["buy", "sell"]
BUY: Final = "buy"
SELL: Final = "sell"

OrderKind = Literal["limit", "market"]
LIMIT: Final = "limit"
MARKET: Final = "market"

#: Limit orders only; a market order is always IOC.
TimeInForce = Literal["gtc", "ioc", "post_only"]
GTC: Final = "gtc"
IOC: Final = "ioc"
POST_ONLY: Final = "post_only"

OrderStatus = Literal["open", "partial", "filled", "cancelled"]
OPEN: Final = "open"  # resting, nothing filled
PARTIAL: Final = "partial"  # resting, partly filled
FILLED: Final = "filled"
CANCELLED: Final = "cancelled"  # check `filled` to tell "cancelled unfilled" from "cancelled partly filled"

#: Why an order event was emitted.
OrderReason = Literal[
    "placed",
    "fill",
    "amended",
    "cancelled",
    "ioc",
    "self_trade",
    "no_liquidity",
    "post_only",
    "replay_seek",
]
R_PLACED: Final = "placed"
R_FILL: Final = "fill"
R_AMENDED: Final = "amended"
R_CANCELLED: Final = "cancelled"  # by its owner
R_IOC: Final = "ioc"  # the unfilled rest of an IOC or market order
R_SELF_TRADE: Final = "self_trade"  # resting order removed by self-trade prevention
R_NO_LIQUIDITY: Final = "no_liquidity"  # market order found nothing (or only dust) to take
R_POST_ONLY: Final = "post_only"  # a post-only order that would have taken: cancelled, unfilled
#: resting order cancelled because its replayed market was sought to another time
R_REPLAY_SEEK: Final = "replay_seek"

# ------------------------------------------------------------------ triggers
#: "up": fires when the last price >= the trigger price; "down": when it is <=.
Direction = Literal["up", "down"]
UP: Final = "up"
DOWN: Final = "down"

TriggerStatus = Literal["waiting", "triggered", "cancelled", "expired", "failed", "disabled"]
T_WAITING: Final = "waiting"
T_TRIGGERED: Final = "triggered"
T_CANCELLED: Final = "cancelled"
T_EXPIRED: Final = "expired"
T_FAILED: Final = "failed"
T_DISABLED: Final = "disabled"

# ------------------------------------------------------------------ rejections
#: Why the engine refused a command (dialects map them to their documented errors).
RejectCode = Literal[
    "unknown_symbol",
    "unknown_account",
    "unknown_wallet",
    "invalid_price",
    "invalid_amount",
    "invalid_side",
    "invalid_type",
    "below_min_amount",
    "below_min_value",
    "insufficient_balance",
    "post_only_would_take",
    "order_not_found",
    "not_cancellable",
    "duplicate_api_key",
    "not_found",
]
E_UNKNOWN_SYMBOL: Final = "unknown_symbol"
E_UNKNOWN_ACCOUNT: Final = "unknown_account"
E_UNKNOWN_WALLET: Final = "unknown_wallet"
E_INVALID_PRICE: Final = "invalid_price"
E_INVALID_AMOUNT: Final = "invalid_amount"
E_INVALID_SIDE: Final = "invalid_side"
E_INVALID_TYPE: Final = "invalid_type"
E_BELOW_MIN_AMOUNT: Final = "below_min_amount"
E_BELOW_MIN_VALUE: Final = "below_min_value"
E_INSUFFICIENT_BALANCE: Final = "insufficient_balance"
E_POST_ONLY_WOULD_TAKE: Final = "post_only_would_take"
E_ORDER_NOT_FOUND: Final = "order_not_found"
E_NOT_CANCELLABLE: Final = "not_cancellable"
E_DUPLICATE_KEY: Final = "duplicate_api_key"
E_NOT_FOUND: Final = "not_found"

#: Every word of each set, for checks and tests.
SIDES: Final = frozenset(get_args(Side))
ORDER_KINDS: Final = frozenset(get_args(OrderKind))
TIMES_IN_FORCE: Final = frozenset(get_args(TimeInForce))
ORDER_STATUSES: Final = frozenset(get_args(OrderStatus))
ORDER_REASONS: Final = frozenset(get_args(OrderReason))
DIRECTIONS: Final = frozenset(get_args(Direction))
TRIGGER_STATUSES: Final = frozenset(get_args(TriggerStatus))
REJECT_CODES: Final = frozenset(get_args(RejectCode))
