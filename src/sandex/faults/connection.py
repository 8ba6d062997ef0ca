"""The faults in force on one WebSocket connection, and the delayed write path they need.

A `ConnectionFaults` is attached to `Session.faults` only while at least one enabled profile
matches the connection; every other connection keeps `faults = None` and pays one attribute
check per frame. It holds the merged effect of the matching profiles (most severe wins: the
longest delay, the shortest drop interval, any profile that ignores pings) and the two timers
that act on their own: the drop timer and the delayed-frame flush.

Delaying keeps order. TCP never reorders, and a client that applies DigiFinex depth diffs
depends on that, so each frame is due at `now + delay + jitter` but never before the frame
queued ahead of it. While frames are queued, every later frame (a reply too) queues behind them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .profile import FaultProfile

if TYPE_CHECKING:
    from sandex.server.session import Session

log = logging.getLogger("sandex.faults")


class ArmedProfile:
    """An enabled profile with its own seeded random stream (one per profile, so each profile's
    decisions are reproducible whatever other profiles do)."""

    __slots__ = ("profile", "rng")

    def __init__(self, profile: FaultProfile, rng: random.Random) -> None:
        self.profile = profile
        self.rng = rng

    def draw(self, probability: float) -> bool:
        """One random decision; probabilities 0 and 1 consume nothing (they are certain)."""
        if probability <= 0.0:
            return False
        if probability >= 1.0:
            return True
        return self.rng.random() < probability


#: Called as note(profile name, dialect, fault) each time a fault is injected.
Note = Callable[[str, str, str], None]


class ConnectionFaults:
    __slots__ = (
        "_drop_timer",
        "_flush_timer",
        "_jitter",
        "_last_due",
        "_note",
        "_queue",
        "armed",
        "delay_ms",
        "dialect",
        "ignore_pings",
        "jitter_ms",
        "key",
        "session",
    )

    def __init__(
        self, session: Session, dialect: str, key: str | None, armed: Sequence[ArmedProfile], note: Note
    ) -> None:
        self.session = session
        self.dialect = dialect
        self.key = key
        self.armed = tuple(armed)
        self._note = note
        self._queue: deque[tuple[float, bytes]] = deque()
        self._last_due = 0.0
        self._flush_timer: asyncio.TimerHandle | None = None
        self._drop_timer: asyncio.TimerHandle | None = None
        self.ignore_pings = False
        self.delay_ms = 0
        self.jitter_ms = 0
        self._jitter: ArmedProfile | None = None
        self.update(armed)

    def update(self, armed: Sequence[ArmedProfile]) -> None:
        """Take a new set of matching profiles (after a profile changed)."""
        self.armed = tuple(armed)
        profiles = [a.profile for a in self.armed]
        self.ignore_pings = any(p.ignore_pings for p in profiles)
        self.delay_ms = max((p.delay_ms for p in profiles), default=0)
        jittery = [a for a in self.armed if a.profile.jitter_ms]
        widest = max(jittery, key=lambda a: a.profile.jitter_ms, default=None)
        self._jitter = widest
        self.jitter_ms = widest.profile.jitter_ms if widest else 0
        self._arm_drop_timer()

    def note(self, fault: str, profile: FaultProfile | None = None) -> None:
        name = (
            profile.name
            if profile is not None
            else next((a.profile.name for a in self.armed if _has(a.profile, fault)), "?")
        )
        self._note(name, self.dialect, fault)

    # -- dropping ----------------------------------------------------------------------------

    def _arm_drop_timer(self) -> None:
        if self._drop_timer is not None:
            self._drop_timer.cancel()
            self._drop_timer = None
        every = [a.profile for a in self.armed if a.profile.drop_every_s]
        if not every:
            return
        profile = min(every, key=lambda p: p.drop_every_s or 0.0)
        assert profile.drop_every_s is not None
        loop = asyncio.get_running_loop()
        # The interval counts from when the connection opened, so re-arming after an unrelated
        # profile change does not give the connection a fresh lease.
        age = loop.time() - _opened_on_loop_clock(self.session, loop)
        self._drop_timer = loop.call_later(
            max(0.0, profile.drop_every_s - age), self.drop, profile, "drop_every"
        )

    def maybe_drop(self) -> bool:
        """The once-a-second random drop; True if the connection was cut."""
        for armed in self.armed:
            if armed.draw(armed.profile.drop_probability):
                self.drop(armed.profile, "drop_probability")
                return True
        return False

    def drop(self, profile: FaultProfile, fault: str) -> None:
        self._drop_timer = None
        if not self.session.is_open:
            return
        log.info(
            "fault injection: cutting %s connection %s (key=%s, profile %s, %s)",
            self.dialect,
            self.session.peer,
            self.key,
            profile.name,
            fault,
        )
        self.note(fault, profile)
        # An abort, not a close: no close frame, exactly what a network failure looks like.
        self.session.abort()

    # -- delaying ----------------------------------------------------------------------------

    @property
    def delaying(self) -> bool:
        return bool(self.delay_ms or self.jitter_ms or self._queue)

    def delay(self, frame: bytes) -> bool:
        """Queue `frame` to be written when due; always accepted (the write may still fail)."""
        loop = asyncio.get_running_loop()
        extra: float = self.delay_ms
        if self._jitter is not None:
            extra += self._jitter.rng.random() * self.jitter_ms
        due = max(loop.time() + extra / 1000.0, self._last_due)
        self._last_due = due
        self._queue.append((due, frame))
        if extra:
            self.note("delay")
        if self._flush_timer is None:
            self._flush_timer = loop.call_at(self._queue[0][0], self._flush)
        return True

    def _flush(self) -> None:
        self._flush_timer = None
        queue = self._queue
        now = asyncio.get_running_loop().time()
        while queue and queue[0][0] <= now:
            _, frame = queue.popleft()
            if not self.session.write_now(frame):
                queue.clear()  # closed, lost or dropped as a slow consumer: nobody to write to
                return
        if queue:
            self._flush_timer = asyncio.get_running_loop().call_at(queue[0][0], self._flush)

    # -- market data -------------------------------------------------------------------------

    def skip_depth(self) -> bool:
        for armed in self.armed:
            if armed.draw(armed.profile.skip_depth_probability):
                self.note("skip_depth", armed.profile)
                return True
        return False

    def stale_depth(self) -> bool:
        for armed in self.armed:
            if armed.draw(armed.profile.stale_depth_probability):
                self.note("stale_depth", armed.profile)
                return True
        return False

    # -- teardown ----------------------------------------------------------------------------

    def release(self) -> None:
        """No profile matches any more: write what is still queued, in order, then stop."""
        queue, self._queue = self._queue, deque()
        for _, frame in queue:
            if not self.session.write_now(frame):
                break
        self.close()

    def close(self) -> None:
        """Cancel the timers and forget queued frames (the connection ended)."""
        for timer in (self._drop_timer, self._flush_timer):
            if timer is not None:
                timer.cancel()
        self._drop_timer = self._flush_timer = None
        self._queue.clear()


def _has(profile: FaultProfile, fault: str) -> bool:
    return {
        "ignore_pings": profile.ignore_pings,
        "delay": bool(profile.delay_ms or profile.jitter_ms),
    }.get(fault, False)


def _opened_on_loop_clock(session: Session, loop: asyncio.AbstractEventLoop) -> float:
    """`session.opened_at` is time.monotonic(); asyncio's loop clock is monotonic too but may
    have another origin (uvloop), so convert through the current difference."""
    return session.opened_at - time.monotonic() + loop.time()
