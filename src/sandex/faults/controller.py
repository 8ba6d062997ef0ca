"""The fault controller: the profiles in force and every decision they make.

Dialects and the session layer ask it questions at a handful of points and act on the answer;
nothing else in sandex knows faults exist:

- `serve_session` (all dialects): `refuse_handshake` before the upgrade (502), `attach` after
  it (drop timers, delayed writes, ignored pings), `detach` when the connection ends;
- a dialect that learns a connection's key after the upgrade (DigiFinex `server.auth`): `rebind`;
- a dialect's own ping request (DigiFinex `server.ping`, Infoway heartbeat with `ack`):
  `ignores_pings(session)`;
- publishers: `publish_depth` instead of `hub.publish` for depth frames (skipped updates,
  stale snapshots), `stale_depth(session)` for the snapshot written after a subscribe; the
  market-data rounds (`server.broadcast`) ask `depth_frame` per faulted session;
- order entry: `order_rejection(dialect, key)` before a command is built into the journal.

The engine pause is the venue's own `paused_reason`, which every order entry path and the
simulator already honour; the controller only sets and clears it.

Every random decision draws from the seeded stream of the profile that makes it, so a test that
drives the same calls in the same order sees the same faults.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from ..background import BackgroundTask
from .connection import ArmedProfile, ConnectionFaults
from .profile import FaultProfile, problems, profile_seed

if TYPE_CHECKING:
    from sandex.server.hub import TopicHub
    from sandex.server.session import Session

__all__ = ["FaultController", "FaultProfileError", "Rejection"]

log = logging.getLogger("sandex.faults")

#: Seconds between the random-drop draws of `drop_probability` ("once a second").
DROP_TICK_S = 1.0


class Pausable(Protocol):
    """What the controller needs from the venue to pause the engine."""

    paused_reason: str | None


class FaultProfileError(ValueError):
    """A profile that cannot be used; `field` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Rejection:
    """An order refused by a profile: the dialect answers with its own error shape."""

    code: int
    message: str
    profile: str


