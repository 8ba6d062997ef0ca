"""A throwaway "echo" dialect served by a real aiohttp app, to exercise the session layer.

It plugs into `serve_session` exactly as a real dialect does. Text commands:
  sub:T / unsub:T          subscribe to / leave topic ("echo", T); replies ack:T / unacked:T
  subpush:T:N              subscribe, reply with an N-byte ack, then publish "push-now" to T at once
  boom / aboom             the sync / async handler raises
  slow                     an async handler that sleeps before replying "slept"
  close:CODE:REASON        the server closes with CODE and REASON
anything else is echoed back as the same frame type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from sandex.server.endpoint import serve_session
from sandex.server.framing import encode_text
from sandex.server.hub import TopicHub
from sandex.server.liveness import IdleTimeout, LivenessSweeper
from sandex.server.metrics import Metrics
from sandex.server.ratelimits import KeyGuard, SlidingWindowLimiter
from sandex.server.registry import SessionRegistry
from sandex.server.session import Session, SessionConfig

DIALECT = "echo"


@dataclass
class EchoSettings:
    limit: int | None = None  # frames per window per connection
    window_s: float = 60.0
    idle_timeout_s: float | None = None
    sweep_interval: float = 0.05
    config: SessionConfig = field(default_factory=SessionConfig)
    max_violations: int = 5
    violation_window_s: float = 600.0
    block_s: float = 0.0
    greet: bool = False


class EchoServer:
    def __init__(self, settings: EchoSettings) -> None:
        self.settings = settings
        self.hub = TopicHub()
        self.registry = SessionRegistry()
        self.metrics = Metrics()
        self.guard = KeyGuard(settings.max_violations, settings.violation_window_s, settings.block_s)
        self.metrics.track_connections(self.registry.counts)
        self.metrics.track_blocked_keys(DIALECT, self.guard.blocked_count)
        policies = {}
        if settings.idle_timeout_s is not None:
            policies[DIALECT] = IdleTimeout(settings.idle_timeout_s, on_timeout=self._on_idle)
        self.sweeper = LivenessSweeper(self.registry, policies, interval=settings.sweep_interval)
        self.timeouts: list[Session] = []
        self.closed: list[Session] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/echo"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/echo", self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.sweeper.start()

    async def stop(self) -> None:
        await self.sweeper.stop()
        for session in self.registry.sessions():
            session.abort()
        assert self._runner is not None
        await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("key")
        if key is not None and self.guard.is_blocked(key):
            return web.Response(status=401, headers={"www-authenticate": 'apikey realm="key"'})
        s = self.settings
        return await serve_session(
            request,
            dialect=DIALECT,
            key=key,
            hub=self.hub,
            registry=self.registry,
            metrics=self.metrics,
            config=s.config,
            on_message=self.on_message,
            limiter=SlidingWindowLimiter(s.limit, s.window_s) if s.limit else None,
            on_limit=self.on_limit,
            on_open=self._greet if s.greet else None,
            on_close=self.closed.append,
        )

    def on_message(self, session: Session, data: bytes | str, is_binary: bool) -> Awaitable[None] | None:
        if is_binary:
            assert isinstance(data, bytes)
            session.send_binary(data)
            return None
        assert isinstance(data, str)
        cmd, _, arg = data.partition(":")
        if cmd == "sub":
            self.hub.subscribe((DIALECT, arg), session)
            session.send_text(f"ack:{arg}")
        elif cmd == "unsub":
            self.hub.unsubscribe((DIALECT, arg), session)
            session.send_text(f"unacked:{arg}")
        elif cmd == "subpush":
            topic, _, size = arg.partition(":")
            self.hub.subscribe((DIALECT, topic), session)
            session.send_text("a" * int(size))
            self.hub.publish((DIALECT, topic), encode_text("push-now"))
        elif cmd == "boom":
            raise RuntimeError("boom from the sync handler")
        elif cmd == "aboom":
            return self._async_boom()
        elif cmd == "slow":
            return self._slow(session)
        elif cmd == "close":
            code, _, reason = arg.partition(":")
            session.close(int(code), reason)
        else:
            session.send_text(data)
        return None

    async def _async_boom(self) -> None:
        await asyncio.sleep(0)
        raise ValueError("boom from the async handler")

    async def _slow(self, session: Session) -> None:
        await asyncio.sleep(0.05)
        session.send_text("slept")

    def _greet(self, session: Session) -> None:
        session.send_text("welcome")

    def on_limit(self, session: Session) -> None:
        session.send_text("error:rate")
        if session.key is not None:
            self.guard.record_violation(session.key)
        session.close(1008, "rate limit")

    def _on_idle(self, session: Session) -> None:
        self.timeouts.append(session)
        session.send_text("error:idle")
        session.close(1000, "idle")

    def topic(self, name: str) -> tuple[str, str]:
        return (DIALECT, name)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `predicate` until it holds (server-side effects land a few loop turns later)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
