"""Operator API used by the `sandex` CLI while a server runs: accounts and key blocks
(fault profiles: admin_faults). The work is done by `sandex.operations`, which the offline CLI
calls too; this module only turns requests into calls and results into JSON.

    GET  /admin/accounts                 every account, its wallets, balances and key blocks
    POST /admin/accounts                 create one: {name, api_key?, secret?, wallets?, balances?}
    POST /admin/accounts/{name}/credit   {currency, amount, wallet?}
    GET  /admin/keys/blocked             blocked keys, per dialect
    POST /admin/keys/{key}/block         {duration_s?: seconds, null = until unblocked}, ?dialect=
    POST /admin/keys/{key}/unblock       ?dialect=

Served on the same port, behind the loopback guard (`server.guard`): it can mint money, so it
must never be reachable from another machine, nor from a web page the operator happens to open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import operations
from ..operations import OperationError
from .context import CTX, ServerContext
from .guard import OperatorRoutes

__all__ = ["CTX", "OperatorHandler", "json_body", "operator_handler", "setup"]

OperatorHandler = Callable[[ServerContext, web.Request], Awaitable[Any]]


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (an empty body is an empty object)."""
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise OperationError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise OperationError("the body must be a JSON object")
    return body


def operator_handler(work: OperatorHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler running `work(ctx, request)`: its result as JSON, a refusal as
    `{"error": ...}` with the refusal's status."""

    async def handler(request: web.Request) -> web.Response:
        try:
            return web.json_response(await work(request.app[CTX], request))
        except OperationError as exc:
            return web.json_response(exc.body(), status=exc.status)

    handler.__name__ = work.__name__
    return handler


async def list_accounts(ctx: ServerContext, request: web.Request) -> Any:
    return operations.list_accounts(ctx)


async def create_account(ctx: ServerContext, request: web.Request) -> Any:
    body = await json_body(request)
    return await operations.create_account(
        ctx,
        str(body.get("name") or ""),
        api_key=str(body["api_key"]) if body.get("api_key") else None,
        secret=str(body["secret"]) if body.get("secret") else None,
        wallets=[str(name) for name in body.get("wallets") or []],
        balances={str(c): str(a) for c, a in (body.get("balances") or {}).items()},
    )


async def credit_account(ctx: ServerContext, request: web.Request) -> Any:
    body = await json_body(request)
    for name in ("currency", "amount"):
        if name not in body:
            raise OperationError(f"{name} is required", field=name)
    wallet = body.get("wallet")
    return await operations.credit_account(
        ctx,
        request.match_info["name"],
        str(body["currency"]),
        str(body["amount"]),
        wallet=str(wallet) if wallet else None,
    )


async def list_blocked(ctx: ServerContext, request: web.Request) -> Any:
    return operations.blocked_keys(ctx)


async def block(ctx: ServerContext, request: web.Request) -> Any:
    body = await json_body(request)
    duration = body.get("duration_s")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        raise OperationError("duration_s must be a number of seconds, or null", field="duration_s")
    return operations.block_key(
        ctx,
        request.match_info["key"],
        duration_s=None if duration is None else float(duration),
        dialect=request.query.get("dialect"),
    )


async def unblock(ctx: ServerContext, request: web.Request) -> Any:
    return operations.unblock_key(ctx, request.match_info["key"], dialect=request.query.get("dialect"))


def setup(app: web.Application) -> None:
    routes = OperatorRoutes(app)
    routes.get("/admin/accounts", operator_handler(list_accounts))
    routes.post("/admin/accounts", operator_handler(create_account))
    routes.post("/admin/accounts/{name}/credit", operator_handler(credit_account))
    routes.get("/admin/keys/blocked", operator_handler(list_blocked))
    routes.post("/admin/keys/{key}/block", operator_handler(block))
    routes.post("/admin/keys/{key}/unblock", operator_handler(unblock))
