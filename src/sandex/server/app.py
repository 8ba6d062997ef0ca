"""The one aiohttp application: every dialect, the operator API, health and metrics, one port.

Dialects plug in without editing this file: `sandex.protocols.registrations()` gives each one's
`Dialect` (`server/dialects.py`), whose `setup(app, ctx)` mounts routes, publishers and liveness
policies, and whose optional `engine_plugins(config)` (deterministic engine extensions such as
copy trading) and `startup(ctx)` / `shutdown(ctx)` coroutines run around the venue's life.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..config import Config
from ..core.plugin import EnginePlugin
from ..dashboard import routes as dashboard
from ..faults import FaultController
from ..protocols import registrations
from ..replay.driver import ReplayDriver
from ..replay.service import replay_plugin
from ..venue import Venue
from . import admin, admin_faults, admin_replay
from .broadcast import Broadcaster
from .context import CTX, FAULTS, ServerContext
from .dialects import Dialect
from .guard import SERVED_HOST
from .hub import TopicHub
from .liveness import LivenessSweeper
from .metrics import Metrics, count_events
from .ratelimits import KeyGuard
from .registry import SessionRegistry
from .session import SessionConfig

log = logging.getLogger("sandex.server")

SIM_KEY = web.AppKey("simulator", object)
BUS_KEY = web.AppKey("bus", object)


def build_context(config: Config, venue: Venue | None = None) -> ServerContext:
    dialects = registrations()
    replay_driver = None
    if venue is None:
        plugins: list[EnginePlugin] = []
        for dialect in dialects:
            if dialect.engine_plugins is not None:
                plugins.extend(dialect.engine_plugins(config))
        replay = replay_plugin(config)
        if replay is not None:
            plugins.append(replay)
        venue = Venue(config, plugins=plugins)
        if replay is not None:
            replay_driver = ReplayDriver(
                replay,
                functools.partial(venue.execute, internal=True),
                speed=config.replay.speed,
                paused=config.replay.paused,
                queue_model=config.replay.queue_model,
            )
    limits = config.resolved_limits()
    registry = SessionRegistry()
    metrics = Metrics()
    metrics.track_connections(registry.counts)
    hub = TopicHub()
    faults = FaultController(config.faults, venue=venue, on_inject=metrics.count_fault)
    ctx = ServerContext(
        config=config,
        limits=limits,
        venue=venue,
        hub=hub,
        registry=registry,
        metrics=metrics,
        sweeper=LivenessSweeper(registry, {}),
        session_config=SessionConfig(
            max_msg_size=limits.session.max_frame_bytes,
            send_buffer_limit=limits.session.send_buffer_limit_bytes,
            drain_timeout=limits.session.send_drain_timeout_s or None,
        ),
        faults=faults,
        broadcaster=Broadcaster(
            hub,
            faults,
            min_interval_s=config.server.market_data_interval_ms / 1000,
            share=config.server.market_data_share,
            orders_in_flight=venue.has_client_commands_in_flight,
        ),
        # Every dialect can have keys blocked by an operator; a dialect whose limits block keys
        # replaces its guard in its setup with one that also counts violations.
        key_guards={dialect.name: KeyGuard() for dialect in dialects},
        replay=replay_driver,
    )
    return ctx


def _wire_key_blocks(ctx: ServerContext, dialects: list[Dialect]) -> None:
    """Whoever blocks a key (an operator, a dialect's limits), the dialect closes its open
    connections with its own code, and new ones are refused (`serve_session`)."""
    registry = ctx.registry
    for dialect in dialects:
        registry.blocked_close[dialect.name] = (dialect.blocked_close_code, dialect.blocked_close_reason)
    closers: dict[str, Callable[[str], object]] = {
        dialect.name: functools.partial(dialect.close_blocked, ctx)
        for dialect in dialects
        if dialect.close_blocked is not None
    }
    for name, guard in ctx.key_guards.items():
        guard.on_block.append(closers.get(name) or functools.partial(registry.close_blocked_key, name))
        ctx.metrics.track_blocked_keys(name, guard.blocked_count)

    def is_blocked(dialect: str, key: str) -> bool:
        guard = ctx.key_guards.get(dialect)
        return guard is not None and guard.is_blocked(key)

    registry.is_blocked = is_blocked


async def healthz(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    if not ctx.venue.ready:
        return web.json_response({"status": "starting"}, status=503)
    body: dict[str, Any] = {
        "status": "ok",
        "journal_seq": ctx.venue.applied_seq,
        "connections": ctx.registry.counts(),
    }
    error = ctx.venue.order_entry_error
    if error:
        body["order_entry"] = f"halted: {error}"
    stale = ctx.venue.market_data_error  # a gateway refilling a gap: no depth snapshots meanwhile
    if stale:
        body["market_data"] = f"stale: {stale}"
    return web.json_response(body)


async def metrics_route(request: web.Request) -> web.Response:
    body, content_type = request.app[CTX].metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


def build_app(
    config: Config, *, ctx: ServerContext | None = None, simulator: bool | None = None
) -> web.Application:
    ctx = ctx or build_context(config)
    app = web.Application(client_max_size=ctx.limits.session.max_frame_bytes)
    app[CTX] = ctx
    app[FAULTS] = ctx.faults
    app[SERVED_HOST] = config.server.host
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_route)
    admin.setup(app)
    admin_faults.setup(app)
    dashboard.setup(app, ctx)
    admin_replay.setup(app)
    dialects = registrations()
    for dialect in dialects:
        dialect.setup(app, ctx)
    _wire_key_blocks(ctx, dialects)
    ctx.venue.listeners.insert(0, count_events(ctx.metrics))

    def on_commit(rows: int, seconds: float) -> None:
        ctx.metrics.journal_commit_seconds.observe(seconds)
        ctx.metrics.journal_batch_size.observe(rows)

    ctx.venue.on_commit = on_commit
    ctx.venue.on_ack = ctx.metrics.command_ack_seconds.observe
    run_sim = config.simulator.enabled if simulator is None else simulator

    async def startup(app: web.Application) -> None:
        sim = None
        if run_sim:
            from ..sim.runner import Simulator

            sim = Simulator(ctx.venue, config.simulator)
        # The simulator's history comes before anything the venue stamps with the clock.
        await ctx.venue.open(prepare=sim.prepare if sim is not None else None)
        ctx.sweeper.start()
        ctx.faults.start()
        ctx.broadcaster.start()
        for dialect in dialects:
            if dialect.startup is not None:
                await dialect.startup(ctx)
        if config.bus.url is not None:  # `sandex serve --bus`: publish to the gateways
            from ..bus.engine import EngineLink
            from ..bus.metrics import BusTally

            tally = BusTally()
            tally.register(ctx.metrics)
            link = EngineLink(
                ctx.venue,
                config.bus.url,
                key_guards=ctx.key_guards,
                limiters=ctx.shared_limiters,
                tally=tally,
            )
            await link.start()
            app[BUS_KEY] = link
        if ctx.replay is not None:
            await ctx.replay.start()
        if sim is not None:
            await sim.start()
            app[SIM_KEY] = sim

    async def shutdown(app: web.Application) -> None:
        sim = app.get(SIM_KEY)
        if sim is not None:
            await sim.stop()  # type: ignore[attr-defined]
        if ctx.replay is not None:
            await ctx.replay.stop()
        for dialect in dialects:
            if dialect.shutdown is not None:
                await dialect.shutdown(ctx)
        link = app.get(BUS_KEY)
        if link is not None:
            await link.stop()  # type: ignore[attr-defined]
        ctx.registry.close_all()
        await ctx.broadcaster.stop()
        await ctx.sweeper.stop()
        await ctx.faults.stop()
        await ctx.venue.close()

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    return app
