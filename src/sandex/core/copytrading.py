"""Copy trading as an engine plugin: tasks that follow target wallets, the pnl orders (take-profit,
stop-loss, trailing stop) their copied buys leave behind, DBot limit orders and swap orders.

The plugin is deterministic like the rest of the engine: its time is the command's `engine.now`,
its ids come from a counter (`copy_model.automation_id`), and everything it decides is a function
of the commands applied so far. Its state is one `AutomationState` value in the engine snapshot;
every change goes through journaled commands or through the trades those commands cause, so
tasks and pnl orders survive a restart (snapshot + replay) unchanged.

The work is split into desks that share a `DeskContext`:
- `FollowDesk` (copy_follow): task commands, and copying target fills;
- `PnlDesk` (copy_pnl): pnl orders of copied buys, trailing and resizing their triggers;
- `OrderDesk` (copy_orders): limit and swap orders;
- `Executor` (copy_execution): places the market orders and reports each outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from .commands import Command
from .copy_commands import (
    AUTOMATION_COMMANDS,
    CreateCopyTask,
    CreateLimitOrders,
    DeleteCopyTasks,
    DeleteLimitOrders,
    MoveCopyTasks,
    PlaceSwapOrder,
    ReplaceCopyTask,
    ToggleCopyTasks,
    UpdateLimitOrder,
)
from .copy_desk import DeskContext
from .copy_follow import FollowDesk
from .copy_model import DEFAULT_CHAINS, AutomationState
from .copy_orders import OrderDesk
from .copy_pnl import PnlDesk
from .engine import Engine
from .events import TradeEvent, TriggerEvent
from .plugin import EnginePlugin

__all__ = ["CopyTrading"]


class CopyTrading(EnginePlugin):
    name = "copytrading"
    commands = AUTOMATION_COMMANDS

    def __init__(self, chains: Iterable[str] = DEFAULT_CHAINS) -> None:
        self.chains = frozenset(chains)
        self.state = AutomationState()

    def attach(self, engine: Engine) -> None:
        super().attach(engine)
        self._wire()

    def _wire(self) -> None:
        self.ctx = DeskContext(self.engine, self.state, self.chains)
        self.pnl = PnlDesk(self.ctx)
        self.follow = FollowDesk(self.ctx, self.pnl)
        self.orders = OrderDesk(self.ctx)
        self._handlers: dict[type, Callable[[Any], None]] = {
            CreateCopyTask: self.follow.create,
            ReplaceCopyTask: self.follow.replace,
            ToggleCopyTasks: self.follow.toggle,
            MoveCopyTasks: self.follow.move,
            DeleteCopyTasks: self.follow.delete,
            CreateLimitOrders: self.orders.create_limits,
            UpdateLimitOrder: self.orders.update_limit,
            DeleteLimitOrders: self.orders.delete_limits,
            PlaceSwapOrder: self.orders.swap,
        }

    # -- engine hooks ------------------------------------------------------------------------

    def handle(self, command: Command) -> None:
        self._handlers[type(command)](command)

    def on_trade(self, trade: TradeEvent) -> None:
        own = self.ctx.executor.on_trade(trade)
        self.pnl.on_trade(trade)
        if own is None or not own.ticket.is_copy:
            self.follow.on_trade(trade)

    def on_trigger(self, event: TriggerEvent) -> None:
        owner = self.ctx.triggers.get(event.trigger_id)
        if owner is not None:
            desk, record_id = owner
            desk.on_trigger(record_id, event)

    # -- snapshots ---------------------------------------------------------------------------

    def to_state(self) -> AutomationState:
        return self.state

    def from_state(self, state: Any) -> None:
        self.state = msgspec.convert(state, AutomationState)
        self._wire()
        self.pnl.reindex()
        self.follow.reindex()
        self.orders.reindex()
