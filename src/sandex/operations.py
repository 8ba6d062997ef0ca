"""What an operator can do to a venue: accounts, credits, key blocks, fault profiles.

One implementation for both ways in: the operator API (`server/admin.py`, `server/admin_faults.py`)
calls these while a server runs, and the offline `sandex` commands call them on a venue opened
from the data directory. Each takes the server context and plain values and returns plain JSON
values; a refusal is an `OperationError` carrying the HTTP status the API answers with.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from .config import ConfigError, parse_fault_profile
from .core.commands import CreateWallet
from .core.engine import Account
from .core.numbers import LEDGER_DECIMALS, NumberError, format_trimmed
from .faults import FaultProfileError
from .server.context import ServerContext
from .venue import CommandRejected

JSON = dict[str, Any]


class OperationError(Exception):
    """An operation refused; `status` is what the operator API answers, `field` what was wrong."""

    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field

    def body(self) -> JSON:
        body: JSON = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


# -- accounts ----------------------------------------------------------------------------------


def account_view(ctx: ServerContext, account: Account) -> JSON:
    engine = ctx.venue.engine
    wallets = []
    for wallet_id in account.wallets:
        balances = {
            currency: {
                "free": format_trimmed(free, LEDGER_DECIMALS),
                "held": format_trimmed(held, LEDGER_DECIMALS),
            }
            for currency, (free, held) in sorted(engine.balances_of(wallet_id).items())
        }
        wallets.append({"id": wallet_id, "name": engine.wallets[wallet_id].name, "balances": balances})
    blocked = {dialect: guard.is_blocked(account.api_key) for dialect, guard in ctx.key_guards.items()}
    return {
        "id": account.id,
        "name": account.name,
        "api_key": account.api_key,
        "wallets": wallets,
        "blocked": {d: b for d, b in blocked.items() if b},
    }


def list_accounts(ctx: ServerContext) -> list[JSON]:
    return [account_view(ctx, account) for account in ctx.venue.engine.accounts.values()]


async def create_account(
    ctx: ServerContext,
    name: str,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    wallets: Iterable[str] = (),
    balances: Mapping[str, str] | None = None,
) -> JSON:
    """A new account (random key and secret unless given); the view shows its secret, once."""
    name = name.strip()
    if not name:
        raise OperationError("name is required", field="name")
    api_key = api_key or secrets.token_hex(16)
    secret = secret or secrets.token_hex(32)
    venue = ctx.venue
    try:
        account = await venue.create_account(name, api_key, secret)
        for wallet_name in wallets:
            await venue.execute(CreateWallet(account.id, wallet_name))
        for currency, amount in (balances or {}).items():
            await venue.credit(account.wallets[0], currency, amount)
    except (CommandRejected, NumberError) as exc:
        raise OperationError(str(exc)) from None
    view = account_view(ctx, account)
    view["secret"] = secret  # shown once, to the operator who created it
    return view


async def credit_account(
    ctx: ServerContext, name: str, currency: str, amount: str, *, wallet: str | None = None
) -> JSON:
    """Credit (a negative amount debits) one of the account's wallets, its first by default."""
    account = ctx.venue.account_named(name)
    if account is None:
        raise OperationError(f"unknown account {name!r}", status=404)
    wallet = wallet or account.wallets[0]
    if wallet not in account.wallets:
        raise OperationError(f"unknown wallet {wallet!r}", status=404, field="wallet")
    try:
        await ctx.venue.credit(wallet, currency, amount)
    except (CommandRejected, NumberError) as exc:
        raise OperationError(str(exc)) from None
    return account_view(ctx, account)


# -- key blocks --------------------------------------------------------------------------------


def _dialects(ctx: ServerContext, dialect: str | None) -> list[str]:
    if dialect is None:
        return list(ctx.key_guards)
    if dialect not in ctx.key_guards:
        known = ", ".join(ctx.key_guards) or "none"
        raise OperationError(f"unknown dialect {dialect!r} (known: {known})", field="dialect")
    return [dialect]


def blocked_keys(ctx: ServerContext) -> list[JSON]:
    out = []
    now = time.monotonic()
    for dialect, guard in ctx.key_guards.items():
        for blocked in guard.blocked():
            expires_in = None if blocked.until is None else max(0.0, round(blocked.until - now, 1))
            out.append(
                {
                    "dialect": dialect,
                    "key": blocked.key,
                    "expires_in_s": expires_in,
                    "violations": blocked.violations,
                }
            )
    return out


