"""Rate limits: a sliding-window limiter (per connection, or per key), a per-API-key violation guard.

All are plain synchronous objects with an injectable clock so tests run without sleeping. What
happens when a limit trips (Infoway's error 501, a 401 on the next upgrade) is the dialect's
business; these classes only count.
"""

from __future__ import annotations

import logging
import math
import time
from array import array
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

log = logging.getLogger("sandex.server.ratelimits")

Clock = Callable[[], float]


class SlidingWindowLimiter:
    """Exact sliding window: at most `limit` accepted frames in any span of `window_s` seconds.

    Only the timestamps of the last `limit` accepted frames matter, so they live in a fixed ring of
    C doubles (8 bytes each: ~0.5 KiB for Infoway's 60/min, versus ~2 KiB for a deque of float
    objects) — this object exists once per connection. A frame is accepted iff the oldest of
    those timestamps has left the window; refused frames are not recorded.
    """

    __slots__ = ("_next", "_stamps", "limit", "window_s")

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.limit = limit
        self.window_s = window_s
        self._stamps = array("d")  # grows to `limit`, then used as a ring
        self._next = 0  # ring index of the oldest stamp once full

    def allow(self, now: float | None = None) -> bool:
        """Record a frame arriving at `now` (monotonic seconds) if the window has room."""
        if now is None:
            now = time.monotonic()
        stamps = self._stamps
        # The frame counts against (now - window, now]; once `limit` frames were accepted, the
        # oldest of the last `limit` must be out of that span for this one to fit.
        if len(stamps) >= self.limit and now - stamps[self._next] < self.window_s:
            return False
        self.record(now)
        return True

    def record(self, now: float) -> None:
        """Count a frame accepted at `now`: here (`allow`), or elsewhere (another process sharing
        this budget, `bus.budgets`) even if the window is full: it was taken, so it fills the
        window here too."""
        stamps = self._stamps
        if len(stamps) < self.limit:
            stamps.append(now)
            return
        stamps[self._next] = now
        self._next = (self._next + 1) % self.limit

    def in_window(self, now: float | None = None) -> int:
        """How many accepted frames fall inside the window ending at `now`."""
        if now is None:
            now = time.monotonic()
        return sum(1 for t in self._stamps if now - t < self.window_s)

    def idle(self, now: float) -> bool:
        """True when no accepted frame is inside the window: the limiter is as good as new."""
        stamps = self._stamps
        # The newest stamp sits just before the ring's oldest (at the end while still filling).
        return not stamps or now - stamps[self._next - 1] >= self.window_s


class KeyedLimiters:
    """One `SlidingWindowLimiter` per key (an API key, a client address), made on first use.

    At most once per window, limiters gone idle (indistinguishable from new ones) are dropped, so
    the map only holds keys seen in the last two windows: a flood of distinct keys costs memory
    while it lasts, not forever, and each sweep is paid for by the requests that made its entries.
    """

    __slots__ = ("_clock", "_limiters", "_next_sweep", "limit", "on_accept", "window_s")

    def __init__(self, limit: int, window_s: float, clock: Clock = time.monotonic) -> None:
        SlidingWindowLimiter(limit, window_s)  # the same argument checks, now rather than on first use
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._next_sweep = clock() + window_s
        #: Called with each key a request was accepted for (the bus shares budgets with it).
        self.on_accept: Callable[[str], object] | None = None

    def allow(self, key: str) -> bool:
        """Record one request of `key` if its window has room."""
        now = self._clock()
        accepted = self._limiter(key, now).allow(now)
        if accepted and self.on_accept is not None:
            self.on_accept(key)
        return accepted

    def record(self, key: str, count: int = 1) -> None:
        """Count `count` requests of `key` accepted by another process sharing this budget."""
        now = self._clock()
        limiter = self._limiter(key, now)
        for _ in range(min(count, self.limit)):
            limiter.record(now)

    def _limiter(self, key: str, now: float) -> SlidingWindowLimiter:
        if now >= self._next_sweep:
            self._limiters = {k: v for k, v in self._limiters.items() if not v.idle(now)}
            self._next_sweep = now + self.window_s
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = SlidingWindowLimiter(self.limit, self.window_s)
        return limiter

    def __len__(self) -> int:
        return len(self._limiters)


