"""`sandex gateway --bus nats://HOST:PORT`: a stateless process serving every dialect's endpoints
from the bus (`sandex.bus`), until Ctrl-C or SIGTERM.

It has no config file and no data directory: markets, accounts, keys and limits come from the
engine with its snapshot, and its state is a copy the engine's stream keeps current. Any number
of gateways can run beside `sandex serve --bus`; each can be killed and restarted at any time.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

import msgspec
import typer

from ..config import BusConfig, Config
from ..core.plugin import EnginePlugin
from ..protocols import registrations
from .common import console
from .serve import STOP_SIGNALS, SWITCH_INTERVAL_S, banner, is_loopback, require_nats

if TYPE_CHECKING:
    from aiohttp import web

    from ..bus.gateway import GatewayLink


def gateway(
    bus: str = typer.Option(..., "--bus", help="The engine's NATS server (nats://HOST:PORT)."),
    host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8765)."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
) -> None:
    """Serve every dialect from the engine's bus: a stateless gateway (`sandex serve --bus`)."""
    try:
        msgspec.convert({"url": bus}, BusConfig)
    except msgspec.ValidationError:
        console.print(f"[red]--bus: {bus!r} is not nats://HOST:PORT[/red]")
        raise typer.Exit(2) from None
    if port is not None and not 0 <= port <= 65535:
        console.print(f"[red]--port: must be 0..65535, got {port}[/red]")
        raise typer.Exit(2)
    require_nats()
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        pass
    try:
        asyncio.run(_gateway(bus, host, port))
    except KeyboardInterrupt:
        console.print("stopped")


def gateway_config(engine: Config, host: str | None, port: int | None) -> Config:
    """The engine's config as a gateway runs it: its own address, no journal (its state is the
    engine's), no simulator (the engine's trades arrive on the stream), no bus of its own to
    publish to."""
    server = msgspec.structs.replace(
        engine.server,
        host=host if host is not None else engine.server.host,
        port=port if port is not None else engine.server.port,
    )
    return msgspec.structs.replace(
        engine,
        server=server,
        journal=msgspec.structs.replace(engine.journal, sync="off"),
        simulator=msgspec.structs.replace(engine.simulator, enabled=False),
        bus=BusConfig(),
    )


async def _gateway(url: str, host: str | None, port: int | None) -> None:
    from ..bus.gateway import GatewayLink
    from ..server.context import CTX

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    link = GatewayLink(url)
    console.print(f"joining the engine on {url} ...")
    joining = asyncio.ensure_future(link.join())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({joining, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not joining.done():
        joining.cancel()
        await link.close()
        return
    stopping.cancel()
    engine_config, seq, snapshot = joining.result()
    try:
        runner = await start_gateway(link, engine_config, snapshot, host, port)
    except OSError as exc:
        cfg = gateway_config(engine_config, host, port)
        console.print(f"[red]cannot listen on {cfg.server.host}:{cfg.server.port}: {exc}[/red]")
        await link.close()
        raise typer.Exit(1) from None
    try:
        cfg = runner.app[CTX].config
        console.print(
            f"[bold green]sandex gateway[/bold green] listening on http://{cfg.server.host}:{cfg.server.port}  "
            f"(engine on {url}, joined at journal seq {seq})"
        )
        for line in banner(cfg):
            console.print(line)
        sys.stderr.flush()
        await stop.wait()
        console.print("stopping")
    finally:
        await runner.cleanup()
        await link.close()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def start_gateway(
    link: GatewayLink, engine_config: Config, snapshot: bytes, host: str | None, port: int | None
) -> web.AppRunner:
    """Serve every dialect from `link` (joined: `engine_config` and `snapshot` are its answer)
    until the runner is cleaned up. Also what the tests start in-process, to lose rows on the way."""
    from aiohttp import web

    from ..bus.budgets import RateRelay
    from ..bus.follower import FollowerVenue
    from ..bus.keys import KeyBlockRelay
    from ..server.app import build_app, build_context

    cfg = gateway_config(engine_config, host, port)
    if not is_loopback(cfg.server.host):
        console.print(
            f"[bold red]WARNING: binding {cfg.server.host}:{cfg.server.port} — reachable from other machines, "
            "without TLS.[/bold red]"
        )
    plugins: list[EnginePlugin] = []
    for dialect in registrations():
        if dialect.engine_plugins is not None:
            plugins.extend(dialect.engine_plugins(cfg))
    venue = FollowerVenue(cfg, link, snapshot, plugins=plugins)
    ctx = build_context(cfg, venue)
    web_app = build_app(cfg, ctx=ctx, simulator=False)
    relay = KeyBlockRelay(ctx.key_guards)  # blocks hold on every process
    for change in link.blocks:
        relay.apply(change)
    await relay.start(link.connection)
    link.tally.register(ctx.metrics)
    await RateRelay(ctx.shared_limiters, link.tally).start(link.connection)  # a key's budget is per key
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, cfg.server.host, cfg.server.port, reuse_address=True).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
