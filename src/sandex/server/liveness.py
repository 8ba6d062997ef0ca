"""Heartbeat enforcement: one sweeper task for every session, not a timer per connection.

A timer per socket costs a TimerHandle and heap churn on every inbound frame (that is what
aiohttp's `heartbeat=` does); at 10,000 connections that is real memory and CPU. Instead the
receive loop just stamps `session.last_recv`, and every `interval` seconds the sweeper walks the
registry and asks each dialect's policy which sessions are idle. What happens to an idle session
(Infoway: error 513 then close; DBot: plain close) is the policy's `on_timeout`.

A timeout therefore fires between `timeout_s` and `timeout_s + interval` after the last frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..background import BackgroundTask
from .registry import SessionRegistry
from .session import Session

log = logging.getLogger("sandex.server.liveness")


class LivenessPolicy(Protocol):
    """A dialect's rule for when a connection is dead and what to do about it."""

    def is_idle(self, session: Session, now: float) -> bool: ...

    def on_timeout(self, session: Session) -> None: ...


def close_idle(session: Session) -> None:
    """The default `on_timeout`: close with 1000 and no dialect-specific error frame."""
    session.close(1000, "idle timeout")


@dataclass(frozen=True, slots=True)
class IdleTimeout:
    """Idle after `timeout_s` without any inbound frame (data, ping or pong).

    `max_age_s` optionally also ends connections older than that (DigiFinex's forced reconnect
    after about 2 h); `on_timeout` handles both cases.
    """

    timeout_s: float | None
    on_timeout: Callable[[Session], None] = close_idle
    max_age_s: float | None = None

    def is_idle(self, session: Session, now: float) -> bool:
        if self.timeout_s is not None and now - session.last_recv > self.timeout_s:
            return True
        return self.max_age_s is not None and now - session.opened_at > self.max_age_s


class LivenessSweeper:
    """Periodically applies each dialect's `LivenessPolicy` to the registry's sessions."""

    def __init__(
        self,
        registry: SessionRegistry,
        policies: Mapping[str, LivenessPolicy],
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._policies = dict(policies)
        self.interval = interval
        self._clock = clock
        self._runner = BackgroundTask(self.run, "sandex-liveness-sweeper")

    def set_policy(self, dialect: str, policy: LivenessPolicy | None) -> None:
        if policy is None:
            self._policies.pop(dialect, None)
        else:
            self._policies[dialect] = policy

    def sweep(self, now: float | None = None) -> int:
        """One pass; returns how many sessions timed out. Also cuts sessions whose send backlog
        has not drained in time (`Session.check_drain`), whatever their dialect."""
        if now is None:
            now = self._clock()
        for session in self._registry.sessions():
            session.check_drain(now)
        timed_out = 0
        for dialect, policy in self._policies.items():
            for session in self._registry.sessions(dialect):
                # Closing sessions already had their timeout (or another close); once is enough.
                if not session.is_open or not policy.is_idle(session, now):
                    continue
                timed_out += 1
                try:
                    policy.on_timeout(session)
                except Exception:
                    log.exception("%s on_timeout failed; closing the session", dialect)
                if session.is_open:
                    session.close(1000, "idle timeout")
        return timed_out

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.sweep()
            except Exception:  # never let one bad pass end heartbeat enforcement
                log.exception("liveness sweep failed")

    def start(self) -> asyncio.Task[None]:
        return self._runner.start()

    async def stop(self) -> None:
        await self._runner.stop()