class FaultController:
    def __init__(
        self,
        profiles: Iterable[FaultProfile] = (),
        *,
        venue: Pausable | None = None,
        on_inject: Callable[[str, str], None] | None = None,
        drop_tick_s: float = DROP_TICK_S,
    ) -> None:
        self._profiles: dict[str, FaultProfile] = {}
        self._armed: dict[str, ArmedProfile] = {}  # enabled profiles only, in profile order
        self._venue = venue
        self._on_inject = on_inject
        self._drop_tick_s = drop_tick_s
        #: Every live connection and the key its faults are matched on (None until signed in).
        self._keys: dict[Session, tuple[str, str | None]] = {}
        self._paused_by: str | None = None
        self._depth_active = False
        self._runner = BackgroundTask(self._drop_ticks, "sandex-fault-drops")
        #: (profile name, fault) -> times injected, for the operator API.
        self.injected: Counter[tuple[str, str]] = Counter()
        for profile in profiles:
            self._store(profile)
        self._changed()

    # ------------------------------------------------------------------ profiles

    def profiles(self) -> list[FaultProfile]:
        return list(self._profiles.values())

    def get(self, name: str) -> FaultProfile | None:
        return self._profiles.get(name)

    def set(self, profile: FaultProfile) -> FaultProfile:
        """Create or replace a profile (re-seeding its random stream); it applies at once."""
        self._store(profile)
        self._changed()
        return profile

    def enable(self, name: str, enabled: bool = True) -> FaultProfile | None:
        profile = self._profiles.get(name)
        if profile is None:
            return None
        return self.set(msgspec.structs.replace(profile, enabled=enabled))

    def remove(self, name: str) -> bool:
        if self._profiles.pop(name, None) is None:
            return False
        self._armed.pop(name, None)
        self._changed()
        return True

    def _store(self, profile: FaultProfile) -> None:
        found = problems(profile)
        if found:
            raise FaultProfileError(*found[0])
        self._profiles[profile.name] = profile
        self._armed.pop(profile.name, None)
        if profile.enabled:
            self._armed[profile.name] = ArmedProfile(profile, random.Random(profile_seed(profile)))
        # Keep profile order for the armed ones too: most-severe-wins merges and "first matching
        # profile" answers must not depend on the order profiles were switched on.
        self._armed = {n: self._armed[n] for n in self._profiles if n in self._armed}

    def _changed(self) -> None:
        self._depth_active = any(a.profile.touches_depth for a in self._armed.values())
        self._apply_pause()
        for session, (dialect, key) in list(self._keys.items()):
            self._bind(session, dialect, key)
        log.info("fault profiles in force: %s", ", ".join(self._armed) or "none")

    def _apply_pause(self) -> None:
        if self._venue is None:
            return
        pausing = next((n for n, a in self._armed.items() if a.profile.pause_engine), None)
        if pausing is not None:
            if self._venue.paused_reason is None or self._paused_by is not None:
                self._venue.paused_reason = f"engine paused by fault profile {pausing!r}"
                if self._paused_by != pausing:
                    log.warning("fault injection: %s", self._venue.paused_reason)
                self._paused_by = pausing
        elif self._paused_by is not None:
            # Only lift a pause this controller set; anyone else's stays.
            self._venue.paused_reason = None
            log.warning("fault injection: engine resumed (profile %r no longer in force)", self._paused_by)
            self._paused_by = None

    def _matching(self, dialect: str, key: str | None) -> list[ArmedProfile]:
        return [a for a in self._armed.values() if a.profile.applies_to(dialect, key)]

    def note(self, profile: str, dialect: str, fault: str) -> None:
        self.injected[(profile, fault)] += 1
        if self._on_inject is not None:
            self._on_inject(dialect, fault)

    # ------------------------------------------------------------------ handshakes and orders

    def refuse_handshake(self, dialect: str, key: str | None) -> bool:
        """True if this WebSocket upgrade is to be refused with 502."""
        if not self._armed:
            return False
        for armed in self._matching(dialect, key):
            if armed.draw(armed.profile.handshake_502_probability):
                self.note(armed.profile.name, dialect, "handshake_502")
                log.info(
                    "fault injection: refusing a %s upgrade (key=%s) with 502 (profile %s)",
                    dialect,
                    key,
                    armed.profile.name,
                )
                return True
        return False

    def order_rejection(self, dialect: str, key: str | None) -> Rejection | None:
        """The refusal of a new order made with `key`, or None to let it through."""
        if not self._armed:
            return None
        for armed in self._matching(dialect, key):
            profile = armed.profile
            if profile.reject_orders_code is not None and armed.draw(profile.reject_orders_probability):
                self.note(profile.name, dialect, "reject_order")
                return Rejection(profile.reject_orders_code, profile.reject_orders_message, profile.name)
        return None

    # ------------------------------------------------------------------ connections

    def attach(self, session: Session, dialect: str, key: str | None) -> None:
        """A connection opened (after the upgrade)."""
        self._keys[session] = (dialect, key)
        self._bind(session, dialect, key)

    def rebind(self, session: Session, key: str | None) -> None:
        """The connection signed in (or in as someone else): match profiles on `key` from now."""
        entry = self._keys.get(session)
        if entry is None or entry[1] == key:
            return
        self._keys[session] = (entry[0], key)
        self._bind(session, entry[0], key)

    def detach(self, session: Session) -> None:
        self._keys.pop(session, None)
        faults = session.faults
        session.faults = None
        if faults is not None:
            faults.close()

    def _bind(self, session: Session, dialect: str, key: str | None) -> None:
        armed = [
            a
            for a in self._matching(dialect, key)
            if a.profile.touches_connections or a.profile.touches_depth
        ]
        current = session.faults
        if not armed:
            if current is not None:
                session.faults = None
                current.release()
            return
        if current is None:
            session.faults = ConnectionFaults(session, dialect, key, armed, self.note)
        else:
            current.key = key
            current.update(armed)

    @staticmethod
    def ignores_pings(session: Session) -> bool:
        """True if `session` must not get an answer to a ping (counted as injected)."""
        faults = session.faults
        if faults is None or not faults.ignore_pings:
            return False
        faults.note("ignore_pings")
        return True

    # ------------------------------------------------------------------ market data

    def publish_depth(
        self,
        hub: TopicHub,
        topic: Hashable,
        frame: bytes,
        *,
        skippable: bool = False,
        stale: bytes | None = None,
    ) -> int:
        """`hub.publish` for a depth frame. `skippable`: an update the skip fault may withhold;
        `stale`: an older snapshot the stale fault may send instead of `frame`."""
        if not self._depth_active:
            return hub.publish(topic, frame)
        delivered = 0
        for subscriber in hub.subscribers(topic):
            out = self.depth_frame(subscriber, frame, skippable=skippable, stale=stale)
            if out is not None and subscriber.send_frame(out):
                delivered += 1
        return delivered

    def depth_frame(
        self, subscriber: object, frame: bytes, *, skippable: bool = False, stale: bytes | None = None
    ) -> bytes | None:
        """What one subscriber gets for a depth frame: `frame`, `stale` instead, or None
        (skipped). Frames that are not depth (neither flag) pass untouched."""
        if not self._depth_active or not (skippable or stale is not None):
            return frame
        faults: ConnectionFaults | None = getattr(subscriber, "faults", None)
        if faults is not None:
            if skippable and faults.skip_depth():
                return None
            if stale is not None and faults.stale_depth():
                return stale
        return frame

    def stale_depth(self, session: Session) -> bool:
        """For the snapshot written right after a subscribe: send a stale one instead?"""
        faults = session.faults
        return faults is not None and self._depth_active and faults.stale_depth()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._runner.start()

    async def stop(self) -> None:
        await self._runner.stop()

    def drop_tick(self) -> int:
        """One round of `drop_probability` draws; returns how many connections were cut."""
        cut = 0
        for session in list(self._keys):
            faults = session.faults
            if faults is not None and session.is_open and faults.maybe_drop():
                cut += 1
        return cut

    async def _drop_ticks(self) -> None:
        while True:
            await asyncio.sleep(self._drop_tick_s)
            if not any(a.profile.drop_probability for a in self._armed.values()):
                continue
            try:
                self.drop_tick()
            except Exception:  # a bad round must not end fault injection
                log.exception("fault drop round failed")

    # ------------------------------------------------------------------ views

    def describe(self) -> list[dict[str, Any]]:
        """Every profile with what it injected so far (operator API, `sandex faults list`)."""
        out = []
        for profile in self._profiles.values():
            view = msgspec.structs.asdict(profile)
            view["injected"] = {
                fault: n for (name, fault), n in sorted(self.injected.items()) if name == profile.name
            }
            out.append(view)
        return out

    @property
    def paused_by(self) -> str | None:
        return self._paused_by
