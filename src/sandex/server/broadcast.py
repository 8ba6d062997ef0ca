"""Public market data in rounds: conflated, coalesced, paced, and always after private pushes.

Why rounds. One venue batch can be a single order (1,000 orders/s arrive as ~1,000 batches), and
publishing every batch's depth and trades to 1,000 subscribers at once is 2,000,000 writes a
second: the event loop drowns and the order path (REST request, journal, the account's own
`order.update`) queues behind the fan-out. So publishers push private updates at once, and only
*mark* public topics as changed; a round later takes everything changed since the last one —
all the trades, the depth diff from what subscribers hold to the book now (exact however many
batches it spans), the latest ticker — and fans it out.

How a round goes out:
- sources (one per dialect publisher) build their pushes, each frame encoded once;
- `TopicHub.plan` joins each subscription group's frames into one buffer, so a subscriber gets
  one write per round however many of its topics changed;
- the writes go out in slices of `slice_size` subscribers with the event loop free in between,
  so an order's path waits for one slice at most, never for a whole round;
- while clients' orders are in flight (`orders_in_flight()`: submitted, not yet acknowledged;
  the simulated market's own do not count), each slice is followed by a rest, so that fan-out
  takes at most `share` of the time (default 0.25). A slice's cost is timed until the loop comes
  back to the broadcaster, because the event loop (uvloop) makes the slice's socket writes after
  the slice's Python code returns. The rest, not the loop pass between slices, is what protects
  an order: a slice to 128 subscribers is about 1.5 ms of sends on loopback, and while it runs
  the sends and the subscribers' reads take the two cores of a small machine, so the journal's
  fsync and the writer thread's wake-up wait, and the order's ack with them. With nothing in
  flight, slices follow each other at once;
- rounds start at least `min_interval_s` apart. Under load rounds grow, not queues: the backlog
  is conflated.

Sessions with fault profiles get their frames one by one, so delays apply per frame and the depth
faults (skip a diff, send a stale snapshot) decide per frame, as with `FaultController.publish_depth`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, NamedTuple

from ..background import BackgroundTask
from .hub import Delivery, TopicHub

if TYPE_CHECKING:
    from ..faults import FaultController

log = logging.getLogger("sandex.server.broadcast")

__all__ = ["Broadcaster", "Push", "RoundSource"]

#: The longest rest after one slice (a slice to 128 subscribers costs about 1.5 ms).
MAX_REST_S = 0.02


class Push(NamedTuple):
    """One public frame of a round."""

    topic: Hashable
    frame: bytes
    #: A depth diff the skip-depth fault may withhold from a faulted session.
    skippable: bool = False
    #: An older snapshot the stale-depth fault may send to a faulted session instead of `frame`.
    stale: bytes | None = None


#: Called at the start of each round: every push pending since the last round, built now.
RoundSource = Callable[[], list[Push]]


class Broadcaster:
    def __init__(
        self,
        hub: TopicHub,
        faults: FaultController | None = None,
        *,
        min_interval_s: float = 0.0,
        share: float = 0.25,
        slice_size: int = 128,
        orders_in_flight: Callable[[], bool] | None = None,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], got {share}")
        self.hub = hub
        self.faults = faults
        self.min_interval_s = min_interval_s
        self.share = share
        self.slice_size = max(1, slice_size)
        self.orders_in_flight = orders_in_flight
        self.rounds = 0
        self._sources: list[RoundSource] = []
        self._wakeup = asyncio.Event()
        self._runner = BackgroundTask(self._run, "market-data-rounds")

    def add_source(self, source: RoundSource) -> None:
        self._sources.append(source)

    def wake(self) -> None:
        """Something public changed: make sure a round runs soon. Cheap; call it per batch."""
        self._wakeup.set()

    # -- a round -----------------------------------------------------------------------------

    def _collect(self) -> list[Push]:
        pushes: list[Push] = []
        for source in self._sources:
            try:
                pushes.extend(source())
            except Exception:  # one dialect's bug must not stop the others' market data
                log.exception("market data source %r failed", source)
        return pushes

    def _deliver(self, pushes: list[Push], data: bytes, count: int, session: object) -> None:
        faults = getattr(session, "faults", None)
        if faults is None:
            session.send_frames(data, count)  # type: ignore[attr-defined]
            return
        # Fault profiles in force: frame by frame, with the depth faults' say on each.
        topics = session.topics or ()  # type: ignore[attr-defined]
        controller = self.faults
        for push in pushes:
            if push.topic not in topics:
                continue
            frame: bytes | None = push.frame
            if controller is not None:
                frame = controller.depth_frame(
                    session,
                    push.frame,
                    skippable=push.skippable,
                    stale=push.stale,
                )
            if frame is not None:
                session.send_frame(frame)  # type: ignore[attr-defined]

    def _prepare(self) -> tuple[list[Push], list[Delivery]]:
        """The round's pushes and, per subscription group, what its members get."""
        pushes = self._collect()
        return pushes, self.hub.plan([(p.topic, p.frame) for p in pushes])

    def run_round(self) -> int:
        """One whole round, synchronously (no slicing); returns subscribers written to."""
        pushes, plan = self._prepare()
        written = 0
        for data, count, members in plan:
            for session in members:
                self._deliver(pushes, data, count, session)
                written += 1
        self.rounds += 1
        return written

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        clock = time.perf_counter
        slice_size = self.slice_size
        pace = (1 - self.share) / self.share  # rest per unit of fan-out time
        in_flight = self.orders_in_flight
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            started = loop.time()
            try:
                pushes, plan = self._prepare()
                budget = slice_size
                mark = clock()
                for data, count, members in plan:
                    for session in members:
                        self._deliver(pushes, data, count, session)
                        budget -= 1
                        if not budget:
                            budget = slice_size
                            await asyncio.sleep(0)  # the loop writes the slice, and the order path runs
                            if pace and in_flight is not None and in_flight():
                                # Capped: the loop pass may have run something long (a snapshot),
                                # which is no reason to hold market data back for three times it.
                                await asyncio.sleep(min((clock() - mark) * pace, MAX_REST_S))
                            mark = clock()
                self.rounds += 1
            except Exception:  # a bad round must not end market data
                log.exception("market data round failed")
            rest = self.min_interval_s - (loop.time() - started)
            if rest > 0.0002:  # below that, a timer costs more than it saves
                await asyncio.sleep(rest)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._runner.start()

    async def stop(self) -> None:
        await self._runner.stop()
