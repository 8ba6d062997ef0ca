"""The interface of engine plugins (e.g. copy trading).

Kept out of `engine.py` because that module is compiled (mypyc) and plugins are ordinary Python
classes: an interpreted class cannot inherit from a compiled one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .commands import Command
from .events import OrderEvent, TradeEvent, TriggerEvent

if TYPE_CHECKING:
    from .engine import Engine


class EnginePlugin:
    """A deterministic extension of the engine (e.g. copy trading).

    It handles its own command types, sees every trade after the matching step that made it,
    and may place orders and triggers through the engine's public methods. Its state goes into
    the engine's snapshot.
    """

    name = "plugin"
    commands: tuple[type[Command], ...] = ()

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    def handle(self, command: Command) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def on_trade(self, trade: TradeEvent) -> None:
        pass

    def on_trigger(self, event: TriggerEvent) -> None:
        pass

    def on_order(self, event: OrderEvent) -> None:
        pass

    def to_state(self) -> Any:
        return None

    def from_state(self, state: Any) -> None:
        pass
