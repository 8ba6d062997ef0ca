"""Infoway on the server: the quote WebSocket `/ws?business=crypto&apikey=KEY` and the REST market
data (`/crypto/...`, `/common/basic/symbols...`, `/package/info`). The I/O glue, and the only module
of the dialect that touches aiohttp or the server's sessions.

WebSocket: authentication before the upgrade (401, no frame), the welcome frame, the per-key
connection cap (512), the per-key symbol budget (516, shared by the key's connections and given
back when one closes), the per-connection frame limit (501 and close, counted towards blocking the
key), a blocked key's open connections (511 and close), the heartbeat rule (513 and close, through
the shared sweeper), and the publisher's timers. Decisions are made in
`connection.InfowayConnection`; frames are built in `wire`.

REST: each call is admitted by `api.InfowayApi.admit` (401 for a bad key, 429 over the key's
budget), answered by the matching `InfowayApi` method and wrapped in Infoway's envelope; the
markets and endpoints sandex does not simulate answer 514 in the same envelope.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from sandex.background import BackgroundTask
from sandex.server.context import ServerContext
from sandex.server.dialects import Dialect
from sandex.server.endpoint import serve_session
from sandex.server.framing import encode_frame
from sandex.server.ratelimits import KeyGuard, SlidingWindowLimiter
from sandex.server.session import Session

from . import wire
from .api import InfowayApi
from .connection import (
    CLOSE_HEARTBEAT,
    CLOSE_POLICY,
    DIALECT,
    InfowayConnection,
    heartbeat_timeout_error,
    key_blocked_error,
)
from .errors import (
    COLON,
    E_CONNECTIONS_OVER_LIMIT,
    E_HEARTBEAT_TIMEOUT,
    E_INTERNAL,
    E_KEY_BLACKLISTED,
    E_RATE_LIMIT,
    MSG_CONNECTIONS,
    MSG_INTERNAL,
    MSG_RATE_LIMIT,
    RET_NOT_FOUND,
    RET_SERVER_ERROR,
    RestError,
    not_simulated,
    rest_param_lost,
)
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
#: The other markets of Infoway's REST API (the SDK's clients besides `crypto`): not simulated.
OTHER_MARKETS: Final = ("stock", "japan", "india", "korea", "taiwan", "common")

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
        # Operators can block any key (the server's guard); with blocking by disconnects on,
        # this dialect's guard also counts violations, and replaces the server's in `setup`.
        self.guard: KeyGuard | None = ctx.key_guards.get(DIALECT)
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
        self.api = InfowayApi(
            ctx.venue, self.crypto, self.limits, guard=self.guard, profile=ctx.config.limits.infoway.profile
        )
        self.timers = [
            BackgroundTask(
                _every(self.publisher.depth_interval_s, self.publisher.flush_depth), "infoway-depth"
            ),
            BackgroundTask(
                _every(self.publisher.kline_interval_s, self.publisher.flush_klines), "infoway-klines"
            ),
        ]

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
            self._send_error(session, E_CONNECTIONS_OVER_LIMIT, MSG_CONNECTIONS.format(limit=cap))
            session.close(CLOSE_POLICY, "connections over limit")
            return
        session.send_frame(_text(wire.welcome()))

    def _open_connections(self, key: str) -> int:
        """Open connections of `key`, this new one included. Sessions already closing (refused
        with 512, or timed out) do not hold a slot while their closing handshake finishes."""
        return sum(1 for s in self.ctx.registry.for_key(DIALECT, key) if s.is_open)

    def _message(self, session: Session, data: str | bytes, is_binary: bool) -> None:
        # Infoway clients send text; a binary frame holding the same JSON is read the same way
        # (msgspec decodes UTF-8 bytes directly), so `is_binary` needs no branch.
        connection = session.state
        assert isinstance(connection, InfowayConnection)
        if self.guard is not None and session.key is not None and self.guard.is_blocked(session.key):
            # Blocked while connected, by any path that did not close it already.
            self._close_blocked(session)
            return
        try:
            outcome = connection.receive(data, time.monotonic())
        except Exception:  # a sandex bug: say so on the wire (500) instead of going silent
            log.exception("infoway: failed to handle a frame from key %s", session.key)
            self._send_error(session, E_INTERNAL, MSG_INTERNAL)
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
        self._send_error(session, E_RATE_LIMIT, MSG_RATE_LIMIT.format(limit=limit))
        session.close(CLOSE_POLICY, "rate limit exceeded")
        # A block closes the key's other connections too: the guard's on_block listener
        # (`close_blocked_key`, wired by the server) sends them 511.
        if self.guard is not None and session.key is not None and self.guard.record_violation(session.key):
            self.metrics.key_blocks.inc()

    def close_key(self, key: str) -> int:
        """The key is blocked: close each of its open connections with 511. Returns how many."""
        sessions = [s for s in self.ctx.registry.for_key(DIALECT, key) if s.is_open]
        for session in sessions:
            self._close_blocked(session)
        if sessions:
            log.info("infoway: key %s blocked; closed its %d open connections with 511", key, len(sessions))
        return len(sessions)

    def _close_blocked(self, session: Session) -> None:
        self.count_error(E_KEY_BLACKLISTED)
        session.send_frame(_text(key_blocked_error()))
        session.close(CLOSE_POLICY, "apikey blocked")

    def count_error(self, code: int) -> None:
        self.metrics.errors.labels(code=str(code)).inc()

    def _send_error(self, session: Session, code: int, msg: str) -> None:
        self.count_error(code)
        session.send_frame(_text(wire.error(code, msg)))

    # -- REST ----------------------------------------------------------------------------------

    def rest_routes(self) -> list[tuple[str, str, Handler]]:
        api = self.api
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/crypto/batch_trade/{codes}", lambda r: api.batch_trade(r.match_info["codes"])),
            ("GET", "/crypto/batch_depth/{codes}", lambda r: api.batch_depth(r.match_info["codes"])),
            ("POST", "/crypto/v2/batch_kline", self._batch_kline),
            (
                "GET",
                "/common/basic/symbols",
                lambda r: api.symbol_list(r.query.get("type"), r.query.get("symbols")),
            ),
            (
                "GET",
                "/common/basic/symbols/info",
                lambda r: api.symbol_info(r.query.get("type"), r.query.get("symbols")),
            ),
            ("GET", "/package/info", lambda r: api.package_info()),
            ("*", "/crypto/{tail:.*}", _crypto_not_found),
        ]
        for market in OTHER_MARKETS:
            routes.append(("*", f"/{market}/{{tail:.*}}", _not_simulated))
        routes.append(("*", "/package/{tail:.*}", _not_simulated))
        return routes

    async def _batch_kline(self, request: web.Request) -> object:
        return self.api.batch_kline(await request.read())

    def rest(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Admit the key, run the handler, answer in Infoway's envelope (errors included)."""

        async def answer(request: web.Request) -> web.Response:
            trace = str(uuid.uuid4())
            try:
                self.api.admit(request.headers.get("apikey"))
                data = handler(request)
                if asyncio.iscoroutine(data):
                    data = await data
            except RestError as exc:
                self.metrics.rest_errors.labels(ret=str(exc.ret)).inc()
                if exc.http_status == 401:
                    body = wire.unauthorized_body(exc.msg, int(time.time() * 1000))
                else:
                    body = wire.rest_error(exc.ret, exc.msg, trace)
                return _json(body, exc.http_status)
            except Exception:  # a sandex bug: say so in the envelope rather than a bare 500 page
                log.exception("infoway: REST %s %s failed", request.method, request.path)
                return _json(wire.rest_error(RET_SERVER_ERROR, MSG_INTERNAL, trace), 500)
            return _json(wire.rest_body(data, trace), 200)

        return answer


