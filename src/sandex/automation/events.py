"""Events of the automation layer, and the error codes of failed automated trades.

`TradeResult` is the outcome of every automated trade attempt — copied buys and sells, pnl
orders, limit orders, swap orders — successful or not. It carries everything a dialect needs to
render a trade notification (e.g. DBot's) without looking anything up.
"""

from __future__ import annotations

from enum import StrEnum

from ..core.events import Event
from ..core.literals import Side
from .model import DONE, EXPIRED, FAIL, ResultState

__all__ = ["DONE", "EXPIRED", "FAIL"]  # TradeResult.state, defined with the other states in model

# TradeResult.source: the automation's order sources (a dialect may show them as they are)
SRC_FOLLOW = "follow_order"
SRC_LIMIT = "limit_order"  # limit orders, and take-profit / stop-loss orders
SRC_TRAILING = "trailing_stop_order"
SRC_SWAP = "swap_order"


class TradeError(StrEnum):
    """Why an automated trade attempt failed (`TradeResult.error_code`). A dialect shows them as
    they are: DBot documents E_OTHERS and the shape; the specific codes are sandex's, so a client
    can tell failures apart. (The engine's reject codes, `core.events.E_*`, are a different list:
    why a command was refused.)"""

    INSUFFICIENT_BALANCE = "E_INSUFFICIENT_BALANCE"
    TOKEN_BLACKLISTED = "E_TOKEN_BLACKLISTED"
    TOKEN_NOT_WHITELISTED = "E_TOKEN_NOT_WHITELISTED"
    OUTSIDE_TRADING_HOURS = "E_OUTSIDE_TRADING_HOURS"
    TARGET_AMOUNT_OUT_OF_RANGE = "E_TARGET_AMOUNT_OUT_OF_RANGE"
    MAX_BUY_TIMES_REACHED = "E_MAX_BUY_TIMES_REACHED"
    MAX_BUY_AMOUNT_REACHED = "E_MAX_BUY_AMOUNT_REACHED"
    MAX_BALANCE_REACHED = "E_MAX_BALANCE_REACHED"
    RESERVED_AMOUNT = "E_RESERVED_AMOUNT"
    AMOUNT_TOO_SMALL = "E_AMOUNT_TOO_SMALL"
    NO_LIQUIDITY = "E_NO_LIQUIDITY"
    SLIPPAGE_EXCEEDED = "E_SLIPPAGE_EXCEEDED"
    EXPIRED = "E_EXPIRED"
    COPY_LOOP = "E_COPY_LOOP"
    COPY_DEPTH = "E_COPY_DEPTH"
    OTHERS = "E_OTHERS"


# Reject codes of automation commands (Rejected.code; the dialect maps them to its errors).
R_TASK_NOT_FOUND = "task_not_found"
R_ORDER_NOT_FOUND = "automation_order_not_found"
R_INVALID_TASK = "invalid_task"
R_INVALID_ORDER = "invalid_automation_order"


class AutomationEvent(Event, tag="auto"):
    """Tasks or orders were created/changed/deleted by a command (replies read the ids here)."""

    account_id: int
    kind: str  # follow_order | limit_order | swap_order | pnl_order
    action: str  # created | updated | enabled | disabled | moved | deleted
    ids: list[str]


class TradeResult(Event, tag="tresult"):
    account_id: int
    wallet_id: str
    result_id: str  # copies: <task id>_<trade id>; pnl/limit/swap orders: the order's id
    state: ResultState
    source: str  # SRC_*
    sub_source: str  # follow_take_profit | follow_stop_loss | follow_trailing_stop | ""
    source_id: str  # the task (copies, pnl orders) or order id
    chain: str
    side: Side
    symbol: str
    send_amount: int  # ledger scale: quote spent (buy) or base sold (sell)
    receive_amount: int  # ledger scale, net of the fee: base (buy) or quote (sell) received
    fill_amount: int  # base filled, market amount scale
    fill_value: int  # quote value filled, market value scale (price = fill_value / fill_amount)
    trade_id: int  # the first trade of the fill (a dialect's fill hash); 0 when nothing traded
    block: int  # that trade's event sequence number (a dialect's block); 0 when nothing traded
    error_code: str
    error_message: str
