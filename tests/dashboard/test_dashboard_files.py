"""The dashboard's routes and files: all behind the operator guard, served from the package as
they are, and the vendored libraries exactly the files VENDORED.md records."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from aiohttp import web

from sandex.config import parse_config
from sandex.dashboard.routes import static_files
from sandex.server.app import build_app
from sandex.server.guard import is_guarded, unguarded_operator_routes
from tests.support.server import BASE_CONFIG

VENDOR = resources.files("sandex.dashboard") / "static" / "vendor"


def test_every_dashboard_route_is_declared_through_the_guard() -> None:
    app = build_app(parse_config(BASE_CONFIG))
    routes = list(app.router.routes())
    dashboard = [
        r
        for r in routes
        if str(r.get_info().get("path") or r.get_info().get("formatter")).startswith("/dashboard")
    ]
    paths = {f"{r.method} {r.get_info().get('path') or r.get_info().get('formatter')}" for r in dashboard}
    assert paths == {
        "GET /dashboard",
        "GET /dashboard/",
        "GET /dashboard/static/{name}",
        "GET /dashboard/feed",
        "POST /dashboard/api/keys/{key}/unblock",
        "POST /dashboard/api/faults/{name}/enable",
        "POST /dashboard/api/faults/{name}/disable",
        "POST /dashboard/api/replay/pause",
        "POST /dashboard/api/replay/resume",
        "POST /dashboard/api/replay/speed",
        "POST /dashboard/api/replay/seek",
    }
    assert all(is_guarded(r) for r in dashboard)
    assert unguarded_operator_routes(routes) == []

    # The guard's prefixes cover the dashboard: a route added past OperatorRoutes is caught.
    async def sneaky(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_post("/dashboard/api/sneaky", sneaky)
    assert unguarded_operator_routes(app.router.routes()) == ["POST /dashboard/api/sneaky"]


def test_the_vendored_files_are_the_ones_recorded() -> None:
    record = (VENDOR / "VENDORED.md").read_text()
    hashes = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", record, re.M))
    assert set(hashes) == {
        "lightweight-charts.standalone.production.mjs",
        "lightweight-charts.LICENSE",
        "uPlot.esm.js",
        "uPlot.min.css",
        "uPlot.LICENSE",
    }
    for name, digest in hashes.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    # The versions in the table are the ones in the files' own banners.
    assert "lightweight-charts` | 5.2.1" in record and "uplot` | 1.6.32" in record
    assert (
        "TradingView Lightweight Charts™ v5.2.1"
        in (VENDOR / "lightweight-charts.standalone.production.mjs").read_text()
    )
    assert "(v1.6.32)" in (VENDOR / "uPlot.esm.js").read_text()[:400]
    assert "TradingView" in (VENDOR / "lightweight-charts.NOTICE").read_text()


def test_the_page_loads_only_its_own_files_as_es_modules() -> None:
    files = static_files()
    index = files["index.html"][0].decode()
    assert '<script type="module" src="/dashboard/static/app.js">' in index
    assert files["app.js"][1] == "text/javascript"
    assert files["vendor/lightweight-charts.standalone.production.mjs"][1] == "text/javascript"
    assert files["vendor/uPlot.min.css"][1] == "text/css"
    # No build step, no network: every import is a relative path to a file the package serves.
    for name, (body, _type) in files.items():
        if name.endswith(".js") and not name.startswith("vendor/"):
            for target in re.findall(r'from "([^"]+)"', body.decode()):
                assert target.startswith("./"), (name, target)
                assert target[2:] in files, (name, target)
    assert "http" not in re.sub(r'href="https://[^"]+"', "", index)
