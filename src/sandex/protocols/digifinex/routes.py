"""Mounting the DigiFinex dialect on the server: WebSocket `/ws/v1/`, REST `/v3/...`.

The only module of the dialect that touches aiohttp or a server session. `setup` wires the
publisher into the venue's listeners, installs the idle policy (off in the default "relaxed"
profile, 60 s in "strict") and registers the routes; the periodic clean depth snapshot task runs
between the app's startup and shutdown.

WebSocket: each frame goes to the connection's `Connection.receive`, and its `Outcome` is applied
at once, with no await in between (see `connection`). REST: each request is read into an
`api.Call` — parameters from the raw request (the query string exactly as it arrived on the
request line: aiohttp's parsed URL would re-normalise its escaping, and the signature covers the
raw text; or the raw body of a POST, parsed as a form whatever its Content-Type, as ccxt sends
none) — and the handler's body is written as JSON with HTTP 200, errors included.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
from aiohttp import web

from sandex.faults import FaultController
from sandex.server.context import ServerContext
from sandex.server.dialects import Dialect
from sandex.server.endpoint import serve_session
from sandex.server.hub import TopicHub
from sandex.server.liveness import IdleTimeout
from sandex.server.registry import SessionRegistry
from sandex.server.session import Session
from sandex.venue import JournalUnavailable

from . import api, errors
from .api import Authenticator, Call, RestApi, RestRateLimits, Route
from .connection import Connection, Endpoint, Outcome
from .errors import RestError
from .limits import SECTION
from .publisher import Publisher
from .subscriptions import DIALECT

log = logging.getLogger("sandex.digifinex.routes")

PUBLISHER = web.AppKey("digifinex_publisher", Publisher)
_encode = msgspec.json.Encoder().encode


# -- WebSocket ------------------------------------------------------------------------------------


def apply_outcome(
    session: Session,
    outcome: Outcome,
    *,
    hub: TopicHub,
    registry: SessionRegistry,
    faults: FaultController,
    publisher: Publisher,
) -> None:
    """Do what one request asked, in the order `connection` documents."""
    for name in outcome.unsubscribe:
        hub.unsubscribe(name, session)
    signed_in = outcome.signed_in
    if signed_in is not None:
        session.account_id = signed_in.account_id
        # The key is known only now (DigiFinex signs in after the upgrade): index the session
        # under it, so that closing a blocked key's sessions reaches this one too.
        if not registry.assign_key(session, signed_in.api_key):
            return  # the key is blocked: assign_key closed the session with the dialect's code
        faults.rebind(session, signed_in.api_key)  # key-scoped fault profiles apply from now
    for name in outcome.subscribe:
        hub.subscribe(name, session)
    if not (outcome.pong and faults.ignores_pings(session)):
        session.send_frame(outcome.reply)
    for push in outcome.first_pushes:
        frame = push.frame
        if push.channel == "depth" and faults.stale_depth(session):
            frame = publisher.stale_depth_frame(push.key)  # fault injection: an older book
        session.send_frame(frame)


# -- REST -----------------------------------------------------------------------------------------


def json_response(body: Any) -> web.Response:
    return web.Response(body=_encode(body), content_type="application/json")


def error_response(code: int, message: str) -> web.Response:
    return json_response({"code": code, "msg": message})


def _raw_query(request: web.Request) -> str:
    """The query string as it was on the request line (not re-encoded)."""
    return request.raw_path.partition("?")[2]


async def _signed_payload(request: web.Request) -> str:
    """The parameter string a client signed: the raw body of a POST (its query string when the
    body is empty), the raw query string otherwise."""
    if request.method == "POST":
        body = await request.read()
        if body:
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                raise RestError(errors.ILLEGAL_PARAMS, "the body must be a urlencoded form") from None
    return _raw_query(request)


def _rest_handler(route: Route, auth: Authenticator, limits: RestRateLimits) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        remote = request.remote or ""
        try:
            market = request.match_info.get("market", "spot")
            if route.private:
                api.spot_only(market)
                account = auth.account_for(request.headers, remote)
                payload = await _signed_payload(request)
                call = Call(auth.verify(account, request.headers, payload), market, account)
            else:
                limits.check_ip(remote)
                call = Call(api.parse_form(_raw_query(request)), market)
            return json_response(await route.handler(call))
        except RestError as exc:
            return error_response(exc.code, exc.message)
        except JournalUnavailable as exc:
            return error_response(errors.INTERNAL, f"order entry unavailable: {exc}")
        except web.HTTPException:
            raise
        except Exception:
            log.exception("digifinex %s %s failed", request.method, request.path)
            return error_response(errors.INTERNAL, "internal error")

    return handle


def _unknown_endpoint(limits: RestRateLimits, routes: list[Route]) -> Any:
    """Anything else under the dialect's prefixes answers in DigiFinex's envelope, not HTML (and
    counts against the caller's address, like a public call)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            limits.check_ip(request.remote or "")
            raise api.unknown_endpoint(request.method, request.path, routes)
        except RestError as exc:
            return error_response(exc.code, exc.message)

    return handle


# -- mounting -------------------------------------------------------------------------------------


def setup(app: web.Application, ctx: ServerContext) -> None:
    limits = ctx.limits.digifinex
    venue = ctx.venue
    clock = time.time
    faults = ctx.faults
    publisher = Publisher(
        venue,
        ctx.hub,
        ctx.broadcaster,
        depth_levels=limits.depth_levels,
        snapshot_interval_s=limits.depth_snapshot_interval_s,
        faults=faults,
    )
    app[PUBLISHER] = publisher
    venue.listeners.append(publisher.on_events)
    endpoint = Endpoint(venue, publisher, clock)

    def on_open(session: Session) -> None:
        session.state = Connection(endpoint)

    def on_message(session: Session, data: bytes | str, binary: bool) -> None:
        connection: Connection = session.state
        apply_outcome(
            session,
            connection.receive(data),
            hub=ctx.hub,
            registry=ctx.registry,
            faults=faults,
            publisher=publisher,
        )

    async def websocket(request: web.Request) -> web.StreamResponse:
        return await serve_session(
            request,
            dialect=DIALECT,
            on_message=on_message,
            on_open=on_open,
            hub=ctx.hub,
            registry=ctx.registry,
            config=ctx.session_config,
            metrics=ctx.metrics,
        )

    app.router.add_get("/ws/v1/", websocket)
    app.router.add_get("/ws/v1", websocket)
    # One budget per API key for private calls, one per client address for public ones (0 = off).
    rest_limits = RestRateLimits(
        limits.rest_private_per_second, limits.rest_public_per_second, ctx.metrics.tally(DIALECT)
    )
    if rest_limits.per_key is not None:
        ctx.shared_limiters[f"{DIALECT}.rest_private"] = rest_limits.per_key
    guard = ctx.key_guards.get(DIALECT)
    auth = Authenticator(
        venue, clock, rest_limits, guard.is_blocked if guard is not None else lambda key: False
    )
    routes = RestApi(venue, clock, faults).routes()
    for route in routes:
        app.router.add_route(route.method, route.path, _rest_handler(route, auth, rest_limits))
    app.router.add_route("*", "/v3/{tail:.*}", _unknown_endpoint(rest_limits, routes))

    if limits.idle_timeout_s or limits.max_connection_age_s:
        ctx.sweeper.set_policy(
            DIALECT,
            IdleTimeout(
                timeout_s=limits.idle_timeout_s or None,
                max_age_s=limits.max_connection_age_s or None,
            ),
        )

    async def start(app: web.Application) -> None:
        publisher.start()

    async def stop(app: web.Application) -> None:
        await publisher.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)


# -- registration: what sandex.server mounts (sandex.protocols lists this dialect) ----------------
REGISTRATION = Dialect(
    name=DIALECT,
    limits=SECTION,
    setup=setup,
    banner=("DigiFinex  ws: {ws}/ws/v1/   rest: {http}/v3",),
)
