"""A gateway's copy of the venue: the engine's state, kept by applying the engine's journal rows.

The engine is a pure function of its journal (`core/engine.py`: clock and randomness are in the
rows), so applying the same rows in the same order from the same snapshot gives this copy the
engine's state and the engine's events, event for event. The copy feeds market data, account
data and the dialects' publishers exactly as the engine process does (`Venue._publish`), so the
dialects run unchanged on a gateway. What differs:

- `submit` forwards the command to the engine (request/reply) and resolves once this copy has
  applied the command's seq, with the events it derived itself: a client that reads right
  after its ack sees its own order, and a private push is written before the ack, as in the
  engine process;
- rows are checked by seq: a duplicate is skipped, a gap is refilled from the engine's journal
  before anything after it is applied (`_refill`), and a stream that falls silent while the
  engine's heartbeat says it is ahead is resubscribed and refilled;
- order entry is refused at once while the engine is unreachable (`order_entry_error`);
  market data keeps being served from the copy (frozen: nothing trades);
- while the copy knows it is behind (a gap or a stalled stream being refilled, or a row it could
  not apply) its book is stale: `market_data_error` says so, and the dialects' depth snapshots
  wait for the refill (`fresh`, bounded) or answer their "unavailable" error rather than serve
  it. Diffs need no such guard: none is published until the rows that make it arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from ..config import Config
from ..core.commands import Command, decode_command, encode_command
from ..core.events import Event
from ..core.plugin import EnginePlugin
from ..demo import DEMO_ACCOUNT_NAME
from ..venue import Venue
from .gateway import EngineUnavailable, GatewayLink
from .wire import Row

__all__ = ["FollowerVenue"]

log = logging.getLogger("sandex.bus.follower")

#: Events of recently applied rows, for command answers that arrive after their row.
RECENT_ROWS = 20_000
#: How long a command's row may take to arrive on the stream before it is refilled.
APPLY_WAIT_S = 1.0
#: How long the copy may stay behind the engine's heartbeat (its applied seq) before it refills.
LAG_S = 1.0


class FollowerVenue(Venue):
    def __init__(
        self,
        config: Config,
        link: GatewayLink,
        snapshot: bytes,
        *,
        plugins: Iterable[EnginePlugin] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config, clock=clock, plugins=plugins)
        self.journaled = False
        self.link = link
        self._snapshot = snapshot
        self._waiting: dict[int, asyncio.Future[list[Event]]] = {}
        self._recent: dict[int, list[Event]] = {}
        self._recent_order: deque[int] = deque()
        self._held: list[Row] = []  # rows past a gap, applied once the refill closes it
        self._refill_task: asyncio.Task[None] | None = None
        self._forwarding: set[asyncio.Task[None]] = set()
        self._behind_since: float | None = None
        #: Why this copy can no longer follow the engine (order entry is refused), or None.
        self.diverged: str | None = None
        #: Set while the copy is not known to be behind (no refill running).
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        tally = self.tally = link.tally
        tally.gauge("sandex_bus_applied_seq", "Last journal seq this copy applied.", lambda: self.applied_seq)
        tally.gauge(
            "sandex_bus_engine_seq",
            "The engine's applied journal seq (its last heartbeat).",
            self._engine_seq,
        )
        tally.gauge(
            "sandex_bus_lag_rows", "Journal rows this copy is behind the engine's last heartbeat.", self._lag
        )
        tally.gauge(
            "sandex_bus_stale",
            "1 while this copy knows its book is stale (refilling a gap, or diverged).",
            lambda: int(self.market_data_error is not None),
        )

    # ------------------------------------------------------------------ lifecycle
    async def open(self, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        self.restore(self._snapshot)
        self._snapshot = b""
        self.link.attach(self)
        if self.config.needs_demo_account:
            demo = self.account_named(DEMO_ACCOUNT_NAME)
            if demo is not None:
                self.demo_credentials = (demo.api_key, demo.secret)
        self._timer_task = asyncio.create_task(self._watch(), name="follower-watch")
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        tasks = [t for t in (self._timer_task, self._refill_task) if t is not None]
        tasks.extend(self._forwarding)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ staleness
    def _engine_seq(self) -> int:
        beat = self.link.heartbeat
        return beat.applied if beat is not None else self.applied_seq

    def _lag(self) -> int:
        return max(0, self._engine_seq() - self.applied_seq)

    @property
    def market_data_error(self) -> str | None:
        if self.diverged:
            return self.diverged
        if self._refill_task is not None:
            return f"this gateway is catching up with the engine (at journal seq {self.applied_seq})"
        return None

    async def fresh(self, timeout: float) -> str | None:
        """None once the copy is not known to be behind (at once, usually); else, after
        `timeout` seconds, why its book is still stale."""
        if self.market_data_error is None:
            return None
        if not self.diverged:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._caught_up.wait(), timeout)
        reason = self.market_data_error
        if reason is not None:
            self.tally.stale_refusals += 1
        return reason

    # ------------------------------------------------------------------ commands
    @property
    def order_entry_error(self) -> str | None:
        return self.diverged or self.link.unavailable() or self.paused_reason

    def submit(
        self, command: Command, *, internal: bool = False, at: int | None = None
    ) -> asyncio.Future[list[Event]]:
        result: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        reason = self.diverged or self.link.unavailable()
        if reason is not None:
            result.set_exception(EngineUnavailable(reason))
            return result
        if not internal:
            self._client_commands_in_flight += 1
        task = asyncio.create_task(self._forward(command, result, internal, time.perf_counter()))
        self._forwarding.add(task)
        task.add_done_callback(self._forwarding.discard)
        return result

    async def _forward(
        self, command: Command, result: asyncio.Future[list[Event]], internal: bool, started: float
    ) -> None:
        try:
            seq = await self.link.command(encode_command(command))
            events = await self._events_at(seq)
        except Exception as exc:
            if not result.done():
                result.set_exception(exc)
        else:
            if not result.done():
                result.set_result(events)
            if not internal and self.on_ack is not None:
                self.on_ack(time.perf_counter() - started)
        finally:
            if not internal:
                self._client_commands_in_flight -= 1

    async def _events_at(self, seq: int) -> list[Event]:
        """The events of row `seq` once this copy has applied it."""
        if seq <= self.applied_seq:
            return self._recent.pop(seq, [])
        future = self._waiting.get(seq)
        if future is None:
            future = self._waiting[seq] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(asyncio.shield(future), APPLY_WAIT_S)
        except TimeoutError:
            self._start_refill(seq)  # the stream is late or lost it: ask the engine
        try:
            return await asyncio.wait_for(future, 5 * APPLY_WAIT_S)
        except TimeoutError:
            self._waiting.pop(seq, None)
            raise EngineUnavailable(f"journal seq {seq} did not reach this gateway") from None

    # ------------------------------------------------------------------ rows
    def receive(self, rows: list[Row]) -> None:
        """Rows from the stream: applied if they continue this copy, held behind a refill if
        they leave a gap, skipped where already applied."""
        if self.diverged:
            return
        if self._refill_task is not None:
            self._held.extend(rows)
            return
        self.apply_rows(rows)
        rest = [row for row in rows if row[0] > self.applied_seq]
        if rest:
            log.warning(
                "gap: have journal seq %d, the stream sent %d; refilling", self.applied_seq, rest[0][0]
            )
            self.tally.gaps += 1
            self._held = rest
            self._start_refill(rest[0][0] - 1)

    def apply_rows(self, rows: list[Row]) -> int:
        """Apply the rows that continue `applied_seq`, in order, stopping at a gap; publish
        their events together (one publish per batch, as the engine). Returns how many."""
        engine, waiting = self.engine, self._waiting
        batch: list[Event] = []
        answered: list[tuple[asyncio.Future[list[Event]], list[Event]]] = []
        applied = 0
        for seq, ts, body in rows:
            if self.diverged:
                break
            if seq <= self.applied_seq:
                self.tally.duplicate_rows += 1
                continue  # a duplicate
            if seq != self.applied_seq + 1:
                break  # a gap
            try:
                events = engine.apply(decode_command(body), ts)
            except Exception:
                # Not the engine's state any more (a bug, or a plugin the engine does not run):
                # say so everywhere rather than serve a venue that silently differs.
                log.exception("journal seq %d failed to apply: this copy diverged from the engine", seq)
                self.diverged = f"this gateway failed to apply journal seq {seq}; restart it"
                break
            self.applied_seq = seq
            applied += 1
            batch.extend(events)
            future = waiting.pop(seq, None)
            if future is not None:
                answered.append((future, events))
            else:
                self._remember(seq, events)
        if batch:
            self._publish(batch)
        for future, events in answered:
            if not future.done():
                future.set_result(events)
        return applied

    def _remember(self, seq: int, events: list[Event]) -> None:
        self._recent[seq] = events
        order = self._recent_order
        order.append(seq)
        while len(order) > RECENT_ROWS:
            self._recent.pop(order.popleft(), None)

    def _start_refill(self, through: int) -> None:
        if self._refill_task is None:
            self._caught_up.clear()
            self._refill_task = asyncio.create_task(self._refill(through), name="follower-refill")

    async def _refill(self, through: int) -> None:
        """Fetch and apply the engine's journal rows up to `through`, then the held rows."""
        try:
            while self.applied_seq < through and not self.diverged:
                try:
                    rows = await self.link.rows(self.applied_seq, through)
                except EngineUnavailable as exc:
                    log.warning("refill after seq %d waits for the engine: %s", self.applied_seq, exc)
                    await asyncio.sleep(1.0)
                    continue
                applied = self.apply_rows(rows)
                self.tally.refill_rows += applied
                if not applied:
                    # The engine has not journaled `through` yet, or answered past a hole.
                    await asyncio.sleep(0.2)
        finally:
            self._refill_task = None
        self.tally.refills += 1
        held, self._held = self._held, []
        if held:
            self.receive(held)  # may start the next refill (another gap past the held rows)
        if self._refill_task is None:
            self._caught_up.set()

    async def _watch(self) -> None:
        """Roll the 24 h window once a second (market data only: the engine journals its own
        Ticks), and catch up when the stream falls behind the engine's heartbeat."""
        last_roll = 0.0
        while True:
            await asyncio.sleep(0.25)
            try:
                now = time.monotonic()
                if now - last_roll >= 1.0:
                    last_roll = now
                    update = self.marketdata.roll(int(self.clock() * 1000))
                    if update:
                        for listener in self.listeners:
                            listener([], update)
                beat = self.link.heartbeat
                if beat is None or beat.applied <= self.applied_seq or self._refill_task is not None:
                    self._behind_since = None
                elif self._behind_since is None:
                    self._behind_since = now
                elif now - self._behind_since > LAG_S:
                    log.warning(
                        "the stream stalled at seq %d (engine applied %d): resubscribing and refilling",
                        self.applied_seq,
                        beat.applied,
                    )
                    self._behind_since = None
                    self.tally.gaps += 1
                    await self.link.resubscribe()
                    self._start_refill(beat.applied)
            except Exception:
                log.exception("follower watch failed")
