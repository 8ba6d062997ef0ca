"""`sandex serve` and the operator commands.

Operator commands talk to the running server through its loopback admin API when one holds the
data directory, and otherwise open the data directory themselves (the journal has one writer at
a time: the server's lock decides which).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import sqlite3
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from .config import Config, ConfigError, load_config

app = typer.Typer(
    add_completion=False,
    help="sandex: a self-hosted crypto trading venue that speaks real exchange protocols.",
)
accounts_app = typer.Typer(help="List, create and credit accounts.")
keys_app = typer.Typer(help="Blocked API keys (rate-limit abuse) and unblocking.")
faults_app = typer.Typer(
    help="Fault injection profiles of a running server: list, set, enable, disable, delete."
)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(faults_app, name="faults")

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

ConfigOpt = typer.Option(None, "--config", "-c", help="TOML config file (default: the demo venue).")
DataDirOpt = typer.Option(None, "--data-dir", help="Where the journal and snapshots live (default ./data).")

#: The interpreter's thread switch interval while serving (see `serve`).
SWITCH_INTERVAL_S = 0.0001


def _load(config: Path | None, data_dir: Path | None, **flags: Any) -> Config:
    try:
        return load_config(config, data_dir=str(data_dir) if data_dir else None, **flags)
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None
    except OSError as exc:
        console.print(f"[red]cannot read config:[/red] {exc}")
        raise typer.Exit(2) from None


def _is_loopback(host: str) -> bool:
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


@app.command()
def serve(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8765)."),
    no_sim: bool = typer.Option(False, "--no-sim", help="Do not run the simulated market."),
) -> None:
    """Start the venue: every dialect on one port."""
    cfg = _load(config, data_dir, host=host, port=port, simulator=False if no_sim else None)
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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(cfg))


async def _serve(cfg: Config) -> None:
    from aiohttp import web

    from .server.app import build_app
    from .store.datadir import DataDirLocked

    if not _is_loopback(cfg.server.host):
        console.print(
            f"[bold red]WARNING: binding {cfg.server.host}:{cfg.server.port} — sandex is reachable from other "
            "machines. It has no TLS and its demo keys are printed in logs. Bind 127.0.0.1 unless you mean it.[/bold red]"
        )
    web_app = build_app(cfg)
    runner = web.AppRunner(web_app, access_log=None, handle_signals=True)
    try:
        await runner.setup()
    except DataDirLocked as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except (OSError, sqlite3.Error) as exc:
        # A read-only, full or missing data directory: say which and why, not a traceback.
        console.print(f"[red]cannot use the data directory {cfg.server.data_path.resolve()}: {exc}[/red]")
        raise typer.Exit(1) from None
    site = web.TCPSite(runner, cfg.server.host, cfg.server.port, reuse_address=True)
    await site.start()
    from .server.admin import CTX

    ctx = web_app[CTX]
    venue = ctx.venue
    if venue.datadir is not None:
        venue.datadir.write_server_info(cfg.server.host, cfg.server.port)
    base = f"http://{cfg.server.host}:{cfg.server.port}"
    console.print(
        f"[bold green]sandex[/bold green] listening on {base}  (markets: {', '.join(m.symbol for m in venue.markets)})"
    )
    console.print(f"  DigiFinex  ws: ws://{cfg.server.host}:{cfg.server.port}/ws/v1/   rest: {base}/v3")
    console.print(f"  Infoway    ws: ws://{cfg.server.host}:{cfg.server.port}/ws?business=crypto&apikey=KEY")
    console.print(
        f"  DBot       ws: ws://{cfg.server.host}:{cfg.server.port}/trade/ws   rest: {base}/automation"
    )
    console.print(f"  health {base}/healthz   metrics {base}/metrics")
    if venue.demo_credentials:
        key, secret = venue.demo_credentials
        console.print(f"  demo account  api_key=[bold]{key}[/bold]  secret=[bold]{secret}[/bold]")
    console.print(
        f"  simulator: {'on' if cfg.simulator.enabled else 'off'}   journal: {cfg.journal.sync}"
        + (f" in {cfg.server.data_path.resolve()}" if venue.datadir else "")
    )
    sys.stderr.flush()
    try:
        await asyncio.Event().wait()
    finally:
        if venue.datadir is not None:
            venue.datadir.remove_server_info()
        await runner.cleanup()


# ---------------------------------------------------------------------- operator commands
def _admin_base(cfg: Config) -> str | None:
    """The running server's base URL if one holds this data dir, else None."""
    from .store.datadir import DataDir

    datadir = DataDir(cfg.server.data_path)
    if not datadir.is_locked_by_other():
        return None
    info = datadir.read_server_info()
    host, port = (info.host, info.port) if info else (cfg.server.host, cfg.server.port)
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
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