def _json(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


#: The paths sandex serves outside `/crypto/` (reached by another method, they are not found).
SERVED: Final = frozenset({"/common/basic/symbols", "/common/basic/symbols/info", "/package/info"})


def _crypto_not_found(request: web.Request) -> object:
    tail = request.match_info["tail"].strip("/")
    if tail in ("batch_trade", "batch_depth"):
        raise rest_param_lost("codes")
    raise _not_found(request)


def _not_simulated(request: web.Request) -> object:
    if request.path.rstrip("/") in SERVED:
        raise _not_found(request)
    raise not_simulated(request.path)


def _not_found(request: web.Request) -> RestError:
    return RestError(RET_NOT_FOUND, f"Not found{COLON}{request.method} {request.path}", http_status=404)


#: A REST handler: the request in, the envelope's `data` out (or a coroutine of it).
Handler = Callable[[web.Request], object]


@dataclass(frozen=True, slots=True)
class HeartbeatPolicy:
    """The heartbeat rule for the server's one sweeper: no 10010 for `timeout_s` -> 513, close.

    Other frames do not count: subscribing every few seconds does not keep a connection alive on
    the real server either. The decision reads the connection's own heartbeat clock, which
    `InfowayConnection.receive` stamps on the same monotonic clock the sweeper passes in.
    """

    timeout_s: float
    #: Told the error code sent (513), for the error metrics.
    on_error: Callable[[int], None] | None = None

    def is_idle(self, session: Session, now: float) -> bool:
        state = session.state
        # The state is set by the session's on_open; until then it has not been greeted yet.
        return isinstance(state, InfowayConnection) and state.heartbeat_overdue(now, self.timeout_s)

    def on_timeout(self, session: Session) -> None:
        log.info(
            "infoway: no heartbeat from %s (key=%s) in %gs; closing with 513",
            session.peer,
            session.key,
            self.timeout_s,
        )
        session.send_frame(_text(heartbeat_timeout_error(self.timeout_s)))
        if self.on_error is not None:
            self.on_error(E_HEARTBEAT_TIMEOUT)
        session.close(CLOSE_HEARTBEAT, "heartbeat timeout")


def _every(interval: float, flush: Callable[[], int]) -> Callable[[], Coroutine[Any, Any, None]]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                flush()
            except Exception:  # a bad pass must not end the pushes
                log.exception("infoway push failed")

    return loop


# -- plug-in hooks (see sandex.server.app) -----------------------------------------------------

# One endpoint per server context; startup/shutdown receive only the context.
_ENDPOINTS: dict[int, InfowayEndpoint] = {}


def setup(app: web.Application, ctx: ServerContext) -> None:
    endpoint = InfowayEndpoint(ctx)
    _ENDPOINTS[id(ctx)] = endpoint
    app.router.add_get(PATH, endpoint.handle)
    for method, path, handler in endpoint.rest_routes():
        app.router.add_route(method, path, endpoint.rest(handler))
    ctx.venue.listeners.append(endpoint.publisher.on_events)
    if endpoint.guard is not None:
        ctx.key_guards[DIALECT] = endpoint.guard  # the server wires its blocks and metrics
    if endpoint.api.rate is not None:
        ctx.shared_limiters[f"{DIALECT}.rest"] = endpoint.api.rate  # a key's budget on every process
    timeout = endpoint.limits.heartbeat_timeout_s
    policy = HeartbeatPolicy(float(timeout), on_error=endpoint.count_error) if timeout else None
    ctx.sweeper.set_policy(DIALECT, policy)


def close_blocked_key(ctx: ServerContext, key: str) -> int:
    """For the server's key blocking: close `key`'s open Infoway connections with 511 (the error
    frame, then close 1008). Returns how many were closed."""
    endpoint = _ENDPOINTS.get(id(ctx))
    return endpoint.close_key(key) if endpoint is not None else 0


async def startup(ctx: ServerContext) -> None:
    endpoint = _ENDPOINTS.get(id(ctx))
    if endpoint is not None:
        for timer in endpoint.timers:
            timer.start()


async def shutdown(ctx: ServerContext) -> None:
    endpoint = _ENDPOINTS.pop(id(ctx), None)
    if endpoint is not None:
        for timer in endpoint.timers:
            await timer.stop()


# -- registration: what sandex.server mounts (sandex.protocols lists this dialect) ----------------
REGISTRATION = Dialect(
    name=DIALECT,
    limits=SECTION,
    setup=setup,
    startup=startup,
    shutdown=shutdown,
    close_blocked=close_blocked_key,
    banner=("Infoway    ws: {ws}/ws?business=crypto&apikey=KEY   rest: {http}/crypto/...",),
)
