"""Operator API for fault profiles (behind the loopback guard, like the rest of /admin): what
`sandex faults` list | enable | disable | set | delete calls while a server runs.

    GET    /admin/faults                 every profile, with what it injected so far
    POST   /admin/faults/{name}          set: change the given fields, or create the profile
    POST   /admin/faults/{name}/enable   switch on
    POST   /admin/faults/{name}/disable  switch off (the profile is kept)
    DELETE /admin/faults/{name}          forget it

Changes apply at once, to connections already open too. They live in the running server only:
the config file's `[[faults]]` is what a restart starts from.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import operations
from ..operations import OperationError
from .admin import OperatorHandler, json_body, operator_handler
from .context import ServerContext
from .guard import OperatorRoutes


async def list_faults(ctx: ServerContext, request: web.Request) -> Any:
    return operations.faults_state(ctx)


async def set_fault(ctx: ServerContext, request: web.Request) -> Any:
    try:
        fields = await json_body(request)
    except OperationError:
        raise OperationError("the body must be a JSON object of profile fields") from None
    return operations.set_fault(ctx, request.match_info["name"], fields)


def _switch(enabled: bool) -> OperatorHandler:
    async def switch(ctx: ServerContext, request: web.Request) -> Any:
        return operations.switch_fault(ctx, request.match_info["name"], enabled)

    switch.__name__ = "enable" if enabled else "disable"
    return switch


async def delete_fault(ctx: ServerContext, request: web.Request) -> Any:
    return operations.delete_fault(ctx, request.match_info["name"])


def setup(app: web.Application) -> None:
    routes = OperatorRoutes(app)
    routes.get("/admin/faults", operator_handler(list_faults))
    routes.post("/admin/faults/{name}", operator_handler(set_fault))
    routes.post("/admin/faults/{name}/enable", operator_handler(_switch(True)))
    routes.post("/admin/faults/{name}/disable", operator_handler(_switch(False)))
    routes.delete("/admin/faults/{name}", operator_handler(delete_fault))
