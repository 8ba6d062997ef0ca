"""Events: the only output of the engine.

Every event carries a global sequence number `seq` (dense, starting at 1) and the command's
timestamp `ts` in milliseconds. Events carry absolute state after the change (the order's
filled amount, a wallet's free and held balance), so a consumer never has to know what came
before to render one. Scales: prices by the market's price precision, base amounts by its
amount precision, `value` (price x amount) by both added, balances and fees by LEDGER_DECIMALS.
"""

from __future__ import annotations

from msgspec import Struct

# The words, defined in .literals; importable from here as before.
from .literals import (
    CANCELLED as CANCELLED,
)
from .literals import (
    E_BELOW_MIN_AMOUNT as E_BELOW_MIN_AMOUNT,
)
from .literals import (
    E_BELOW_MIN_VALUE as E_BELOW_MIN_VALUE,
)
from .literals import (
    E_DUPLICATE_KEY as E_DUPLICATE_KEY,
)
from .literals import (
    E_INSUFFICIENT_BALANCE as E_INSUFFICIENT_BALANCE,
)
from .literals import (
    E_INVALID_AMOUNT as E_INVALID_AMOUNT,
)
from .literals import (
    E_INVALID_PRICE as E_INVALID_PRICE,
)
from .literals import (
    E_INVALID_SIDE as E_INVALID_SIDE,
)
from .literals import (
    E_INVALID_TYPE as E_INVALID_TYPE,
)
from .literals import (
    E_NOT_CANCELLABLE as E_NOT_CANCELLABLE,
)
from .literals import (
    E_NOT_FOUND as E_NOT_FOUND,
)
from .literals import (
    E_ORDER_NOT_FOUND as E_ORDER_NOT_FOUND,
)
from .literals import (
    E_POST_ONLY_WOULD_TAKE as E_POST_ONLY_WOULD_TAKE,
)
from .literals import (
    E_UNKNOWN_ACCOUNT as E_UNKNOWN_ACCOUNT,
)
from .literals import (
    E_UNKNOWN_SYMBOL as E_UNKNOWN_SYMBOL,
)
from .literals import (
    E_UNKNOWN_WALLET as E_UNKNOWN_WALLET,
)
from .literals import (
    FILLED as FILLED,
)
from .literals import (
    OPEN as OPEN,
)
from .literals import (
    PARTIAL as PARTIAL,
)
from .literals import (
    R_AMENDED as R_AMENDED,
)
from .literals import (
    R_CANCELLED as R_CANCELLED,
)
from .literals import (
    R_FILL as R_FILL,
)
from .literals import (
    R_IOC as R_IOC,
)
from .literals import (
    R_NO_LIQUIDITY as R_NO_LIQUIDITY,
)
from .literals import (
    R_PLACED as R_PLACED,
)
from .literals import (
    R_POST_ONLY as R_POST_ONLY,
)
from .literals import (
    R_SELF_TRADE as R_SELF_TRADE,
)
from .literals import (
    T_CANCELLED as T_CANCELLED,
)
from .literals import (
    T_DISABLED as T_DISABLED,
)
from .literals import (
    T_EXPIRED as T_EXPIRED,
)
from .literals import (
    T_FAILED as T_FAILED,
)
from .literals import (
    T_TRIGGERED as T_TRIGGERED,
)
from .literals import (
    T_WAITING as T_WAITING,
)
from .literals import (
    Direction,
    OrderKind,
    OrderReason,
    OrderStatus,
    Side,
    TimeInForce,
    TriggerStatus,
)


class Event(Struct, tag_field="e", array_like=True, gc=False):
    seq: int
    ts: int


class OrderEvent(Event, tag="order"):
    order_id: int
    account_id: int
    wallet_id: str
    symbol: str
    side: Side
    kind: OrderKind
    tif: TimeInForce
    price: int  # limit price (0 for market orders)
    amount: int  # total base amount (0 for a market buy sized by quote)
    quote_amount: int  # market buy: quote to spend, ledger scale
    filled: int  # base filled so far
    filled_value: int  # quote value filled so far (value scale)
    resting: int  # base amount resting on the book now (0 when not on the book)
    status: OrderStatus
    reason: OrderReason
    created_ts: int
    client_order_id: str
    source: str
    source_id: str


class Rejected(Event, tag="reject"):
    """A command the engine refused; nothing changed."""

    account_id: int
    symbol: str
    code: str  # a RejectCode of the engine's, or an engine plugin's own code
    message: str
    order_id: int = 0  # the order (or trigger) a cancel/amend named
    source: str = ""
    source_id: str = ""


class TradeEvent(Event, tag="trade"):
    trade_id: int
    symbol: str
    price: int
    amount: int
    value: int  # price * amount, value scale
    taker_side: Side
    maker_order_id: int
    taker_order_id: int
    maker_account_id: int
    taker_account_id: int
    maker_wallet_id: str
    taker_wallet_id: str
    maker_fee: int  # ledger scale, in the currency the maker received
    taker_fee: int  # ledger scale, in the currency the taker received


class BalanceEvent(Event, tag="bal"):
    """A wallet's balance of one currency after a command (one per touched pair per command)."""

    account_id: int
    wallet_id: str
    currency: str
    free: int  # ledger scale
    held: int  # ledger scale


class TriggerEvent(Event, tag="trig"):
    trigger_id: int
    account_id: int
    wallet_id: str
    symbol: str
    side: Side
    trigger_price: int
    direction: Direction
    kind: OrderKind
    price: int
    amount: int
    quote_amount: int
    expires_at: int
    status: TriggerStatus
    reason: str  # why this event (placed, fired, cancelled, expired, an E_* code on failure)
    order_id: int  # the order placed when it fired (0 before)
    created_ts: int
    source: str
    source_id: str
    sub_source: str
    group_id: str


class AccountEvent(Event, tag="acct"):
    account_id: int
    name: str
    api_key: str


class WalletEvent(Event, tag="wal"):
    account_id: int
    wallet_id: str
    name: str


class DepositEvent(Event, tag="dep"):
    account_id: int
    wallet_id: str
    currency: str
    amount: int  # ledger scale, negative for a debit


class ReplayDepthEvent(Event, tag="rdepth"):
    """Recorded depth of a replayed market (see sandex.replay): the replayed size of each level
    named, absolute (0 removes the level's replayed size; client orders there stay). `reset`:
    the market's replayed levels are cleared first. `time_ms` is the recording's exchange time,
    the market's clock."""

    symbol: str
    time_ms: int
    reset: bool
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class ReplaySeekEvent(Event, tag="rseek"):
    """A replayed market sought to `time_ms`: its replayed book is `bids`/`asks` (best first) and
    its trade history is `trades`, the recorded trades up to then (market data rebuilds its
    tape, tickers and klines from them, and every dialect re-sends what follows a reconnect)."""

    symbol: str
    time_ms: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    trades: list[TradeEvent]
