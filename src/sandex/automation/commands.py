"""Commands of the automation layer (copy trading, pnl orders, limit and swap orders).

Like every engine command they are tagged msgspec structs journaled before they are applied, so
tasks and their orders survive restarts by replay. Importing this module registers them with the
journal's decoder.
"""

from __future__ import annotations

from msgspec import Struct, field

from ..core.commands import Command, register_command
from ..core.literals import Direction, Side
from .model import TaskSpec


class CreateCopyTask(Command, tag="cp_new"):
    account_id: int
    spec: TaskSpec


class ReplaceCopyTask(Command, tag="cp_set"):
    """Edit = full replace: settings the request left out are back to their defaults."""

    account_id: int
    task_id: str
    spec: TaskSpec


class ToggleCopyTasks(Command, tag="cp_tog"):
    """Enable or disable tasks, all or none (an unknown id changes nothing).

    `close_pnl` (only when disabling) also disables the pnl orders the tasks created."""

    account_id: int
    task_ids: list[str]
    enabled: bool
    close_pnl: bool = False


class MoveCopyTasks(Command, tag="cp_mov"):
    """Let tasks trade from another wallet of the same account from now on."""

    account_id: int
    task_ids: list[str]
    wallet_id: str


class DeleteCopyTasks(Command, tag="cp_del"):
    account_id: int
    task_ids: list[str]
    delete_pnl: bool = False


class LimitSetting(Struct, kw_only=True, array_like=True, omit_defaults=True):
    enabled: bool = True
    side: Side
    trigger_price: int  # market price scale
    direction: Direction
    quote_amount: int = 0  # buys: quote to spend, ledger scale
    sell_ratio: int = 0  # sells: share of the free base balance (ratio scale)
    expire_delta: int = 0  # ms; 0 = never
    expire_execute: bool = False
    view: str = "{}"


class CreateLimitOrders(Command, tag="lo_new"):
    account_id: int
    symbol: str
    wallet_id: str
    chain: str
    group_id: str
    settings: list[LimitSetting] = field(default_factory=list)


class UpdateLimitOrder(Command, tag="lo_set"):
    """Replace a waiting limit order's trigger, size and expiry (its id stays)."""

    account_id: int
    order_id: str
    setting: LimitSetting


class DeleteLimitOrders(Command, tag="lo_del"):
    account_id: int
    order_ids: list[str]


class PlaceSwapOrder(Command, tag="sw_new"):
    """A fast buy (quote budget) or sell (ratio of the free base balance) at market, now."""

    account_id: int
    symbol: str
    wallet_id: str
    chain: str
    side: Side
    quote_amount: int = 0
    sell_ratio: int = 0


AUTOMATION_COMMANDS: tuple[type[Command], ...] = (
    CreateCopyTask,
    ReplaceCopyTask,
    ToggleCopyTasks,
    MoveCopyTasks,
    DeleteCopyTasks,
    CreateLimitOrders,
    UpdateLimitOrder,
    DeleteLimitOrders,
    PlaceSwapOrder,
)

for _cls in AUTOMATION_COMMANDS:
    register_command(_cls)
