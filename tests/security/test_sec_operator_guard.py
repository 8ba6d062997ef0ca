"""Issue 18: the operator API trusts loopback, so it must also refuse what a web page on the same
machine can send: a foreign Origin, a Host that is not the venue (DNS rebinding), a non-JSON
write. Over real sockets against a real `sandex serve`; the `sandex` commands keep working."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from sandex.config import parse_config
from sandex.server.app import build_app
from sandex.server.guard import OperatorRoutes, is_guarded, unguarded_operator_routes
from tests.support.server import BASE_CONFIG, SandexServer


def request(
    server: SandexServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A request with exactly these headers (http.client adds Host only if none is given)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


def names(server: SandexServer) -> set[str]:
    status, accounts = request(server, "GET", "/admin/accounts")
    assert status == 200, accounts
    return {a["name"] for a in accounts}


def cli(server: SandexServer, *args: str) -> subprocess.CompletedProcess[str]:
    common = ["--config", str(server.config_path), "--data-dir", str(server.data_dir)]
    return subprocess.run(
        [sys.executable, "-m", "sandex.cli", *args, *common], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with SandexServer(tmp_path_factory.mktemp("guard")) as running:
        yield running


def test_the_issues_curl_is_refused_and_creates_nothing(server: SandexServer) -> None:
    # curl -X POST -H "Origin: http://evil.example" -H "Content-Type: text/plain" \
    #      --data '{"name":"mallory"}' http://127.0.0.1:PORT/admin/accounts
    status, body = request(
        server,
        "POST",
        "/admin/accounts",
        b'{"name":"mallory"}',
        {"Origin": "http://evil.example", "Content-Type": "text/plain"},
    )
    assert status == 403 and "evil.example" in body["error"]
    # The same with JSON, from the foreign page: the Origin alone refuses it.
    status, _ = request(
        server,
        "POST",
        "/admin/accounts",
        b'{"name":"mallory"}',
        {"Origin": "http://evil.example", "Content-Type": "application/json"},
    )
    assert status == 403
    assert "mallory" not in names(server)


def test_a_host_that_is_not_the_venue_is_refused(server: SandexServer) -> None:
    # DNS rebinding: evil.example resolves to 127.0.0.1, the page is same-origin with itself.
    for method, path, body in (
        ("GET", "/admin/accounts", None),
        ("GET", "/admin/keys/blocked", None),
        ("GET", "/admin/faults", None),
        ("POST", "/admin/accounts", b'{"name":"mallory"}'),
        ("POST", "/admin/faults/evil", b'{"pause_engine": true}'),
    ):
        headers = {"Host": f"evil.example:{server.port}", "Content-Type": "application/json"}
        status, answer = request(server, method, path, body, headers)
        assert status == 403 and "Host" in answer["error"], (method, path, answer)
        status, _ = request(
            server, method, path, body, {**headers, "Origin": f"http://evil.example:{server.port}"}
        )
        assert status == 403
    # The venue's own names, but another port (another local service's page) are refused too.
    status, _ = request(server, "GET", "/admin/accounts", headers={"Host": f"127.0.0.1:{server.port + 1}"})
    assert status == 403
    assert "mallory" not in names(server)
    _, faults = request(server, "GET", "/admin/faults")
    assert faults["profiles"] == [] and faults["paused"] is None


def test_a_write_that_is_not_json_gets_415(server: SandexServer) -> None:
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        status, body = request(
            server, "POST", "/admin/accounts", b'{"name":"mallory"}', {"Content-Type": content_type}
        )
        assert status == 415 and "application/json" in body["error"], content_type
    status, _ = request(server, "POST", "/admin/accounts/alice/credit", b'{"currency":"USDT","amount":"1"}')
    assert status == 415  # no Content-Type at all
    assert "mallory" not in names(server)


def test_the_venues_own_names_and_origin_are_accepted(server: SandexServer) -> None:
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"127.0.0.2:{server.port}"):
        status, _ = request(
            server, "GET", "/admin/accounts", headers={"Host": host, "Origin": f"http://{host}"}
        )
        assert status == 200, host
    status, body = request(
        server,
        "POST",
        "/admin/accounts",
        b'{"name":"trent"}',
        {"Content-Type": "application/json; charset=utf-8", "Origin": f"http://localhost:{server.port}"},
    )
    assert status == 200 and body["name"] == "trent"


def test_the_operator_commands_still_work(server: SandexServer) -> None:
    created = cli(server, "accounts", "create", "carol", "--balance", "USDT=5", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["secret"]
    blocked = cli(server, "keys", "block", "alice-key", "--for", "1h")
    assert blocked.returncode == 0, blocked.stderr
    unblocked = cli(server, "keys", "unblock", "alice-key")
    assert unblocked.returncode == 0 and "dbot" in unblocked.stdout, unblocked.stderr
    fault = cli(server, "faults", "set", "slow", "dialect=digifinex", "delay_ms=5", "--json")
    assert fault.returncode == 0, fault.stderr
    assert json.loads(fault.stdout)["profiles"][0]["name"] == "slow"
    deleted = cli(server, "faults", "delete", "slow", "--json")
    assert deleted.returncode == 0 and json.loads(deleted.stdout)["profiles"] == [], deleted.stderr


def test_every_loopback_trusted_route_has_the_guard() -> None:
    app = build_app(parse_config(BASE_CONFIG))
    routes = list(app.router.routes())
    operator = [
        r
        for r in routes
        if str(r.get_info().get("path") or r.get_info().get("formatter")).startswith("/admin")
    ]
    assert len(operator) >= 11 and all(is_guarded(r) for r in operator)
    assert unguarded_operator_routes(routes) == []

    # A route added past OperatorRoutes under the operator prefix is caught...
    async def sneaky(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_post("/admin/sneaky", sneaky)
    assert unguarded_operator_routes(app.router.routes()) == ["POST /admin/sneaky"]
    # ...and OperatorRoutes refuses to declare a control route outside the prefixes it checks.
    with pytest.raises(ValueError):
        OperatorRoutes(app).post("/replay/start", sneaky)


def test_nothing_outside_the_guard_decides_on_loopback() -> None:
    """Trusting loopback is the guard's job: no other server or dialect module checks the peer."""
    src = Path(__file__).resolve().parents[2] / "src" / "sandex"
    offenders = []
    for path in [*(src / "server").rglob("*.py"), *(src / "protocols").rglob("*.py"), src / "operations.py"]:
        if path.name == "guard.py":
            continue
        text = path.read_text()
        if "is_loopback" in text or "loopback_only" in text:
            offenders.append(str(path.relative_to(src)))
    assert offenders == []
