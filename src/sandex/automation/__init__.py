"""Automation: copy-trading tasks, the pnl orders (take-profit, stop-loss, trailing stop) their
copied buys leave behind, limit orders and swap orders, as one deterministic engine plugin.

This module is the package's only public surface: dialects import from `sandex.automation`,
never from its submodules. Everything here is plain data and engine logic — no I/O, no wire
names; a dialect translates its requests into these commands and renders these records and
events in its own words.

- `model`: the records (tasks, pnl/limit/swap orders) and the scales of ratios;
- `commands`, `events`: what is journaled, and what the plugin reports;
- `plugin`: the `Automation` engine plugin, which routes commands to
  `follow` (tasks, copying fills), `pnl` (pnl orders), `orders` (limit and swap orders),
  all placing their trades through `execution`; `sizing` is the arithmetic.
"""

from __future__ import annotations

from .commands import (
    AUTOMATION_COMMANDS,
    CreateCopyTask,
    CreateLimitOrders,
    DeleteCopyTasks,
    DeleteLimitOrders,
    LimitSetting,
    MoveCopyTasks,
    PlaceSwapOrder,
    ReplaceCopyTask,
    ToggleCopyTasks,
    UpdateLimitOrder,
)
from .events import (
    DONE,
    EXPIRED,
    FAIL,
    SRC_FOLLOW,
    SRC_LIMIT,
    SRC_SWAP,
    SRC_TRAILING,
    AutomationEvent,
    TradeError,
    TradeResult,
)
from .model import (
    RATIO_DECIMALS,
    RATIO_ONE,
    AutomationState,
    BuySettings,
    CopyTask,
    LimitOrder,
    PnlOrder,
    PnlStep,
    SellSettings,
    SwapOrder,
    TaskSpec,
    automation_id,
)
from .plugin import Automation

__all__ = [
    "AUTOMATION_COMMANDS",
    "DONE",
    "EXPIRED",
    "FAIL",
    "RATIO_DECIMALS",
    "RATIO_ONE",
    "SRC_FOLLOW",
    "SRC_LIMIT",
    "SRC_SWAP",
    "SRC_TRAILING",
    "Automation",
    "AutomationEvent",
    "AutomationState",
    "BuySettings",
    "CopyTask",
    "CreateCopyTask",
    "CreateLimitOrders",
    "DeleteCopyTasks",
    "DeleteLimitOrders",
    "LimitOrder",
    "LimitSetting",
    "MoveCopyTasks",
    "PlaceSwapOrder",
    "PnlOrder",
    "PnlStep",
    "ReplaceCopyTask",
    "SellSettings",
    "SwapOrder",
    "TaskSpec",
    "ToggleCopyTasks",
    "TradeError",
    "TradeResult",
    "UpdateLimitOrder",
    "automation_id",
]
