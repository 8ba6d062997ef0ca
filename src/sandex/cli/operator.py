"""The operator commands: `sandex accounts`, `sandex keys`, `sandex faults`.

Each talks to the running server through its loopback operator API when one holds the data
directory, and otherwise (where that makes sense: accounts) opens the data directory itself; the
journal has one writer at a time, and the server's lock decides which. Both ways run the same
`sandex.operations`.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from .. import operations
from ..operations import OperationError
from ..server.context import ServerContext
from .common import ConfigOpt, DataDirOpt, admin_base, console, http, load, offline, out, running_server

accounts_app = typer.Typer(help="List, create and credit accounts.")
keys_app = typer.Typer(help="Block and unblock API keys; list the blocked ones.")
faults_app = typer.Typer(
    help="Fault injection profiles of a running server: list, set, enable, disable, delete."
)

JsonOpt = typer.Option(False, "--json", help="Machine-readable output.")
#: What the running server needs to be there for, per command group.
BLOCKS_LIVE = "key blocks live in the running server; they do not outlive it"
FAULTS_LIVE = (
    "fault profiles live in the running server "
    "(put them in the config file's [[faults]] to have them from the start)"
)


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


async def _offline_call(work: Any) -> Any:
    try:
        return await work
    except OperationError as exc:
        console.print(f"[red]refused:[/red] {exc.message}")
        raise typer.Exit(1) from None


# ---------------------------------------------------------------------- accounts
def _print_accounts(accounts: list[dict[str, Any]], as_json: bool) -> None:
    """One block per account, nothing cut: whole keys and wallet ids, to copy from."""
    if as_json:
        out.print_json(json.dumps(accounts))
        return
    for account in accounts:
        blocked = ", ".join(account.get("blocked", {}))
        out.print(
            f"[bold]{account['name']}[/bold] (id {account['id']})  api_key {account['api_key']}"
            + (f"  [red]blocked on {blocked}[/red]" if blocked else "")
        )
        for wallet in account["wallets"]:
            balances = ", ".join(f"{c} {b['free']}/{b['held']}" for c, b in wallet["balances"].items())
            out.print(f"  wallet {wallet['id']} ({wallet['name']})  {balances or 'no balances'}")
    if accounts:
        out.print("(balances free/held; --json for all of it as JSON)", style="dim")
    else:
        out.print("no accounts")


@accounts_app.command("list")
def accounts_list(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List accounts (whole API keys), wallets (whole ids), balances and key blocks."""
    cfg = load(config, data_dir, simulator=False)
    base = admin_base(cfg)
    if base:
        accounts = http("GET", f"{base}/admin/accounts")
    else:

        async def action(ctx: ServerContext) -> list[dict[str, Any]]:
            return operations.list_accounts(ctx)

        accounts = offline(cfg, action)
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
    cfg = load(config, data_dir, simulator=False)
    balances = {}
    for item in balance:
        currency, sep, amount = item.partition("=")
        if not sep:
            console.print(f"[red]--balance must look like CURRENCY=AMOUNT, got {item!r}[/red]")
            raise typer.Exit(2)
        balances[currency.upper()] = amount
    base = admin_base(cfg)
    if base:
        body = {"name": name, "api_key": api_key, "secret": secret, "balances": balances}
        account = http("POST", f"{base}/admin/accounts", body)
    else:

        async def action(ctx: ServerContext) -> dict[str, Any]:
            work = operations.create_account(ctx, name, api_key=api_key, secret=secret, balances=balances)
            result: dict[str, Any] = await _offline_call(work)
            return result

        account = offline(cfg, action)
    if as_json:
        out.print_json(json.dumps(account))
    else:
        out.print(
            f"created account {account['name']} (id {account['id']})\n  api_key: {account['api_key']}\n  secret:  {account['secret']}"
        )


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
    cfg = load(config, data_dir, simulator=False)
    base = admin_base(cfg)
    if base:
        account = http(
            "POST", f"{base}/admin/accounts/{_quote(name)}/credit", {"currency": currency, "amount": amount}
        )
    else:

        async def action(ctx: ServerContext) -> dict[str, Any]:
            result: dict[str, Any] = await _offline_call(
                operations.credit_account(ctx, name, currency, amount)
            )
            return result

        account = offline(cfg, action)
    _print_accounts([account], as_json)


