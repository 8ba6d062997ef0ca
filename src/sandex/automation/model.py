"""Plain records of the automation layer: copy-trading tasks, pnl orders, limit and swap orders.

Everything here is data: msgspec Structs with integer money (ledger scale, 18 decimals, for
quote budgets and balances; each market's own scales for prices and base amounts) and integer
ratios (RATIO_DECIMALS places, so 0.1 = 100_000_000). The plugin's snapshot is these records
encoded as JSON, which keeps ledger amounts beyond 64 bits exact.

Ids look like DBot's (14 lower-case base-36 characters) but come from a counter and the venue's
seed, never from the clock or randomness: replaying the journal gives the same ids, and so does
running the same commands on a fresh venue.
"""

from __future__ import annotations

import hashlib
from typing import Final, Literal

from msgspec import Struct, field

from ..core.literals import Direction, Side

# -- the words of the plugin: one definition each (msgspec checks them when a command is decoded)

BuyAmountType = Literal["fixed_amount", "fixed_ratio", "follow_amount"]
SellMode = Literal["mixed", "only_copy", "only_pnl"]
SellAmountType = Literal["all", "follow_ratio", "x_target_ratio"]
PnlKind = Literal["take_profit", "stop_loss", "trailing_stop"]
#: The life of a pnl, limit or swap order: waiting, placed, then one of the four ends.
OrderState = Literal["init", "processing", "done", "fail", "expired", "cancelled"]
#: The outcome of one automated trade attempt (`TradeResult.state`).
ResultState = Literal["done", "fail", "expired"]

INIT: Final = "init"
PROCESSING: Final = "processing"
DONE: Final = "done"
FAIL: Final = "fail"
EXPIRED: Final = "expired"
CANCELLED: Final = "cancelled"

TAKE_PROFIT: Final = "take_profit"
STOP_LOSS: Final = "stop_loss"
TRAILING_STOP: Final = "trailing_stop"

#: Decimal places of every ratio and percentage (buy ratio, slippage, take-profit percentages, ...).
RATIO_DECIMALS = 9
RATIO_ONE: int = 10**RATIO_DECIMALS

#: Per-token buy limits (buys and quote spent per token) count the last 7 days.
PER_TOKEN_WINDOW_MS = 7 * 24 * 3600 * 1000

#: Finished pnl/limit/swap records kept per account for the list views; older ones are dropped so
#: a long-running follower does not grow the snapshot without bound.
FINISHED_KEPT = 2000

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int, width: int) -> str:
    digits = []
    while n:
        n, r = divmod(n, 36)
        digits.append(_B36[r])
    return "".join(reversed(digits)).rjust(width, "0")


def automation_id(seed: int, n: int) -> str:
    """The n-th automation id of a venue: 6 hash characters then the counter in 8 base-36 digits.

    The counter part makes ids unique (up to 36**8 ids); the hash part only makes them look like
    DBot's, so clients that show or parse them see something familiar.
    """
    digest = int.from_bytes(hashlib.sha256(f"sandex-automation:{seed}:{n}".encode()).digest()[:8], "big")
    return base36(digest % 36**6, 6) + base36(n, 8)


# ---------------------------------------------------------------------------------------------
# Task settings (what a command carries; all scaled already)


class PnlStep(Struct, array_like=True):
    """One take-profit / stop-loss / trailing step: move the price by `price_percent`, sell
    `amount_percent` of what the copied buy received (both ratios)."""

    price_percent: int
    amount_percent: int


class BuySettings(Struct, kw_only=True):
    enabled: bool = True
    start_hour: int = 0  # UTC, inclusive
    end_hour: int = 23  # UTC, inclusive; start > end wraps midnight
    amount_type: BuyAmountType = "follow_amount"
    max_buy_amount: int  # quote, ledger scale: the cap (and the fixed amount) of one copied buy
    buy_ratio: int = RATIO_ONE
    max_balance: int | None = None  # quote balance above which buys stop; None = no ceiling
    reserved_amount: int = 0  # quote the wallet must keep after a buy
    target_min_amount: int = 0  # the target's fill value (quote, ledger scale) must be within
    target_max_amount: int | None = None
    max_buy_times_per_token: int | None = None
    max_buy_amount_per_token: int | None = None  # quote, ledger scale
    max_slippage: int = RATIO_ONE // 10