def _offline(cfg: Config, action: Any) -> Any:
    """Run `action(ctx)` against the data dir directly (no server running)."""
    from .server.app import build_context

    async def run() -> Any:
        ctx = build_context(cfg)
        await ctx.venue.open()
        try:
            return await action(ctx)
        finally:
            await ctx.venue.close()

    return asyncio.run(run())


def _print_accounts(accounts: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(accounts))
        return
    table = Table("id", "name", "api_key", "wallet", "balances (free/held)", "blocked")
    for account in accounts:
        for i, wallet in enumerate(account["wallets"]):
            balances = ", ".join(f"{c} {b['free']}/{b['held']}" for c, b in wallet["balances"].items())
            table.add_row(
                str(account["id"]) if i == 0 else "",
                account["name"] if i == 0 else "",
                account["api_key"] if i == 0 else "",
                wallet["id"],
                balances,
                ", ".join(account.get("blocked", {})) if i == 0 else "",
            )
    out.print(table)


@accounts_app.command("list")
def accounts_list(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List accounts, wallets, balances and key blocks."""
    cfg = _load(config, data_dir, simulator=False)
    base = _admin_base(cfg)
    if base:
        accounts = _http("GET", f"{base}/admin/accounts")
    else:
        from .server.admin import account_view

        async def action(ctx: Any) -> list[dict[str, Any]]:
            return [account_view(ctx, a) for a in ctx.venue.engine.accounts.values()]

        accounts = _offline(cfg, action)
    _print_accounts(accounts, as_json)


@accounts_app.command("create")
def accounts_create(
    name: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    api_key: str | None = typer.Option(None, help="Default: random."),
    secret: str | None = typer.Option(None, help="Default: random."),
    balance: list[str] = typer.Option([], help="CURRENCY=AMOUNT, repeatable, e.g. --balance USDT=1000"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create an account (its secret is shown once)."""
    cfg = _load(config, data_dir, simulator=False)
    balances = {}
    for item in balance:
        currency, sep, amount = item.partition("=")
        if not sep:
            console.print(f"[red]--balance must look like CURRENCY=AMOUNT, got {item!r}[/red]")
            raise typer.Exit(2)
        balances[currency.upper()] = amount
    body = {"name": name, "api_key": api_key, "secret": secret, "balances": balances}
    base = _admin_base(cfg)
    if base:
        account = _http("POST", f"{base}/admin/accounts", body)
    else:
        account = _offline(cfg, lambda ctx: _create_offline(ctx, body))
    if as_json:
        out.print_json(json.dumps(account))
    else:
        out.print(
            f"created account {account['name']} (id {account['id']})\n  api_key: {account['api_key']}\n  secret:  {account['secret']}"
        )


async def _create_offline(ctx: Any, body: dict[str, Any]) -> dict[str, Any]:
    import secrets as _secrets

    from .server.admin import account_view

    secret = body["secret"] or _secrets.token_hex(32)
    account = await ctx.venue.create_account(body["name"], body["api_key"] or _secrets.token_hex(16), secret)
    for currency, amount in body["balances"].items():
        await ctx.venue.credit(account.wallets[0], currency, amount)
    view = account_view(ctx, account)
    view["secret"] = secret
    return view


@accounts_app.command("credit")
def accounts_credit(
    name: str,
    currency: str,
    amount: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Credit an account's default wallet; debit with a negative amount after `--` (credit -- NAME USDT -5)."""
    cfg = _load(config, data_dir, simulator=False)
    base = _admin_base(cfg)
    if base:
        account = _http(
            "POST", f"{base}/admin/accounts/{name}/credit", {"currency": currency, "amount": amount}
        )
    else:

        async def action(ctx: Any) -> dict[str, Any]:
            from .server.admin import account_view

            acct = ctx.venue.account_named(name)
            if acct is None:
                console.print(f"[red]unknown account {name!r}[/red]")
                raise typer.Exit(1)
            await ctx.venue.credit(acct.wallets[0], currency, amount)
            return account_view(ctx, acct)

        account = _offline(cfg, action)
    _print_accounts([account], as_json)


@keys_app.command("blocked")
def keys_blocked(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Keys currently blocked for repeated rate-limit disconnects (needs a running server)."""
    cfg = _load(config, data_dir, simulator=False)
    base = _admin_base(cfg)
    blocked = _http("GET", f"{base}/admin/keys/blocked") if base else []
    if as_json:
        out.print_json(json.dumps(blocked))
    elif not blocked:
        out.print("no blocked keys" + ("" if base else " (no server running: blocks live in the server)"))
    else:
        table = Table("dialect", "key", "expires in (s)", "violations")
        for b in blocked:
            table.add_row(
                b["dialect"],
                b["key"],
                str(b["expires_in_s"] if b["expires_in_s"] is not None else "never"),
                str(b["violations"]),
            )
        out.print(table)


@keys_app.command("unblock")
def keys_unblock(
    key: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    dialect: str | None = typer.Option(None, help="Only this dialect (default: all)."),
) -> None:
    """Unblock a key now."""
    cfg = _load(config, data_dir, simulator=False)
    base = _admin_base(cfg)
    if not base:
        console.print("no server is running for this data dir; blocks do not outlive the server")
        raise typer.Exit(1)
    suffix = f"?dialect={dialect}" if dialect else ""
    result = _http("POST", f"{base}/admin/keys/{key}/unblock{suffix}", {})
    out.print(f"unblocked {key} for: {', '.join(result['unblocked']) or 'nothing (it was not blocked)'}")


# ---------------------------------------------------------------------- fault injection
def _running_server(cfg: Config) -> str:
    base = _admin_base(cfg)
    if not base:
        console.print(
            "no server is running for this data dir: fault profiles live in the running server "
            "(put them in the config file's [[faults]] to have them from the start)"
        )
        raise typer.Exit(1)
    return base


def _field_value(text: str) -> Any:
    """A `field=value` value: a TOML literal (5, 0.25, true, "x"), else the bare text; empty = unset."""
    if text == "":
        return None
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _print_faults(state: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(state))
        return
    profiles = state["profiles"]
    if not profiles:
        out.print("no fault profiles")
    else:
        table = Table("name", "on", "scope", "faults", "injected")
        for profile in profiles:
            scope = profile["dialect"] + (f" key={profile['api_key']}" if profile["api_key"] else "")
            defaults = _fault_defaults()
            settings = ", ".join(
                f"{k}={v}"
                for k, v in profile.items()
                if k not in ("name", "dialect", "api_key", "enabled", "seed", "injected")
                and v != defaults.get(k)
            )
            injected = ", ".join(f"{k} {n}" for k, n in profile["injected"].items())
            table.add_row(
                profile["name"],
                "yes" if profile["enabled"] else "no",
                scope,
                settings or "-",
                injected or "-",
            )
        out.print(table)
    if state.get("paused"):
        out.print(f"order entry halted: {state['paused']}")


def _fault_defaults() -> dict[str, Any]:
    import msgspec

    from .faults import FaultProfile

    return msgspec.structs.asdict(FaultProfile(name="defaults"))


@faults_app.command("list")
def faults_list(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Fault profiles of the running server and how often each fault was injected."""
    cfg = _load(config, data_dir, simulator=False)
    _print_faults(_http("GET", f"{_running_server(cfg)}/admin/faults"), as_json)


@faults_app.command("set")
def faults_set(
    name: str,
    fields: list[str] = typer.Argument(None, help="FIELD=VALUE ..., e.g. dialect=digifinex drop_every_s=5"),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a profile, or change some of its fields (the others keep their values). Applies at once."""
    cfg = _load(config, data_dir, simulator=False)
    body: dict[str, Any] = {}
    for item in fields or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            console.print(f"[red]expected FIELD=VALUE, got {item!r}[/red]")
            raise typer.Exit(2)
        body[key.strip()] = _field_value(value.strip())
    _print_faults(_http("POST", f"{_running_server(cfg)}/admin/faults/{name}", body), as_json)


def _switch_fault(name: str, action: str, config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    cfg = _load(config, data_dir, simulator=False)
    base = _running_server(cfg)
    if action == "delete":
        state = _http("DELETE", f"{base}/admin/faults/{name}")
    else:
        state = _http("POST", f"{base}/admin/faults/{name}/{action}", {})
    _print_faults(state, as_json)


@faults_app.command("enable")
def faults_enable(
    name: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Switch a profile on."""
    _switch_fault(name, "enable", config, data_dir, as_json)


@faults_app.command("disable")
def faults_disable(
    name: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Switch a profile off (it is kept, with its settings)."""
    _switch_fault(name, "disable", config, data_dir, as_json)


@faults_app.command("delete")
def faults_delete(
    name: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Forget a profile."""
    _switch_fault(name, "delete", config, data_dir, as_json)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
