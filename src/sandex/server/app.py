"""The one aiohttp application: every dialect, the operator API, health and metrics, one port.

Dialects plug in without editing this file: each `sandex.protocols.<name>.routes` module that
exists provides `setup(app, ctx)` (routes, publishers, liveness policies) and may provide
`engine_plugins(config)` (deterministic engine extensions such as copy trading) and
`startup(ctx)` / `shutdown(ctx)` coroutines.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from types import ModuleType
from typing import Any

from aiohttp import web

from ..config import Config
from ..core.events import Event
from ..faults import FaultController
from ..marketdata.service import MarketDataUpdate
from ..venue import Venue
from . import admin, admin_faults
from .admin import CTX
from .broadcast import Broadcaster
from .context import FAULTS, ServerContext
from .hub import TopicHub
from .liveness import LivenessSweeper
from .metrics import Metrics
from .registry import SessionRegistry
from .session import SessionConfig

log = logging.getLogger("sandex.server")

DIALECTS = ("digifinex", "infoway", "dbot")
SIM_KEY = web.AppKey("simulator", object)


def dialect_modules() -> list[ModuleType]:
    modules = []
    for name in DIALECTS:
        module_name = f"sandex.protocols.{name}.routes"
        if importlib.util.find_spec(f"sandex.protocols.{name}") is None:
            continue
        if importlib.util.find_spec(module_name) is None:
            continue
        modules.append(importlib.import_module(module_name))
    return modules


def build_context(config: Config, venue: Venue | None = None) -> ServerContext:
    modules = dialect_modules()
    if venue is None:
        plugins: list[Any] = []
        for module in modules:
            factory = getattr(module, "engine_plugins", None)
            if factory is not None:
                plugins.extend(factory(config))
        venue = Venue(config, plugins=plugins)
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
        ),
        faults=faults,
        broadcaster=Broadcaster(
            hub,
            faults,
            min_interval_s=config.server.market_data_interval_ms / 1000,
            share=config.server.market_data_share,
            orders_in_flight=venue.has_client_commands_in_flight,
        ),
    )
    return ctx


def _count_events(metrics: Metrics):  # type: ignore[no-untyped-def]
    counters: dict[str, Any] = {}

    def listener(events: list[Event], update: MarketDataUpdate) -> None:
        tallies: dict[str, int] = {}
        for event in events:
            name = type(event).__name__
            tallies[name] = tallies.get(name, 0) + 1
        for name, count in tallies.items():
            counter = counters.get(name)
            if counter is None:
                counter = counters[name] = metrics.engine_events.labels(type=name)
            counter.inc(count)

    return listener


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
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_route)
    admin.setup(app)
    admin_faults.setup(app)
    modules = dialect_modules()
    for module in modules:
        module.setup(app, ctx)
    ctx.venue.listeners.insert(0, _count_events(ctx.metrics))

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
        for module in modules:
            hook = getattr(module, "startup", None)
            if hook is not None:
                await hook(ctx)
        if sim is not None:
            await sim.start()
            app[SIM_KEY] = sim

    async def shutdown(app: web.Application) -> None:
        sim = app.get(SIM_KEY)
        if sim is not None:
            await sim.stop()  # type: ignore[attr-defined]
        for module in modules:
            hook = getattr(module, "shutdown", None)
            if hook is not None:
                await hook(ctx)
        ctx.registry.close_all()
        await ctx.broadcaster.stop()
        await ctx.sweeper.stop()
        await ctx.faults.stop()
        await ctx.venue.close()

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    return app


async def wait_forever() -> None:
    await asyncio.Event().wait()