class SellSettings(Struct, kw_only=True):
    enabled: bool = True
    start_hour: int = 0
    end_hour: int = 23
    mode: SellMode = "mixed"
    amount_type: SellAmountType = "all"
    x_target_ratio: int = RATIO_ONE
    target_min_amount: int = 0
    target_max_amount: int | None = None
    take_profit: list[PnlStep] = field(default_factory=list)
    stop_loss: list[PnlStep] = field(default_factory=list)
    trailing_stop: list[PnlStep] = field(default_factory=list)
    expire_delta: int = 43_200_000  # ms; 0 = pnl orders never expire
    expire_execute: bool = False  # sell at market when a pnl order expires untriggered
    max_slippage: int = RATIO_ONE // 10


class TaskSpec(Struct, kw_only=True):
    name: str
    enabled: bool = True
    chain: str = ""  # a label the dialect checked (e.g. DBot's chain name), recorded on results
    target_ids: list[str]
    token_blacklist: list[str] = field(default_factory=list)  # base currencies or symbols
    token_whitelist: list[str] = field(default_factory=list)  # empty = every token
    wallet_id: str = ""  # "" = the account's first wallet
    group_id: str = ""
    buy: BuySettings
    sell: SellSettings
    #: The dialect's own rendering of the request (JSON), echoed back by its list views, so
    #: fields sandex accepts but does not act on (fees, tips, DEX filters) are not lost.
    view: str = "{}"


# ---------------------------------------------------------------------------------------------
# Live records (the plugin's state)


class CopyTask(Struct, kw_only=True):
    id: str
    account_id: int
    created_ts: int
    enabled: bool
    wallet_id: str
    spec: TaskSpec
    #: token -> [[ts, quote spent (ledger scale)], ...] of copied buys in the last 7 days
    buys: dict[str, list[list[int]]] = field(default_factory=dict)


class PnlOrder(Struct, kw_only=True):
    """A take-profit, stop-loss or trailing-stop sell created by a copied buy."""

    id: str
    account_id: int
    wallet_id: str
    symbol: str
    chain: str
    source: str  # follow_order
    source_id: str  # the task id
    source_trade_id: str  # the copied buy's result id: <task id>_<trade id> (its "position")
    kind: PnlKind
    group_idx: int
    base_value: int  # the buy's filled value (value scale) and amount: the base price is
    base_amount: int  # base_value / base_amount
    trigger_percent: int
    amount_percent: int
    amount: int  # base to sell, market scale
    trigger_price: int
    peak: int = 0  # trailing stops: the highest trade price seen since the buy
    expire_delta: int
    expires_at: int  # 0 = never
    expire_execute: bool
    enabled: bool = True
    disabled_by_task: bool = False  # disabled with its task, re-enabled with the task
    state: OrderState = "init"
    trigger_id: int = 0
    created_ts: int
    finished_seq: int = 0
    tx_value: int = 0
    tx_amount: int = 0
    error_code: str = ""
    error_message: str = ""


class LimitOrder(Struct, kw_only=True):
    """A limit order: a market buy (quote budget) or sell (ratio of the balance at creation)
    placed when the last price crosses the trigger."""

    id: str
    account_id: int
    wallet_id: str
    symbol: str
    chain: str
    group_id: str
    side: Side
    trigger_price: int
    direction: Direction
    quote_amount: int  # buys, ledger scale
    sell_ratio: int  # sells, ratio of the free base balance when created
    amount: int  # sells, base amount (market scale) that ratio came to
    expire_delta: int
    expires_at: int
    expire_execute: bool
    enabled: bool = True
    state: OrderState = "init"
    trigger_id: int = 0
    created_ts: int
    finished_seq: int = 0
    tx_value: int = 0
    tx_amount: int = 0
    error_code: str = ""
    error_message: str = ""
    view: str = "{}"


class SwapOrder(Struct, kw_only=True):
    """A swap (fast buy / sell): a market order now."""

    id: str
    account_id: int
    wallet_id: str
    symbol: str
    chain: str
    side: Side
    state: OrderState = "processing"
    created_ts: int
    finished_seq: int = 0
    tx_value: int = 0
    tx_amount: int = 0
    trade_id: int = 0
    error_code: str = ""
    error_message: str = ""


class AutomationState(Struct, kw_only=True):
    """Everything the copy-trading plugin keeps, as one snapshot-able value."""

    next_id: int = 1
    finished_seq: int = 0
    tasks: dict[str, CopyTask] = field(default_factory=dict)
    pnl_orders: dict[str, PnlOrder] = field(default_factory=dict)
    limit_orders: dict[str, LimitOrder] = field(default_factory=dict)
    swap_orders: dict[str, SwapOrder] = field(default_factory=dict)
    #: copied buy (<task id>_<trade id>) -> base amount its pnl orders may still sell
    positions: dict[str, int] = field(default_factory=dict)
