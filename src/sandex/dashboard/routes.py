"""Mounting the dashboard: its page, its files, its feed socket and its writes.

    GET  /dashboard                          the page (index.html)
    GET  /dashboard/static/{file}            its ES modules, styles and vendored chart libraries
    GET  /dashboard/feed                     the feed: one JSON WebSocket per tab (`feed`)
    POST /dashboard/api/keys/{key}/unblock   ?dialect=   as `sandex keys unblock`
    POST /dashboard/api/faults/{name}/enable             as `sandex faults enable`
    POST /dashboard/api/faults/{name}/disable            as `sandex faults disable`
    POST /dashboard/api/replay/pause                     as `sandex replay pause`
    POST /dashboard/api/replay/resume                    as `sandex replay resume`
    POST /dashboard/api/replay/speed     {"speed": X}    as `sandex replay speed X`
    POST /dashboard/api/replay/seek      {"time": ms}    as `sandex replay seek TIME`

The only module of the package that touches aiohttp. Every route is declared through
`OperatorRoutes`, so the operator API's guard answers first: loopback peers only, a `Host` that
names the venue, an `Origin` (when sent) that is the venue's own, JSON bodies for writes. The
writes also insist on an `Origin`: the page always sends one, and no other caller has a reason
to use these rather than `/admin`. They run the same `operations` as the operator API. The page
may not be framed by another site (clickjacking the unblock button).

The feed socket is a `server.session.Session` for its ordered, non-blocking writes and its
slow-consumer cut, but it belongs to no dialect: it is not in the session registry (no dialect's
connection count, no key blocks), gets no fault profile and no rate limit.
"""

from __future__ import annotations

import logging
import mimetypes
from importlib import resources
from typing import Any, Final

from aiohttp import hdrs, web

from .. import operations
from ..server.admin import json_body, operator_handler
from ..server.context import ServerContext
from ..server.guard import Handler, OperatorRoutes
from ..server.metrics import DialectTally
from ..server.session import Session, SessionConfig
from .feed import DashboardFeed, Tab

log = logging.getLogger("sandex.dashboard.routes")

PATH: Final = "/dashboard"
FEED = web.AppKey("dashboard_feed", DashboardFeed)
#: The page's security headers: its own files and socket only, and never inside another page.
PAGE_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_TYPES: Final = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".md": "text/plain",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
#: The feed's socket: a page sends small requests only.
FEED_SESSION: Final = SessionConfig(max_msg_size=4096, send_buffer_limit=8 * 1024 * 1024, drain_timeout=None)


def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file under `static/` by its path there, with its content type, read once."""
    files: dict[str, tuple[bytes, str]] = {}

    def walk(folder: Any, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
                continue
            name = entry.name
            suffix = name[name.rfind(".") :] if "." in name else ""
            content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain"
            files[prefix + name] = (entry.read_bytes(), content_type)

    walk(resources.files(__package__) / "static", "")
    return files


def _page_writes_only(handler: Handler) -> Handler:
    """A write from the dashboard page: one with an Origin (the guard has checked it is ours)."""

    async def write(request: web.Request) -> web.StreamResponse:
        if hdrs.ORIGIN not in request.headers:
            return web.json_response(
                {"error": "dashboard writes come from the dashboard page (Origin)"}, status=403
            )
        response = await handler(request)
        request.app[FEED].refresh_status()
        return response

    write.__name__ = handler.__name__
    return write


async def _unblock(ctx: ServerContext, request: web.Request) -> Any:
    return operations.unblock_key(ctx, request.match_info["key"], dialect=request.query.get("dialect"))


def _switch(enabled: bool) -> Any:
    async def switch(ctx: ServerContext, request: web.Request) -> Any:
        return operations.switch_fault(ctx, request.match_info["name"], enabled)

    switch.__name__ = "enable_fault" if enabled else "disable_fault"
    return switch


async def _replay_pause(ctx: ServerContext, request: web.Request) -> Any:
    return await operations.replay_pause(ctx)


async def _replay_resume(ctx: ServerContext, request: web.Request) -> Any:
    return await operations.replay_resume(ctx)


async def _replay_speed(ctx: ServerContext, request: web.Request) -> Any:
    body = await json_body(request)
    return await operations.replay_speed(ctx, body.get("speed"))


async def _replay_seek(ctx: ServerContext, request: web.Request) -> Any:
    body = await json_body(request)
    return await operations.replay_seek(ctx, body.get("time"))


def setup(app: web.Application, ctx: ServerContext) -> None:
    feed = DashboardFeed(ctx)
    app[FEED] = feed
    ctx.venue.listeners.append(feed.on_events)
    files = static_files()
    index, _ = files["index.html"]
    sessions: dict[Session, None] = {}
    tally = DialectTally()  # the feed's own: not a dialect's, not exported

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(body=index, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)

    async def static(request: web.Request) -> web.StreamResponse:
        found = files.get(request.match_info["name"])
        if found is None:
            return web.json_response({"error": "no such dashboard file"}, status=404)
        body, content_type = found
        return web.Response(
            body=body,
            content_type=content_type,
            charset="utf-8" if content_type.startswith("text/") else None,
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    async def socket(request: web.Request) -> web.StreamResponse:
        session = await Session.accept(request, dialect="dashboard", config=FEED_SESSION, tally=tally)
        tab = Tab(session.send_frame, lambda: session.write_buffer_size, session.abort)
        sessions[session] = None
        feed.open(tab)
        try:
            await session.run(lambda _session, data, _binary: feed.receive(tab, data))
        finally:
            feed.close(tab)
            sessions.pop(session, None)
        return session.ws

    routes = OperatorRoutes(app)
    routes.get(PATH, page)
    routes.get(f"{PATH}/", page)
    routes.get(f"{PATH}/static/{{name:.+}}", static)
    routes.get(f"{PATH}/feed", socket)
    routes.post(f"{PATH}/api/keys/{{key}}/unblock", _page_writes_only(operator_handler(_unblock)))
    routes.post(f"{PATH}/api/faults/{{name}}/enable", _page_writes_only(operator_handler(_switch(True))))
    routes.post(f"{PATH}/api/faults/{{name}}/disable", _page_writes_only(operator_handler(_switch(False))))
    for action, work in (
        ("pause", _replay_pause),
        ("resume", _replay_resume),
        ("speed", _replay_speed),
        ("seek", _replay_seek),
    ):
        routes.post(f"{PATH}/api/replay/{action}", _page_writes_only(operator_handler(work)))

    async def start(app: web.Application) -> None:
        feed.start()

    async def stop(app: web.Application) -> None:
        for session in list(sessions):
            session.close(1001, "server shutting down")
        await feed.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)


__all__ = ["FEED", "PATH", "setup"]
