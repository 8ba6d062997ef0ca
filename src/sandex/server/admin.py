"""Operator API used by the `sandex` CLI while a server runs: accounts and key blocks
(fault profiles: admin_faults).

Served on the same port but only to loopback peers: it can mint money, so it must never be
reachable from another machine even when the venue itself is bound elsewhere.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from typing import Any

from aiohttp import web

from ..core.commands import CreateWallet
from ..core.engine import Account
from ..core.numbers import LEDGER_DECIMALS, NumberError, format_trimmed
from ..venue import CommandRejected
from .context import ServerContext

CTX = web.AppKey("ctx", ServerContext)


def _loopback_only(request: web.Request) -> None:
    peer = request.remote or ""
    try:
        if ipaddress.ip_address(peer).is_loopback:
            return
    except ValueError:
        pass
    raise web.HTTPForbidden(text="the admin API answers loopback clients only")


#: The same check, for the operator API's other modules (admin_faults).
loopback_only = _loopback_only


def account_view(ctx: ServerContext, account: Account) -> dict[str, Any]:
    wallets = []
    for wallet_id in account.wallets:
        balances = {
            currency: {
                "free": format_trimmed(free, LEDGER_DECIMALS),
                "held": format_trimmed(held, LEDGER_DECIMALS),
            }
            for currency, (free, held) in sorted(ctx.venue.engine.balances_of(wallet_id).items())
        }
        wallets.append(
            {"id": wallet_id, "name": ctx.venue.engine.wallets[wallet_id].name, "balances": balances}
        )
    blocked = {dialect: guard.is_blocked(account.api_key) for dialect, guard in ctx.key_guards.items()}
    return {
        "id": account.id,
        "name": account.name,
        "api_key": account.api_key,
        "wallets": wallets,
        "blocked": {d: b for d, b in blocked.items() if b},
    }


async def list_accounts(request: web.Request) -> web.Response:
    _loopback_only(request)
    ctx = request.app[CTX]
    return web.json_response([account_view(ctx, a) for a in ctx.venue.engine.accounts.values()])


async def create_account(request: web.Request) -> web.Response:
    _loopback_only(request)
    ctx = request.app[CTX]
    body = await request.json()
    name = str(body.get("name") or "").strip()
    if not name:
        return web.json_response({"error": "name is required"}, status=400)
    api_key = str(body.get("api_key") or secrets.token_hex(16))
    secret = str(body.get("secret") or secrets.token_hex(32))
    try:
        account = await ctx.venue.create_account(name, api_key, secret)
        for wallet_name in body.get("wallets") or []:
            await ctx.venue.execute(CreateWallet(account.id, str(wallet_name)))
        for currency, amount in (body.get("balances") or {}).items():
            await ctx.venue.credit(account.wallets[0], currency, str(amount))
    except (CommandRejected, NumberError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    view = account_view(ctx, account)
    view["secret"] = secret  # shown once, to the operator who created it
    return web.json_response(view)


async def credit_account(request: web.Request) -> web.Response:
    _loopback_only(request)
    ctx = request.app[CTX]
    account = ctx.venue.account_named(request.match_info["name"])
    if account is None:
        return web.json_response({"error": "unknown account"}, status=404)
    body = await request.json()
    wallet = body.get("wallet") or account.wallets[0]
    if wallet not in account.wallets:
        return web.json_response({"error": "unknown wallet"}, status=404)
    try:
        await ctx.venue.credit(wallet, str(body["currency"]), str(body["amount"]))
    except (CommandRejected, NumberError, KeyError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(account_view(ctx, account))


async def list_blocked(request: web.Request) -> web.Response:
    _loopback_only(request)
    ctx = request.app[CTX]
    out = []
    for dialect, guard in ctx.key_guards.items():
        for blocked in guard.blocked():
            expires_in = (
                None if blocked.until is None else max(0.0, round(blocked.until - time.monotonic(), 1))
            )
            out.append(
                {
                    "dialect": dialect,
                    "key": blocked.key,
                    "expires_in_s": expires_in,
                    "violations": blocked.violations,
                }
            )
    return web.json_response(out)


async def unblock(request: web.Request) -> web.Response:
    _loopback_only(request)
    ctx = request.app[CTX]
    key = request.match_info["key"]
    dialect = request.query.get("dialect")
    done = [d for d, guard in ctx.key_guards.items() if (dialect in (None, d)) and guard.unblock(key)]
    return web.json_response({"key": key, "unblocked": done})


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/accounts", list_accounts)
    app.router.add_post("/admin/accounts", create_account)
    app.router.add_post("/admin/accounts/{name}/credit", credit_account)
    app.router.add_get("/admin/keys/blocked", list_blocked)
    app.router.add_post("/admin/keys/{key}/unblock", unblock)
