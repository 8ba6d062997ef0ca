"""The one guard of every endpoint that trusts loopback: the operator API and any later control
endpoint. Such routes are declared through `OperatorRoutes`, which wraps each handler in the
guard; `is_guarded` lets a test enumerate the app's routes and find one that was not.

Answering loopback peers only keeps other machines out, but not the user's own browser: a page
the user opens is a loopback client too. So a guarded request must also show that it was meant
for this venue:

- the peer is a loopback address (403 otherwise);
- `Host` names the venue as served: a loopback name or address, or the configured host, with the
  port the request arrived on (403 otherwise). This defeats DNS rebinding, where a hostile name
  resolves to 127.0.0.1 and the page is then "same-origin" with the venue;
- an `Origin`, when sent, is the venue's own (403 otherwise). Browsers send it on every
  cross-site write, so a page cannot forge a "simple" request (no preflight) to mint money;
- a write carries `Content-Type: application/json` (415 otherwise): a cross-site form or
  `fetch(..., {mode: "no-cors"})` can only send text/plain, form or multipart bodies.

The `sandex` operator commands send no Origin, the Host urllib derives from the URL and JSON
bodies, so they pass unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Final
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import AbstractRoute

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The name that always means this machine (RFC 6761).
LOOPBACK_NAMES: Final = frozenset({"localhost"})
#: Methods whose request carries a body that must be JSON.
BODY_METHODS: Final = frozenset({hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH})
WRITE_METHODS: Final = BODY_METHODS | {hdrs.METH_DELETE}
#: Where a guarded handler keeps its mark, for `is_guarded`.
_MARK: Final = "__sandex_loopback_guard__"
#: The configured host, on the app, so the guard accepts it in `Host` and `Origin`.
SERVED_HOST = web.AppKey("served_host", str)


def is_loopback_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    # A dual-stack socket bound to `::` sees IPv4 loopback peers as ::ffff:127.x.x.x.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _split_host(value: str) -> tuple[str, int | None] | None:
    """`host[:port]` (IPv6 in brackets) as (lower-case host, port or None); None if malformed."""
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host or parts.username is not None or parts.path or parts.query:
        return None
    return host, port


def _served_port(request: web.Request) -> int | None:
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else None


class _Venue:
    """What one request may name as the venue: hosts and the port it arrived on."""

    def __init__(self, request: web.Request) -> None:
        configured = request.app.get(SERVED_HOST)
        self.names = set(LOOPBACK_NAMES)
        if configured:
            self.names.add(configured.lower().strip("[]"))
        self.port = _served_port(request)

    def serves(self, host: str, port: int | None, default_port: int) -> bool:
        if (port if port is not None else default_port) != self.port:
            return False
        return host in self.names or is_loopback_address(host)


def check(request: web.Request) -> web.Response | None:
    """Why this request may not reach a loopback-trusted endpoint, as the refusal; None if it may."""
    if not is_loopback_address(request.remote or ""):
        return _refuse(403, "the operator API answers loopback clients only")
    venue = _Venue(request)
    host = _split_host(request.headers.get(hdrs.HOST, ""))
    if host is None or not venue.serves(*host, default_port=80):
        return _refuse(403, "the operator API answers requests addressed to this venue only (Host)")
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None:
        parts = urlsplit(origin)
        try:
            port = parts.port
        except ValueError:
            port = -1
        own = (
            parts.scheme == "http"
            and parts.hostname is not None
            and not parts.path
            and venue.serves(parts.hostname, port, default_port=80)
        )
        if not own:
            return _refuse(403, f"the operator API answers the venue's own pages only, not {origin}")
    if request.method in WRITE_METHODS:
        has_body = (
            request.method in BODY_METHODS or request.body_exists or hdrs.CONTENT_TYPE in request.headers
        )
        if has_body and request.content_type != "application/json":
            return _refuse(415, "the operator API takes application/json bodies only")
    return None


def loopback_guard(handler: Handler) -> Handler:
    """`handler`, answering only requests that pass `check`."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        refusal = check(request)
        if refusal is not None:
            return refusal
        return await handler(request)

    setattr(guarded, _MARK, True)
    guarded.__name__ = getattr(handler, "__name__", "guarded")
    guarded.__doc__ = handler.__doc__
    return guarded


def is_guarded(route: AbstractRoute) -> bool:
    return bool(getattr(route.handler, _MARK, False))


class OperatorRoutes:
    """How loopback-trusted routes are declared: every handler added here is guarded.

    Paths must start with one of `PREFIXES`, so a test can also find a route under those prefixes
    that was added some other way (and so lacks the guard).
    """

    #: Where loopback-trusted endpoints live. A new control surface adds its prefix here: the
    #: operator API, and the dashboard (its page, files, feed and writes: `sandex.dashboard`).
    PREFIXES: Final = ("/admin", "/dashboard")

    def __init__(self, app: web.Application) -> None:
        self._router = app.router

    def add(self, method: str, path: str, handler: Handler) -> AbstractRoute:
        if not path.startswith(self.PREFIXES):
            raise ValueError(f"operator routes live under {' or '.join(self.PREFIXES)}, not {path}")
        return self._router.add_route(method, path, loopback_guard(handler))

    def get(self, path: str, handler: Handler) -> AbstractRoute:
        # No HEAD twin: a HEAD route would be one more to guard for no use.
        return self.add(hdrs.METH_GET, path, handler)

    def post(self, path: str, handler: Handler) -> AbstractRoute:
        return self.add(hdrs.METH_POST, path, handler)

    def delete(self, path: str, handler: Handler) -> AbstractRoute:
        return self.add(hdrs.METH_DELETE, path, handler)


def unguarded_operator_routes(routes: Iterable[AbstractRoute]) -> list[str]:
    """Routes under the operator prefixes whose handler lacks the guard (should be none)."""
    missing = []
    for route in routes:
        info = route.get_info()
        path = str(info.get("path") or info.get("formatter") or "")
        if path.startswith(OperatorRoutes.PREFIXES) and not is_guarded(route):
            missing.append(f"{route.method} {path}")
    return missing
