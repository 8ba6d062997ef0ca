"""The life of one WebSocket connection, for a dialect's route handler to call.

A route handler authenticates the upgrade request itself (refusing with a plain HTTP 401 when the
key is missing, unknown or blocked), then hands over to `serve_session`, which does what every
dialect needs in the same order: accept the upgrade, register the session, let the dialect greet,
run the receive loop, and on the way out drop the session's subscriptions and registration.

    async def infoway_ws(request: web.Request) -> web.StreamResponse:
        key = request.query.get("apikey")
        if not accounts.known(key) or guard.is_blocked(key):
            return web.Response(status=401, headers={"www-authenticate": 'apikey realm="key"'})
        return await serve_session(
            request, dialect="infoway", key=key, hub=hub, registry=registry, metrics=metrics,
            on_open=infoway.greet, on_message=infoway.handle,
            limiter=SlidingWindowLimiter(60, 60.0), on_limit=infoway.over_limit,
        )
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .context import FAULTS
from .hub import TopicHub
from .metrics import Metrics
from .ratelimits import SlidingWindowLimiter
from .registry import SessionRegistry
from .session import OnLimit, OnMessage, Session, SessionConfig

log = logging.getLogger("sandex.server.endpoint")

OnOpen = Callable[[Session], "Awaitable[None] | None"]
OnClose = Callable[[Session], None]


async def serve_session(
    request: web.Request,
    *,
    dialect: str,
    on_message: OnMessage,
    hub: TopicHub,
    registry: SessionRegistry,
    key: str | None = None,
    account_id: Any = None,
    config: SessionConfig = SessionConfig(),
    metrics: Metrics | None = None,
    limiter: SlidingWindowLimiter | None = None,
    on_limit: OnLimit | None = None,
    on_open: OnOpen | None = None,
    on_close: OnClose | None = None,
) -> web.StreamResponse:
    """Accept, run and clean up one connection; returns the response for aiohttp.

    `limiter` must be a fresh object per connection. `on_open` runs after the session is
    registered (send the welcome frame, set `session.state`); `on_close` runs after it has been
    unsubscribed and unregistered (release per-connection resources).

    A key blocked on this dialect (by an operator or the dialect's limits) is refused with 401
    here for every dialect, in case the dialect's own check did not already.

    Fault injection (when the app has a controller) hooks in here for every dialect: an upgrade
    may be refused with 502, and the connection's faults are attached once it is open.
    """
    if key is not None and registry.is_blocked is not None and registry.is_blocked(dialect, key):
        return web.Response(status=401, text="401: this API key is blocked\n")
    faults = request.app.get(FAULTS)
    if faults is not None and faults.refuse_handshake(dialect, key):
        return web.Response(status=502, text="502 Bad Gateway (sandex fault injection)\n")
    session = await Session.accept(
        request,
        dialect=dialect,
        key=key,
        account_id=account_id,
        config=config,
        tally=metrics.tally(dialect) if metrics is not None else None,
    )
    registry.add(session)
    if faults is not None:
        faults.attach(session, dialect, key)
    try:
        if on_open is not None:
            try:
                pending = on_open(session)
                if pending is not None and inspect.isawaitable(pending):
                    await pending
            except Exception:
                log.exception("%s on_open failed; closing the session", dialect)
                session.close(1011, "internal error")
        await session.run(on_message, limiter=limiter, on_limit=on_limit)
    finally:
        if faults is not None:
            faults.detach(session)
        hub.unsubscribe_all(session)
        registry.remove(session)
        if on_close is not None:
            try:
                on_close(session)
            except Exception:
                log.exception("%s on_close failed", dialect)
    return session.ws
