"""Events: the only output of the engine.

Every event carries a global sequence number `seq` (dense, starting at 1) and the command's
timestamp `ts` in milliseconds. Events carry absolute state after the change (the order's
filled amount, a wallet's free and held balance), so a consumer never has to know what came
before to render one. Scales: prices by the market's price precision, base amounts by its
amount precision, `value` (price x amount) by both added, balances and fees by LEDGER_DECIMALS.
"""

from __future__ import annotations

from msgspec import Struct

# Order status
OPEN = "open"  # resting, nothing filled
PARTIAL = "partial"  # resting, partly filled
FILLED = "filled"
CANCELLED = "cancelled"  # check `filled` to tell "cancelled unfilled" from "cancelled partly filled"

# Why an order event was emitted
R_PLACED = "placed"
R_FILL = "fill"
R_AMENDED = "amended"
R_CANCELLED = "cancelled"  # by its owner
R_IOC = "ioc"  # the unfilled rest of an IOC or market order
R_SELF_TRADE = "self_trade"  # resting order removed by self-trade prevention
R_NO_LIQUIDITY = "no_liquidity"  # market order found nothing (or only dust) to take

# Reject codes (dialects map them to their documented errors)
E_UNKNOWN_SYMBOL = "unknown_symbol"
E_UNKNOWN_ACCOUNT = "unknown_account"
E_UNKNOWN_WALLET = "unknown_wallet"
E_INVALID_PRICE = "invalid_price"
E_INVALID_AMOUNT = "invalid_amount"
E_INVALID_SIDE = "invalid_side"
E_INVALID_TYPE = "invalid_type"
E_BELOW_MIN_AMOUNT = "below_min_amount"
E_BELOW_MIN_VALUE = "below_min_value"
E_INSUFFICIENT_BALANCE = "insufficient_balance"
E_POST_ONLY_WOULD_TAKE = "post_only_would_take"
E_ORDER_NOT_FOUND = "order_not_found"
E_NOT_CANCELLABLE = "not_cancellable"
E_DUPLICATE_KEY = "duplicate_api_key"
E_NOT_FOUND = "not_found"


class Event(Struct, tag_field="e", array_like=True, gc=False):
    seq: int
    ts: int


class OrderEvent(Event, tag="order"):
    order_id: int
    account_id: int
    wallet_id: str
    symbol: str
    side: str
    kind: str  # limit | market
    tif: str  # gtc | ioc | post_only
    price: int  # limit price (0 for market orders)
    amount: int  # total base amount (0 for a market buy sized by quote)
    quote_amount: int  # market buy: quote to spend, ledger scale
    filled: int  # base filled so far
    filled_value: int  # quote value filled so far (value scale)
    resting: int  # base amount resting on the book now (0 when not on the book)
    status: str  # OPEN | PARTIAL | FILLED | CANCELLED
    reason: str  # R_*
    created_ts: int
    client_order_id: str
    source: str
    source_id: str


class Rejected(Event, tag="reject"):
    """A command the engine refused; nothing changed."""

    account_id: int
    symbol: str
    code: str  # E_*
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
    taker_side: str
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
    side: str
    trigger_price: int
    direction: str
    kind: str
    price: int
    amount: int
    quote_amount: int
    expires_at: int
    status: str  # waiting | triggered | cancelled | expired | failed | disabled
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


# Trigger statuses
T_WAITING = "waiting"
T_TRIGGERED = "triggered"
T_CANCELLED = "cancelled"
T_EXPIRED = "expired"
T_FAILED = "failed"
T_DISABLED = "disabled"
