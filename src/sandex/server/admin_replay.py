"""Operator API for the replay (behind the loopback guard): what `sandex replay` calls.

    GET  /admin/replay          {"state", "time_ms", "speed", "start_ms", "end_ms", ...}
    POST /admin/replay/pause
    POST /admin/replay/resume
    POST /admin/replay/speed    {"speed": X}
    POST /admin/replay/seek     {"time": ms since the epoch, or ISO 8601 UTC}

Each answers the status after the change.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import operations
from .admin import json_body, operator_handler
from .context import ServerContext
from .guard import OperatorRoutes


async def status(ctx: ServerContext, request: web.Request) -> Any:
    return operations.replay_status(ctx)


async def pause(ctx: ServerContext, request: web.Request) -> Any:
    return await operations.replay_pause(ctx)


async def resume(ctx: ServerContext, request: web.Request) -> Any:
    return await operations.replay_resume(ctx)


async def speed(ctx: ServerContext, request: web.Request) -> Any:
    body = await json_body(request)
    return await operations.replay_speed(ctx, body.get("speed"))


async def seek(ctx: ServerContext, request: web.Request) -> Any:
    body = await json_body(request)
    return await operations.replay_seek(ctx, body.get("time"))


def setup(app: web.Application) -> None:
    routes = OperatorRoutes(app)
    routes.get("/admin/replay", operator_handler(status))
    routes.post("/admin/replay/pause", operator_handler(pause))
    routes.post("/admin/replay/resume", operator_handler(resume))
    routes.post("/admin/replay/speed", operator_handler(speed))
    routes.post("/admin/replay/seek", operator_handler(seek))
