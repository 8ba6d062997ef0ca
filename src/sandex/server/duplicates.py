"""Refusing duplicate signed requests: remember what was signed within the freshness window.

A signature with a timestamp proves who made a request and roughly when, not that it is new:
within the window (DigiFinex: 60 s) a captured request can be sent again and verifies. The
real venues cannot tell either without a nonce; sandex remembers each signed request it
accepted until it leaves the window and refuses an identical one. What "identical" means is the
dialect's call (see docs/reliability.md): the caller passes a hashable fingerprint.

Memory is bounded by the accepted rate times the window: entries are kept in arrival order and
dropped from the front once they are older than the window.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Final

__all__ = ["DuplicateGuard"]

#: A hard cap on remembered fingerprints, so a flood of signed requests cannot grow memory
#: without bound; at the cap the oldest are forgotten first (they are the closest to expiring).
MAX_ENTRIES: Final = 1_000_000


class DuplicateGuard:
    def __init__(
        self, window_s: float, *, clock: Callable[[], float] = time.time, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.window_s = window_s
        self._clock = clock
        self._max = max_entries
        # fingerprint -> (first seen at, owner); ordered by first seen
        self._seen: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()

    def seen(self, fingerprint: Hashable, *, owner: object = None, now: float | None = None) -> bool:
        """Record `fingerprint`; True if it was already recorded within the window by another
        owner (e.g. another connection). The same owner may repeat itself."""
        if now is None:
            now = self._clock()
        self._expire(now)
        entry = self._seen.get(fingerprint)
        if entry is not None:
            return owner is None or entry[1] != owner
        self._seen[fingerprint] = (now, owner)
        if len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return False

    def _expire(self, now: float) -> None:
        seen = self._seen
        horizon = now - self.window_s
        while seen:
            first_seen = next(iter(seen.values()))[0]
            # Clocks can step back; an entry "from the future" is kept until the window passes it.
            if first_seen >= horizon:
                break
            seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)
