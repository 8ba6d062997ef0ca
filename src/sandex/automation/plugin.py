"""The automation plugin: the engine hooks, the snapshot, and which part handles which command.

The plugin is deterministic like the rest of the engine: its time is the command's `engine.now`,
its ids come from a counter (`model.automation_id`), and everything it decides is a function of
the commands applied so far. Its state is one `AutomationState` value in the engine snapshot;
every change goes through journaled commands or through the trades those commands cause, so
tasks and pnl orders survive a restart (snapshot + replay) unchanged.

The work is split into managers that share an `AutomationContext`:
- `FollowManager` (follow): copy-trading task commands, and copying target fills;
- `PnlManager` (pnl): pnl orders of copied buys, trailing and resizing their triggers;
- `OrderManager` (orders): limit and swap orders;
- `Executor` (execution): places the market orders and reports each outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from ..core.commands import Command
from ..core.engine import Engine
from ..core.events import TradeEvent, TriggerEvent
from ..core.plugin import EnginePlugin
from .commands import (
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
from .context import AutomationContext
from .follow import FollowManager
from .model import AutomationState
from .orders import OrderManager
from .pnl import PnlManager


class Automation(EnginePlugin):
    #: The snapshot key: kept from when the plugin was called copy trading, so data dirs written
    #: before the rename load their tasks and pnl orders.
    name = "copytrading"
    commands = AUTOMATION_COMMANDS

    def __init__(self) -> None:
        self.state = AutomationState()

    def attach(self, engine: Engine) -> None:
        super().attach(engine)
        self._wire()

    def _wire(self) -> None:
        self.ctx = AutomationContext(self.engine, self.state)
        self.pnl = PnlManager(self.ctx)
        self.follow = FollowManager(self.ctx, self.pnl)
        self.orders = OrderManager(self.ctx)
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
        # A copy's trade is followed too (a copy of a copy), carrying the wallets upstream of it.
        self.follow.on_trade(trade, own.ticket.lineage if own is not None and own.ticket.is_copy else None)

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
