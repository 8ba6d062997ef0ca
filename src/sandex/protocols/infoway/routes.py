"""Infoway's quote WebSocket on `/ws?business=crypto&apikey=KEY`: the I/O glue.

This module only wires the sans-I/O pieces to the server: authentication before the upgrade
(401, no frame), the welcome frame, the per-key connection cap (512), the per-key symbol budget
(516, shared by the key's connections and given back when one closes), the per-connection frame
limit (501 and close, counted towards blocking the key), the heartbeat rule (513 and close,
through the shared sweeper), and the publisher's timers. Decisions are made in
`connection.InfowayConnection`; frames are built in `encoders`.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from aiohttp import web

from sandex.server.context import ServerContext
from sandex.server.dialects import Dialect
from sandex.server.endpoint import serve_session
from sandex.server.framing import encode_frame
from sandex.server.limits import KeyGuard, SlidingWindowLimiter
from sandex.server.session import Session

from . import codes, encoders
from .connection import DIALECT, InfowayConnection
from .errors import MSG_CONNECTIONS, MSG_INTERNAL, MSG_RATE_LIMIT
from .heartbeat import HeartbeatPolicy
from .limits import SECTION
from .metrics import InfowayMetrics
from .publisher import InfowayPublisher
from .subscriptions import KeySymbolBudget
from .symbols import EMPTY, SymbolMap

log = logging.getLogger("sandex.infoway")

PATH: Final = "/ws"
#: The business sandex serves its markets under; any other named business is served as an
#: empty market (every symbol acked, then silent), which is what a venue without it looks like.
CRYPTO: Final = "crypto"
RATE_WINDOW_S: Final = 60.0
CLOSE_RATE_LIMIT: Final = 1008  # policy violation
CLOSE_CONNECTIONS: Final = 1008

_UNAUTHORIZED_HEADERS: Final = {"www-authenticate": 'apikey realm="key"'}


def _text(payload: bytes) -> bytes:
    return encode_frame(payload, binary=False)


class InfowayEndpoint:
    """The route handler and the per-connection callbacks, sharing one server context."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.limits = ctx.limits.infoway
        self.crypto = SymbolMap(market.symbol for market in ctx.venue.markets)
        self.metrics = InfowayMetrics(ctx.metrics.registry)
        self.guard: KeyGuard | None = None
        #: Distinct symbols per channel over each key's connections (516); None when off.
        self.key_symbols: KeySymbolBudget | None = None
        if self.limits.max_symbols_per_key:
            self.key_symbols = KeySymbolBudget(self.limits.max_symbols_per_key)
        if self.limits.block_after_disconnects:
            self.guard = KeyGuard(
                self.limits.block_after_disconnects,
                float(self.limits.block_window_s),
                float(self.limits.block_duration_s),
            )
        self.publisher = InfowayPublisher(
            ctx.venue,
            ctx.hub,
            ctx.broadcaster,
            self.crypto,
            depth_levels=self.limits.depth_levels,
            depth_interval_s=self.limits.depth_push_interval_ms / 1000,
            faults=ctx.faults,
        )

    # -- the upgrade ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("apikey")
        refusal = self._refuse_key(key)
        if refusal is not None:
            self.metrics.refused_upgrades.labels(reason=refusal).inc()
            log.info("infoway: upgrade from %s refused (%s key %r): 401", request.remote, refusal, key)
            return web.Response(status=401, text="Unauthorized", headers=_UNAUTHORIZED_HEADERS)
        assert key is not None
        business = request.query.get("business")
        if not business:
            self.metrics.refused_upgrades.labels(reason="no_business").inc()
            return web.Response(status=400, text="the query parameter business is required (business=crypto)")
        symbols = self.crypto if business == CRYPTO else EMPTY
        account = self.ctx.venue.engine.account_by_key[key]
        connection = InfowayConnection(
            symbols,
            max_symbols_per_type=self.limits.max_symbols_per_type,
            now=time.monotonic(),
            key_budget=self.key_symbols,
            key=key,
        )
        fpm = self.limits.frames_per_minute
        return await serve_session(
            request,
            dialect=DIALECT,
            key=key,
            account_id=account.id,
            config=self.ctx.session_config,
            hub=self.ctx.hub,
            registry=self.ctx.registry,
            metrics=self.ctx.metrics,
            # A fresh limiter per connection; SlidingWindowLimiter refuses limit=0, which
            # means "unlimited" in the config.
            limiter=SlidingWindowLimiter(fpm, RATE_WINDOW_S) if fpm else None,
            on_limit=self._over_limit,
            on_open=lambda session: self._open(session, connection),
            on_message=self._message,
            on_close=lambda session: connection.close(),
        )

    def _refuse_key(self, key: str | None) -> str | None:
        """Why this key may not connect ("missing", "unknown", "blocked"), or None."""
        if not key:
            return "missing"
        if key not in self.ctx.venue.engine.account_by_key:
            return "unknown"
        if self.guard is not None and self.guard.is_blocked(key):
            return "blocked"
        return None

    # -- session callbacks ---------------------------------------------------------------------

    def _open(self, session: Session, connection: InfowayConnection) -> None:
        session.state = connection
        cap = self.limits.max_connections_per_key
        if cap and session.key is not None and self._open_connections(session.key) > cap:
            log.info("infoway: key %s over its %d connections; closing with 512", session.key, cap)
            self._send_error(session, codes.E_CONNECTIONS_OVER_LIMIT, MSG_CONNECTIONS.format(limit=cap))
            session.close(CLOSE_CONNECTIONS, "connections over limit")
            return
        session.send_frame(_text(encoders.welcome()))

    def _open_connections(self, key: str) -> int:
        """Open connections of `key`, this new one included. Sessions already closing (refused
        with 512, or timed out) do not hold a slot while their closing handshake finishes."""
        return sum(1 for s in self.ctx.registry.for_key(DIALECT, key) if s.is_open)

    def _message(self, session: Session, data: str | bytes, is_binary: bool) -> None:
        # Infoway clients send text; a binary frame holding the same JSON is read the same way
        # (msgspec decodes UTF-8 bytes directly), so `is_binary` needs no branch.
        connection = session.state
        assert isinstance(connection, InfowayConnection)
        try:
            outcome = connection.receive(data, time.monotonic())
        except Exception:  # a sandex bug: say so on the wire (500) instead of going silent
            log.exception("infoway: failed to handle a frame from key %s", session.key)
            self._send_error(session, codes.E_INTERNAL, MSG_INTERNAL)
            return
        hub = self.ctx.hub
        for topic in outcome.unsubscribe:
            hub.unsubscribe(topic, session)
        for topic in outcome.subscribe:
            hub.subscribe(topic, session)
        faults = self.ctx.faults
        if outcome.reply is not None and not (outcome.heartbeat and faults.ignores_pings(session)):
            session.send_frame(_text(outcome.reply))
        for symbol in outcome.depth_snapshots:
            frame = self.publisher.depth_snapshot(symbol)
            if faults.stale_depth(session):
                frame = self.publisher.stale_depth_snapshot(symbol) or frame  # fault injection
            if frame is not None:
                session.send_frame(frame)
        if outcome.unknown:
            log.info(
                "infoway: key %s subscribed to unknown symbols %s (acked, no data will follow)",
                session.key,
                ",".join(outcome.unknown),
            )
            self.metrics.unknown_symbols.labels(channel=outcome.channel or "").inc(len(outcome.unknown))
        if outcome.error is not None:
            self.count_error(outcome.error.code)

    def _over_limit(self, session: Session) -> None:
        """The first frame over the per-minute budget: 501, close, and count it against the key."""
        limit = self.limits.frames_per_minute
        log.info(
            "infoway: %s (key=%s) sent more than %d frames in a minute; closing with 501",
            session.peer,
            session.key,
            limit,
        )
        self._send_error(session, codes.E_RATE_LIMIT, MSG_RATE_LIMIT.format(limit=limit))
        session.close(CLOSE_RATE_LIMIT, "rate limit exceeded")
        if self.guard is not None and session.key is not None and self.guard.record_violation(session.key):
            self.metrics.key_blocks.inc()

    def count_error(self, code: int) -> None:
        self.metrics.errors.labels(code=str(code)).inc()

    def _send_error(self, session: Session, code: int, msg: str) -> None:
        self.count_error(code)
        session.send_frame(_text(encoders.error(code, msg)))