class BlockedKey(NamedTuple):
    key: str
    until: float | None  # on the guard's clock; None = until an operator unblocks it
    violations: int


class KeyGuard:
    """Blocks an API key after `max_violations` violations within `window_s` seconds, or when an
    operator says so (`block`).

    A block by violations lasts `block_s` seconds (0 = until `unblock`); `max_violations` 0 means
    violations never block (the guard then only holds operators' blocks). Expired blocks are lifted
    lazily on the next look-up, so there is no timer. Whatever blocks a key calls the `on_block`
    listeners with it (the server closes the key's open connections there). Keys are logged (they
    are identifiers, not secrets); secrets never reach this class.
    """

    def __init__(
        self,
        max_violations: int = 0,
        window_s: float = 600.0,
        block_s: float = 0.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if max_violations < 0:
            raise ValueError("max_violations must not be negative")
        if window_s <= 0 or block_s < 0:
            raise ValueError("window_s must be positive and block_s not negative")
        self.max_violations = max_violations
        self.window_s = window_s
        self.block_s = block_s
        self._clock = clock
        self._violations: dict[str, deque[float]] = {}
        self._blocked: dict[str, tuple[float, int]] = {}  # key -> (until or inf, violations)
        #: Called with each key this guard blocks, by violations or by `block`.
        self.on_block: list[Callable[[str], object]] = []
        #: Called with each key `unblock` lifts (not with blocks that expire).
        self.on_unblock: list[Callable[[str], object]] = []

    def record_violation(self, key: str) -> bool:
        """Count one violation; True if this one blocked the key."""
        now = self._clock()
        if not self.max_violations or self.is_blocked(key):
            return False
        recent = self._violations.setdefault(key, deque(maxlen=self.max_violations))
        while recent and now - recent[0] >= self.window_s:
            recent.popleft()
        recent.append(now)
        if len(recent) < self.max_violations:
            return False
        until = now + self.block_s if self.block_s > 0 else math.inf
        self._blocked[key] = (until, len(recent))
        del self._violations[key]
        log.warning(
            "api key %s blocked after %d violations in %gs (%s)",
            key,
            len(recent),
            self.window_s,
            f"for {self.block_s:g}s" if self.block_s > 0 else "until unblocked",
        )
        self._blocked_now(key)
        return True

    def block(self, key: str, duration_s: float | None = None) -> None:
        """Block `key` by operator action for `duration_s` seconds (None: until `unblock`); a
        block already in force is replaced."""
        until = math.inf if duration_s is None else self._clock() + duration_s
        violations = self._blocked.get(key, (0.0, 0))[1] if self.is_blocked(key) else 0
        self._violations.pop(key, None)
        self._blocked[key] = (until, violations)
        log.warning(
            "api key %s blocked by operator (%s)",
            key,
            "until unblocked" if duration_s is None else f"for {duration_s:g}s",
        )
        self._blocked_now(key)

    def _blocked_now(self, key: str) -> None:
        for listener in self.on_block:
            try:
                listener(key)
            except Exception:
                log.exception("on_block listener failed for key %s", key)

    def is_blocked(self, key: str) -> bool:
        entry = self._blocked.get(key)
        if entry is None:
            return False
        if self._clock() < entry[0]:
            return True
        del self._blocked[key]
        log.info("api key %s unblocked: block expired", key)
        return False

    def unblock(self, key: str) -> bool:
        """Lift a block by operator action; also forgets the key's past violations."""
        self._violations.pop(key, None)
        if self._blocked.pop(key, None) is None:
            return False
        log.info("api key %s unblocked by operator", key)
        for listener in self.on_unblock:
            try:
                listener(key)
            except Exception:
                log.exception("on_unblock listener failed for key %s", key)
        return True

    def blocked(self) -> list[BlockedKey]:
        """Currently blocked keys (expired blocks are dropped on the way)."""
        for key in list(self._blocked):
            self.is_blocked(key)
        return [
            BlockedKey(key, None if math.isinf(until) else until, count)
            for key, (until, count) in self._blocked.items()
        ]

    def blocked_count(self) -> int:
        return len(self.blocked())

    def violations(self, key: str) -> int:
        """Violations of `key` still inside the window (0 once blocked: the count moved)."""
        recent = self._violations.get(key)
        if not recent:
            return 0
        now = self._clock()
        return sum(1 for t in recent if now - t < self.window_s)
