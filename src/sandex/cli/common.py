"""What every `sandex` command shares: the consoles, the config options, and how an operator
command reaches the venue (the running server's operator API, or the data directory itself)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from ..config import Config, ConfigError, load_config
from ..server.context import ServerContext

T = TypeVar("T")

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

ConfigOpt = typer.Option(None, "--config", "-c", help="TOML config file (default: the demo venue).")
DataDirOpt = typer.Option(None, "--data-dir", help="Where the journal and snapshots live (default ./data).")


def load(config: Path | None, data_dir: Path | None, **flags: Any) -> Config:
    try:
        return load_config(config, data_dir=str(data_dir) if data_dir else None, **flags)
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None
    except OSError as exc:
        console.print(f"[red]cannot read config:[/red] {exc}")
        raise typer.Exit(2) from None


def admin_base(cfg: Config) -> str | None:
    """The running server's base URL if one holds this data dir, else None."""
    from ..store.datadir import DataDir

    datadir = DataDir(cfg.server.data_path)
    if not datadir.is_locked_by_other():
        return None
    info = datadir.read_server_info()
    host, port = (info.host, info.port) if info else (cfg.server.host, cfg.server.port)
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def http(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    """One operator API call; a refusal or an unreachable server ends the command (status 1)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        with contextlib.suppress(ValueError, KeyError, TypeError):
            detail = json.loads(detail)["error"]  # the operator API explains itself in "error"
        console.print(f"[red]server refused:[/red] {exc.code} {detail}")
        raise typer.Exit(1) from None
    except urllib.error.URLError as exc:
        console.print(f"[red]cannot reach the server at {url}:[/red] {exc.reason}")
        raise typer.Exit(1) from None


def offline(cfg: Config, action: Callable[[ServerContext], Awaitable[T]]) -> T:
    """Run `action(ctx)` against the data dir directly (no server running)."""
    from ..server.app import build_context

    async def run() -> T:
        ctx = build_context(cfg)
        await ctx.venue.open()
        try:
            return await action(ctx)
        finally:
            await ctx.venue.close()

    return asyncio.run(run())


def running_server(cfg: Config, what: str) -> str:
    """The running server's base URL, or end the command saying why `what` needs one."""
    base = admin_base(cfg)
    if not base:
        console.print(f"no server is running for this data dir: {what}")
        raise typer.Exit(1)
    return base