def block_key(
    ctx: ServerContext, key: str, *, duration_s: float | None = None, dialect: str | None = None
) -> JSON:
    """Block `key` on every dialect (or one) for `duration_s` (None: until unblocked). Its open
    connections are closed at once, each dialect with its own close code."""
    if duration_s is not None and (not math.isfinite(duration_s) or duration_s <= 0):
        raise OperationError("the duration must be a positive number of seconds", field="duration_s")
    if key not in ctx.venue.engine.account_by_key:
        raise OperationError(f"no account has the API key {key!r}", status=404, field="key")
    done = []
    for name in _dialects(ctx, dialect):
        ctx.key_guards[name].block(key, duration_s)
        done.append(name)
    return {"key": key, "blocked": done, "duration_s": duration_s}


def unblock_key(ctx: ServerContext, key: str, *, dialect: str | None = None) -> JSON:
    done = [name for name in _dialects(ctx, dialect) if ctx.key_guards[name].unblock(key)]
    return {"key": key, "unblocked": done}


# -- fault profiles ----------------------------------------------------------------------------


def faults_state(ctx: ServerContext) -> JSON:
    return {"profiles": ctx.faults.describe(), "paused": ctx.venue.paused_reason}


def set_fault(ctx: ServerContext, name: str, fields: Mapping[str, Any]) -> JSON:
    """Change the given fields of a profile (the others keep their values), or create it from
    the defaults; checked and explained exactly as a `[[faults]]` entry of the config file."""
    controller = ctx.faults
    changes = dict(fields)
    changes.pop("injected", None)  # what `list` shows may be sent back as it is
    current = controller.get(name)
    merged: dict[str, Any] = msgspec.structs.asdict(current) if current is not None else {}
    merged.update(changes)
    merged["name"] = name
    try:
        controller.set(parse_fault_profile(merged, source=f"fault profile {name!r}"))
    except ConfigError as exc:
        raise OperationError(str(exc), field=exc.key) from None
    except FaultProfileError as exc:
        raise OperationError(str(exc), field=exc.field) from None
    return faults_state(ctx)


def _unknown_fault(name: str) -> OperationError:
    return OperationError(f"no fault profile named {name!r}", status=404)


def switch_fault(ctx: ServerContext, name: str, enabled: bool) -> JSON:
    if ctx.faults.enable(name, enabled) is None:
        raise _unknown_fault(name)
    return faults_state(ctx)


def delete_fault(ctx: ServerContext, name: str) -> JSON:
    if not ctx.faults.remove(name):
        raise _unknown_fault(name)
    return faults_state(ctx)


# -- replay ------------------------------------------------------------------------------------


def _replay(ctx: ServerContext) -> Any:
    if ctx.replay is None:
        raise OperationError("no replay: start the venue with --replay FILE or a [replay] section", 409)
    return ctx.replay


def replay_status(ctx: ServerContext) -> JSON:
    status: JSON = _replay(ctx).status()
    return status


async def replay_pause(ctx: ServerContext) -> JSON:
    await _replay(ctx).pause()
    return replay_status(ctx)


async def replay_resume(ctx: ServerContext) -> JSON:
    await _replay(ctx).resume()
    return replay_status(ctx)


async def replay_speed(ctx: ServerContext, speed: Any) -> JSON:
    driver = _replay(ctx)
    if isinstance(speed, str):
        try:
            speed = float(speed)
        except ValueError:
            raise OperationError(f"speed must be a number, got {speed!r}", field="speed") from None
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0 <= speed <= 1_000_000:
        raise OperationError("speed must be a number from 0 (as fast as possible) to 1000000", field="speed")
    await driver.set_speed(float(speed))
    return replay_status(ctx)


def parse_replay_time(value: Any) -> int:
    """A seek target: ms since the epoch (a number or digits), or an ISO 8601 time (UTC unless
    it names an offset)."""
    if isinstance(value, bool):
        raise OperationError("time must be ms since the epoch or an ISO 8601 time", field="time")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return int(parsed.timestamp() * 1000)
    raise OperationError(f"time must be ms since the epoch or an ISO 8601 time, got {value!r}", field="time")


async def replay_seek(ctx: ServerContext, value: Any) -> JSON:
    driver = _replay(ctx)
    await driver.seek(parse_replay_time(value))
    return replay_status(ctx)