# ---------------------------------------------------------------------- keys
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `2h`, `1d` as seconds (above 0)."""
    match = _DURATION.match(text)
    seconds = float(match[1]) * _UNIT_S[match[2] or "s"] if match else 0.0
    if seconds <= 0:
        raise typer.BadParameter(f"expected a duration such as 90s, 15m, 2h or 1d, got {text!r}")
    return seconds


@keys_app.command("blocked")
def keys_blocked(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Keys blocked now, by an operator or for repeated rate-limit disconnects (needs a running server)."""
    cfg = load(config, data_dir, simulator=False)
    base = admin_base(cfg)
    blocked = http("GET", f"{base}/admin/keys/blocked") if base else []
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


@keys_app.command("block")
def keys_block(
    key: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    duration: str | None = typer.Option(
        None, "--for", help="How long, e.g. 90s, 15m, 2h, 1d (default: until `keys unblock`)."
    ),
    dialect: str | None = typer.Option(None, help="Only this dialect (default: all)."),
) -> None:
    """Block a key now: its open connections are closed and new ones refused (needs a running server)."""
    seconds = parse_duration(duration) if duration is not None else None
    cfg = load(config, data_dir, simulator=False)
    base = running_server(cfg, BLOCKS_LIVE)
    suffix = f"?dialect={_quote(dialect)}" if dialect else ""
    result = http("POST", f"{base}/admin/keys/{_quote(key)}/block{suffix}", {"duration_s": seconds})
    until = "until unblocked" if seconds is None else f"for {duration}"
    out.print(f"blocked {key} {until} on: {', '.join(result['blocked'])}")


@keys_app.command("unblock")
def keys_unblock(
    key: str,
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    dialect: str | None = typer.Option(None, help="Only this dialect (default: all)."),
) -> None:
    """Unblock a key now."""
    cfg = load(config, data_dir, simulator=False)
    base = running_server(cfg, BLOCKS_LIVE)
    suffix = f"?dialect={_quote(dialect)}" if dialect else ""
    result = http("POST", f"{base}/admin/keys/{_quote(key)}/unblock{suffix}", {})
    out.print(f"unblocked {key} for: {', '.join(result['unblocked']) or 'nothing (it was not blocked)'}")


# ---------------------------------------------------------------------- fault injection
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
        defaults = _fault_defaults()
        for profile in profiles:
            scope = profile["dialect"] + (f" key={profile['api_key']}" if profile["api_key"] else "")
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

    from ..faults import FaultProfile

    return msgspec.structs.asdict(FaultProfile(name="defaults"))


@faults_app.command("list")
def faults_list(
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Fault profiles of the running server and how often each fault was injected."""
    cfg = load(config, data_dir, simulator=False)
    _print_faults(http("GET", f"{running_server(cfg, FAULTS_LIVE)}/admin/faults"), as_json)


@faults_app.command("set")
def faults_set(
    name: str,
    fields: list[str] = typer.Argument(None, help="FIELD=VALUE ..., e.g. delay_ms=50 drop_every_s=5"),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a profile, or change some of its fields (the others keep their values). Applies at once."""
    cfg = load(config, data_dir, simulator=False)
    body: dict[str, Any] = {}
    for item in fields or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            console.print(f"[red]expected FIELD=VALUE, got {item!r}[/red]")
            raise typer.Exit(2)
        body[key.strip()] = _field_value(value.strip())
    base = running_server(cfg, FAULTS_LIVE)
    _print_faults(http("POST", f"{base}/admin/faults/{_quote(name)}", body), as_json)


def _switch_fault(name: str, action: str, config: Path | None, data_dir: Path | None, as_json: bool) -> None:
    cfg = load(config, data_dir, simulator=False)
    base = running_server(cfg, FAULTS_LIVE)
    if action == "delete":
        state = http("DELETE", f"{base}/admin/faults/{_quote(name)}")
    else:
        state = http("POST", f"{base}/admin/faults/{_quote(name)}/{action}", {})
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