# -- plug-in hooks (see sandex.server.app) -----------------------------------------------------

# One endpoint per server context; startup/shutdown receive only the context.
_ENDPOINTS: dict[int, InfowayEndpoint] = {}


def setup(app: web.Application, ctx: ServerContext) -> None:
    endpoint = InfowayEndpoint(ctx)
    _ENDPOINTS[id(ctx)] = endpoint
    app.router.add_get(PATH, endpoint.handle)
    ctx.venue.listeners.append(endpoint.publisher.on_batch)
    if endpoint.guard is not None:
        ctx.key_guards[DIALECT] = endpoint.guard
        ctx.metrics.track_blocked_keys(DIALECT, endpoint.guard.blocked_count)
    timeout = endpoint.limits.heartbeat_timeout_s
    policy = HeartbeatPolicy(float(timeout), on_error=endpoint.count_error) if timeout else None
    ctx.sweeper.set_policy(DIALECT, policy)


async def startup(ctx: ServerContext) -> None:
    endpoint = _ENDPOINTS.get(id(ctx))
    if endpoint is not None:
        endpoint.publisher.start()


async def shutdown(ctx: ServerContext) -> None:
    endpoint = _ENDPOINTS.pop(id(ctx), None)
    if endpoint is not None:
        await endpoint.publisher.stop()


# -- registration: what sandex.server mounts (sandex.protocols lists this dialect) ----------------
REGISTRATION = Dialect(
    name=DIALECT,
    limits=SECTION,
    setup=setup,
    startup=startup,
    shutdown=shutdown,
    banner=("Infoway    ws: {ws}/ws?business=crypto&apikey=KEY",),
)
