"""Mounting the DigiFinex dialect on the server: WebSocket `/ws/v1/`, REST `/v3/...`.

`setup` wires the publisher into the venue's listeners, installs the idle policy (off in the
default "relaxed" profile, 60 s in "strict") and registers the routes; the periodic clean depth
snapshot task runs between the app's startup and shutdown.
"""

from __future__ import annotations

import time

from aiohttp import web

from sandex.server.context import ServerContext
from sandex.server.dialects import Dialect
from sandex.server.endpoint import serve_session
from sandex.server.liveness import IdleTimeout

from .errors import ILLEGAL_PARAMS
from .limits import SECTION
from .publisher import Publisher
from .rest_common import RestRateLimits, answers_errors, error_response
from .rest_private import PrivateApi
from .rest_public import PublicApi
from .ws import WsHandler

DIALECT = "digifinex"
PUBLISHER = web.AppKey("digifinex_publisher", Publisher)


async def _unknown_endpoint(request: web.Request) -> web.Response:
    return error_response(ILLEGAL_PARAMS, f"unknown endpoint: {request.method} {request.path}")


def setup(app: web.Application, ctx: ServerContext) -> None:
    limits = ctx.limits.digifinex
    venue = ctx.venue
    clock = time.time
    publisher = Publisher(
        venue,
        ctx.hub,
        ctx.broadcaster,
        depth_levels=limits.depth_levels,
        snapshot_interval_s=limits.depth_snapshot_interval_s,
        faults=ctx.faults,
    )
    app[PUBLISHER] = publisher
    venue.listeners.append(publisher.on_events)
    handler = WsHandler(venue, ctx.hub, publisher, clock, faults=ctx.faults)

    async def websocket(request: web.Request) -> web.StreamResponse:
        return await serve_session(
            request,
            dialect=DIALECT,
            on_message=handler.handle,
            on_open=handler.open,
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
    rest_routes = (
        PublicApi(venue, clock, rest_limits).routes()
        + PrivateApi(venue, clock, ctx.faults, rest_limits).routes()
    )
    for method, path, route in rest_routes:
        app.router.add_route(method, path, route)
    # Anything else under the dialect's prefixes answers in DigiFinex's envelope, not HTML (and
    # counts against the caller's address, like a public call).
    app.router.add_route("*", "/v3/{tail:.*}", answers_errors(_unknown_endpoint, admit=rest_limits.check_ip))

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
