"""The replay driver: plays the recording through the venue at a speed, with pause and seek.

The driver is the replay's only I/O: it maps wall time to recording time (speed s: a wall
second is s recording seconds; 0: as fast as the venue applies them, yielding to the event loop
between steps) and submits the plugin's commands through the venue's single-writer path, so
every record is journaled (as a position) and applied like any command. Auth, heartbeats and
rate limits keep wall time; only the replayed markets' clock is the recording's.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from ..core.commands import Command
from .commands import (
    FINISHED,
    PAUSED,
    PLAYING,
    ReplayAdvance,
    ReplayControl,
    ReplayLoad,
    ReplayQueueModel,
    ReplaySeek,
)
from .plugin import ReplayPlugin

log = logging.getLogger("sandex.replay")

#: How often a playing replay submits what became due (s of wall time).
TICK_S: Final = 0.02
#: At speed 0, recording time per command (ms): bounds one command's work.
STEP_MS: Final = 250
#: At speed 0, commands in flight at once. Awaiting each one alone made every STEP_MS wait for
#: its own journal fsync (the loop idle about half the time); in flight together they share the
#: group commit, and the next batches' fsyncs overlap this one's apply. 32 (8 s of recording)
#: plays as fast as with no fsync at all (8: 1.4x slower). The commands, hence the journal and
#: the events, are the same either way; a client's command sent meanwhile lands after those
#: already in flight.
WINDOW: Final = 32
#: At speed 0, commands per driver step (the lock is held for a step: pause, seek and speed
#: changes wait at most this many: a few tens of ms).
TURN: Final = 128
#: With nothing to apply, the clock is still journaled this often (ms of recording time), so a
#: restart resumes close to where it was.
CLOCK_EVERY_MS: Final = 1000

Execute = Callable[[Command], Any]


class ReplayDriver:
    def __init__(
        self,
        plugin: ReplayPlugin,
        execute: Callable[[Command], Any],
        *,
        speed: float,
        paused: bool,
        queue_model: str = "risk_averse",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plugin = plugin
        self.recording = plugin.recording
        self._execute = execute
        self._speed = speed
        self._paused = paused
        self._queue_model = queue_model
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._anchor_ms = 0
        self._anchor_wall = 0.0
        self.start_ms = self.recording.start_ms or 0
        self.end_ms = self.recording.end_ms or 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if not self.plugin.loaded:
            state = PAUSED if self._paused else PLAYING
            await self._execute(ReplayLoad(self.plugin.digest, self.start_ms, self._speed, state))
            log.info("replay: playing %s from the start", self.plugin.digest[:12])
        else:
            log.info("replay: resuming at %d ms (%s)", self.plugin.state.time_ms, self.plugin.state.state)
        if self.plugin.fills.model != self._queue_model:
            await self._execute(ReplayQueueModel(self._queue_model))
        self._anchor()
        self._task = asyncio.create_task(self._run(), name="replay-driver")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # ------------------------------------------------------------------ status
    @property
    def state(self) -> str:
        return self.plugin.state.state

    @property
    def speed(self) -> float:
        return self.plugin.state.speed

    def clock_ms(self) -> int:
        """The replay clock: the recording time the venue is at now."""
        state = self.plugin.state
        if state.state != PLAYING or state.speed == 0:
            return state.time_ms
        elapsed = (self._monotonic() - self._anchor_wall) * state.speed * 1000
        return min(self._anchor_ms + int(elapsed), max(self.end_ms, self._anchor_ms))

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "time_ms": self.clock_ms(),
            "speed": self.speed,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "digest": self.plugin.digest,
            "position": list(self.plugin.state.position),
            "queue_model": self.plugin.fills.model,
        }

    # ------------------------------------------------------------------ control
    async def pause(self) -> None:
        async with self._lock:
            if self.state == PLAYING:
                now = self.clock_ms()
                await self._advance(now)
                await self._execute(ReplayControl(PAUSED, self.speed, now))
                self._anchor()

    async def resume(self) -> None:
        async with self._lock:
            if self.state == PAUSED:
                await self._execute(ReplayControl(PLAYING, self.speed, self.plugin.state.time_ms))
                self._anchor()
                self._wake.set()

    async def set_speed(self, speed: float) -> None:
        async with self._lock:
            now = self.clock_ms()
            if self.state == PLAYING:
                await self._advance(now)
            await self._execute(ReplayControl(self.state, speed, now))
            self._anchor()
            self._wake.set()

    async def seek(self, time_ms: int) -> None:
        async with self._lock:
            await self._execute(ReplaySeek(time_ms))
            self._anchor()
            self._wake.set()

    # ------------------------------------------------------------------ playing
    def _anchor(self) -> None:
        self._anchor_ms = self.plugin.state.time_ms
        self._anchor_wall = self._monotonic()

    async def _advance(self, time_ms: int, *, always: bool = False) -> None:
        position = list(self.recording.position_at(time_ms))
        state = self.plugin.state
        if always or position != state.position or time_ms - state.time_ms >= CLOCK_EVERY_MS:
            await self._execute(ReplayAdvance(position, time_ms))

    async def _advance_window(self, time_ms: int) -> None:
        """Speed 0: the next TURN steps of STEP_MS (up to the end), in order, WINDOW of them in
        flight at a time; the same commands one step at a time would give."""
        targets: list[int] = []
        while len(targets) < TURN and time_ms < self.end_ms:
            time_ms = min(time_ms + STEP_MS, self.end_ms)
            targets.append(time_ms)
        if not targets:  # already at the end: one advance still lands the clock there
            targets.append(min(time_ms + STEP_MS, self.end_ms))
        position_at, execute = self.recording.position_at, self._execute
        in_flight: collections.deque[asyncio.Future[Any]] = collections.deque()
        try:
            for target in targets:
                if len(in_flight) >= WINDOW:
                    await in_flight.popleft()
                # A task starts in creation order, and submits its command before its first await.
                in_flight.append(
                    asyncio.ensure_future(execute(ReplayAdvance(list(position_at(target)), target)))
                )
        finally:
            # Every submitted command settles before the step ends (and before a failure is
            # reported): the next step starts from the clock they leave.
            outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # the venue refused (journal halted...): try again later
                log.exception("replay step failed")
                await asyncio.sleep(1.0)

    async def _step(self) -> None:
        if self.state != PLAYING:
            self._wake.clear()
            await self._wake.wait()
            return
        async with self._lock:
            if self.state != PLAYING:
                return
            state = self.plugin.state
            if state.speed == 0:
                await self._advance_window(state.time_ms)
            else:
                await self._advance(min(self.clock_ms(), self.end_ms))
            if self.plugin.at_end:
                await self._execute(ReplayControl(FINISHED, state.speed, self.end_ms))
                log.info("replay: finished at %d ms", self.end_ms)
                return
        if self.plugin.state.speed == 0:
            await asyncio.sleep(0)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)
            self._wake.clear()
