"""Operator API for fault profiles (loopback only, like the rest of /admin): what `sandex faults`
list | enable | disable | set | delete calls while a server runs.

    GET    /admin/faults                 every profile, with what it injected so far
    POST   /admin/faults/{name}          set: change the given fields, or create the profile
    POST   /admin/faults/{name}/enable   switch on
    POST   /admin/faults/{name}/disable  switch off (the profile is kept)
    DELETE /admin/faults/{name}          forget it

Changes apply at once, to connections already open too. They live in the running server only:
the config file's `[[faults]]` is what a restart starts from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from ..config import ConfigError, parse_fault_profile
from ..faults import FaultController, FaultProfileError
from .admin import CTX, loopback_only


def _controller(request: web.Request) -> FaultController:
    loopback_only(request)
    return request.app[CTX].faults


def _state(request: web.Request, controller: FaultController) -> dict[str, Any]:
    return {"profiles": controller.describe(), "paused": request.app[CTX].venue.paused_reason}


def _unknown(name: str) -> web.Response:
    return web.json_response({"error": f"no fault profile named {name!r}"}, status=404)


async def list_faults(request: web.Request) -> web.Response:
    controller = _controller(request)
    return web.json_response(_state(request, controller))


async def set_fault(request: web.Request) -> web.Response:
    controller = _controller(request)
    try:
        fields = await request.json()
    except ValueError:
        return web.json_response({"error": "the body must be a JSON object of profile fields"}, status=400)
    if not isinstance(fields, dict):
        return web.json_response({"error": "the body must be a JSON object of profile fields"}, status=400)
    fields.pop("injected", None)  # what `list` shows may be sent back as it is
    name = request.match_info["name"]
    current = controller.get(name)
    # `set` changes the given fields and keeps the others; a new profile starts from the defaults.
    merged: dict[str, Any] = msgspec.structs.asdict(current) if current is not None else {}
    merged.update(fields)
    merged["name"] = name
    try:
        controller.set(parse_fault_profile(merged, source=f"fault profile {name!r}"))
    except ConfigError as exc:
        return web.json_response({"error": str(exc), "field": exc.key}, status=400)
    except FaultProfileError as exc:
        return web.json_response({"error": str(exc), "field": exc.field}, status=400)
    return web.json_response(_state(request, controller))


def _switch(enabled: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        controller = _controller(request)
        name = request.match_info["name"]
        if controller.enable(name, enabled) is None:
            return _unknown(name)
        return web.json_response(_state(request, controller))

    return handler


async def delete_fault(request: web.Request) -> web.Response:
    controller = _controller(request)
    name = request.match_info["name"]
    if not controller.remove(name):
        return _unknown(name)
    return web.json_response(_state(request, controller))


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/faults", list_faults)
    app.router.add_post("/admin/faults/{name}", set_fault)
    app.router.add_post("/admin/faults/{name}/enable", _switch(True))
    app.router.add_post("/admin/faults/{name}/disable", _switch(False))
    app.router.add_delete("/admin/faults/{name}", delete_fault)
