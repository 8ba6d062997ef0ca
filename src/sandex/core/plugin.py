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
    from .orders import Order


class EnginePlugin:
    """A deterministic extension of the engine (e.g. copy trading).

    It handles its own command types, sees every trade after the matching step that made it,
    and may place orders and triggers through the engine's public methods. Its state goes into
    the engine's snapshot.

    A plugin that names markets in `taker_markets` (set before it is added to the engine) is
    called around the matching of every order placed on them: `before_taker` once the order
    is valid and its funds are held, `after_taker` once it has matched and rested or been
    released. There it may add liquidity for the order to take (`Engine.rest_order`) and take
    away what is left (`Engine.cancel_resting_order`), as the replay does with the recorded
    book. Orders on other markets pay nothing for this.
    """

    name = "plugin"
    commands: tuple[type[Command], ...] = ()
    taker_markets: tuple[str, ...] = ()

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

    def crosses(self, symbol: str, buy: bool, price: int) -> bool:
        """Whether a limit order at `price` would take liquidity this plugin offers on `symbol`
        (one of its `taker_markets`): the engine cancels a post-only order that would."""
        return False

    def offered(self, symbol: str, buy: bool) -> list[tuple[int, int]]:
        """The liquidity this plugin would offer a taker buying (`buy`) or selling on `symbol`
        (one of its `taker_markets`), (price, size) in any order."""
        return []

    def before_taker(self, order: Order) -> None:
        pass

    def after_taker(self, order: Order) -> None:
        pass

    def to_state(self) -> Any:
        return None

    def from_state(self, state: Any) -> None:
        pass
