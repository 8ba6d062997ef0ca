"""What the automation desks (follow, pnl, orders) share: the engine, the state, the executor,
who owns which engine trigger, and the id counter."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from ..core.commands import PlaceTrigger
from ..core.engine import Engine
from ..core.events import TriggerEvent
from ..core.orders import Trigger
from .events import AutomationEvent
from .execution import Executor
from .model import FINISHED_KEPT, AutomationState, automation_id


class Finishable(Protocol):
    id: str
    account_id: int
    finished_seq: int


class TriggerOwner(Protocol):
    def on_trigger(self, record_id: str, event: TriggerEvent) -> None: ...


class AutomationContext:
    def __init__(self, engine: Engine, state: AutomationState) -> None:
        self.engine = engine
        self.state = state
        self.executor = Executor(engine)
        #: engine trigger id -> (owning desk, record id); only triggers still waiting/disabled
        self.triggers: dict[int, tuple[TriggerOwner, str]] = {}
        #: (collection, account) -> finished record ids, oldest first (for pruning)
        self._finished: dict[tuple[str, int], deque[str]] = {}

    def new_id(self) -> str:
        n = self.state.next_id
        self.state.next_id = n + 1
        return automation_id(self.engine.seed, n)

    def announce(self, account_id: int, kind: str, action: str, ids: list[str]) -> None:
        self.engine.emit(AutomationEvent, account_id, kind, action, ids)

    # -- triggers ----------------------------------------------------------------------------

    def place_trigger(self, owner: TriggerOwner, record_id: str, command: PlaceTrigger, enabled: bool) -> int:
        """Place an engine trigger for a record; returns its id (0 if the engine refused)."""
        trigger = self.engine.place_trigger(command)
        if trigger is None:
            return 0
        trigger_id: int = trigger.id
        self.triggers[trigger_id] = (owner, record_id)
        if not enabled:
            self.engine.set_trigger_enabled(trigger, False)
        return trigger_id

    def cancel_trigger(self, trigger_id: int, reason: str) -> None:
        # Forget the owner first: the engine reports the cancel back through on_trigger, and a
        # cancel we asked for is not news.
        self.triggers.pop(trigger_id, None)
        trigger = self.engine.triggers.get(trigger_id)
        if trigger is not None:
            self.engine.cancel_trigger(trigger, reason)

    def set_trigger_enabled(self, trigger_id: int, enabled: bool) -> None:
        trigger: Trigger | None = self.engine.triggers.get(trigger_id)
        if trigger is not None:
            self.engine.set_trigger_enabled(trigger, enabled)

    # -- finished records --------------------------------------------------------------------

    def finished(self, collection: str, record: Finishable, records: dict) -> None:  # type: ignore[type-arg]
        """Mark `record` finished; drop the account's oldest finished records past the cap."""
        self.state.finished_seq += 1
        record.finished_seq = self.state.finished_seq
        queue = self._finished.setdefault((collection, record.account_id), deque())
        queue.append(record.id)
        while len(queue) > FINISHED_KEPT:
            records.pop(queue.popleft(), None)

    def index_finished(self, collection: str, records: dict) -> None:  # type: ignore[type-arg]
        """Rebuild the pruning queues after a snapshot load."""
        done = sorted((r for r in records.values() if r.finished_seq), key=lambda r: r.finished_seq)
        for record in done:
            self._finished.setdefault((collection, record.account_id), deque()).append(record.id)
