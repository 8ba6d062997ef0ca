"""`sandex serve`: start the venue, every dialect on one port, until Ctrl-C or SIGTERM.

Either signal is a normal end: the server closes its connections, journal and data directory
and the command exits with status 0 (so `make run` does not report an error on Ctrl-C).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import typer

from ..config import Config
from ..protocols import registrations
from .common import ConfigOpt, DataDirOpt, console, load

#: The interpreter's thread switch interval while serving (see `serve`).
SWITCH_INTERVAL_S = 0.0001
#: The signals that end `sandex serve` cleanly.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
            )
        except OSError:
            return False


def serve(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8765)."),
    no_sim: bool = typer.Option(False, "--no-sim", help="Do not run the simulated market."),
    replay: list[str] = typer.Option(
        None, "--replay", help="Replay a recording (a file, or a bundled name: btcusdt); repeat for more."
    ),
    speed: float | None = typer.Option(
        None, "--speed", help="Replay speed (default 1; 0 = as fast as possible)."
    ),
    paused: bool = typer.Option(False, "--paused", help="Start the replay paused."),
    bus: str | None = typer.Option(
        None, "--bus", help="Also publish to gateways over NATS JetStream (nats://HOST:PORT)."
    ),
) -> None:
    """Start the venue: every dialect on one port."""
    cfg = load(
        config,
        data_dir,
        host=host,
        port=port,
        simulator=False if no_sim else None,
        replay=replay or None,
        speed=speed,
        paused=True if paused else None,
    )
    if bus is not None:
        cfg = with_bus(cfg, bus)
    if cfg.bus.url is not None:
        require_nats()
    logging.basicConfig(
        level=cfg.server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The journal's writer thread needs the GIL back the moment its fsync returns, or every
    # order's ack waits for the interpreter's switch interval (5 ms by default) whenever the event
    # loop is busy fanning out. 0.1 ms keeps that wait small at a negligible switching cost.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        pass
    try:
        asyncio.run(_serve(cfg))
    except KeyboardInterrupt:
        # A second Ctrl-C during shutdown, or one before the handlers were installed.
        console.print("stopped")


def with_bus(cfg: Config, url: str) -> Config:
    """`--bus URL` as `[bus] url`, checked as the config file's would be."""
    import msgspec

    from ..config import BusConfig, ConfigError
    from ..config.checks import check

    try:
        msgspec.convert({"url": url}, BusConfig)  # the URL's check
        cfg = msgspec.structs.replace(
            cfg, bus=msgspec.structs.replace(cfg.bus, url=url)
        )  # the rest of [bus] stays
        check(cfg, "--bus")
    except msgspec.ValidationError:
        console.print(f"[red]config error:[/red] --bus: {url!r} is not nats://HOST:PORT")
        raise typer.Exit(2) from None
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None
    return cfg


def require_nats() -> None:
    try:
        import nats  # noqa: F401
    except ImportError:
        console.print("[red]the bus needs nats-py: pip install 'sandex[bus]'[/red]")
        raise typer.Exit(2) from None


def banner(cfg: Config) -> list[str]:
    host, port = cfg.server.host, cfg.server.port
    shown = f"[{host}]" if ":" in host else host
    http, ws = f"http://{shown}:{port}", f"ws://{shown}:{port}"
    lines = [f"  {line}" for dialect in registrations() for line in dialect.banner_lines(http, ws)]
    lines.append(f"  health {http}/healthz   metrics {http}/metrics")
    lines.append(f"  dashboard {http}/dashboard")
    return lines


async def _serve(cfg: Config) -> None:
    from aiohttp import web

    from ..server.app import build_app
    from ..server.context import CTX
    from ..store.datadir import DataDirLocked

    if not is_loopback(cfg.server.host):
        console.print(
            f"[bold red]WARNING: binding {cfg.server.host}:{cfg.server.port} — sandex is reachable from other "
            "machines. It has no TLS and its demo keys are printed in logs. Bind 127.0.0.1 unless you mean it.[/bold red]"
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    from ..replay import RecordingError, ReplayImportError

    try:
        web_app = build_app(cfg)
    except (ReplayImportError, RecordingError, FileNotFoundError) as exc:
        console.print(f"[red]cannot replay:[/red] {exc}")
        raise typer.Exit(2) from None
    # Our own signal handlers, not aiohttp's: its GracefulExit ends the process with status 1.
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    try:
        await runner.setup()
    except DataDirLocked as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except (OSError, sqlite3.Error) as exc:
        # A read-only, full or missing data directory: say which and why, not a traceback.
        console.print(f"[red]cannot use the data directory {cfg.server.data_path.resolve()}: {exc}[/red]")
        raise typer.Exit(1) from None
    venue = web_app[CTX].venue
    try:
        site = web.TCPSite(runner, cfg.server.host, cfg.server.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            console.print(f"[red]cannot listen on {cfg.server.host}:{cfg.server.port}: {exc}[/red]")
            raise typer.Exit(1) from None
        if venue.datadir is not None:
            venue.datadir.write_server_info(cfg.server.host, cfg.server.port)
        markets = ", ".join(m.symbol for m in venue.markets)
        console.print(
            f"[bold green]sandex[/bold green] listening on http://{cfg.server.host}:{cfg.server.port}  "
            f"(markets: {markets})"
        )
        for line in banner(cfg):
            console.print(line)
        if venue.demo_credentials:
            key, secret = venue.demo_credentials
            console.print(f"  demo account  api_key=[bold]{key}[/bold]  secret=[bold]{secret}[/bold]")
        console.print(
            f"  simulator: {'on' if cfg.simulator.enabled else 'off'}   journal: {cfg.journal.sync}"
            + (f" in {cfg.server.data_path.resolve()}" if venue.datadir else "")
        )
        if cfg.bus.url is not None:
            console.print(f"  bus: publishing to gateways on {cfg.bus.url}")
        sys.stderr.flush()
        await stop.wait()
        console.print("stopping")
    finally:
        if venue.datadir is not None:
            venue.datadir.remove_server_info()
        await runner.cleanup()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
