"""Issue 14 in a real browser: Debian's Chromium (Playwright) on the dashboard of a real
`sandex serve`, while real clients trade through DigiFinex (ccxt, REST, WebSocket) over real
sockets. Every test's page must print no console error."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import ccxt
import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.digifinex.dfx_support import ALICE, decode, rest, ws_auth_params
from tests.support.server import BASE_CONFIG, SandexServer, free_port

from .browser import ConsoleLog, wait_until

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (fails in CI) with the reason
    expect = None

CONFIG = (
    BASE_CONFIG
    + """
[[faults]]
name = "dfx-reject"
dialect = "digifinex"
enabled = false
reject_orders_code = 50000
reject_orders_message = "rejected from the dashboard"
"""
)
TIMEOUT_MS = 8000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandexServer]:
    with SandexServer(tmp_path_factory.mktemp("dashboard"), CONFIG) as running:
        yield running


def exchange(server: SandexServer, creds: tuple[str, str]) -> ccxt.digifinex:
    client = ccxt.digifinex({"apiKey": creds[0], "secret": creds[1], "enableRateLimit": False})
    client.urls["api"]["rest"] = server.base_url
    return client


@pytest.fixture(scope="module")
def alice(server: SandexServer) -> ccxt.digifinex:
    return exchange(server, ALICE)


@pytest.fixture(scope="module")
def bob(server: SandexServer) -> ccxt.digifinex:
    return exchange(server, ("bob-key", "bob-secret"))


class Dashboard:
    def __init__(self, page: Any, log: ConsoleLog) -> None:
        self.page = page
        self.log = log

    def stats(self) -> dict[str, Any]:
        return self.page.evaluate("() => ({...window.sandexDashboard.stats})")  # type: ignore[no-any-return]

    def ask(self, price: str) -> Any:
        return self.page.locator(f'[data-testid=ladder-asks] .ladder-row[data-price="{price}"]')

    def bid(self, price: str) -> Any:
        return self.page.locator(f'[data-testid=ladder-bids] .ladder-row[data-price="{price}"]')

    def balance(self, account: str, currency: str) -> Any:
        row = self.page.locator(f"[data-testid=balances-{account}] tbody tr", has_text=currency)
        return row.locator("td").nth(1)


@pytest.fixture
def open_dashboard(browser: Any, server: SandexServer) -> Iterator[Any]:
    """Opens the dashboard on a market; after the test, the page must have logged no error."""
    opened: list[Dashboard] = []

    def open_(symbol: str = "BTC_USDT") -> Dashboard:
        page = browser.new_page(viewport={"width": 1440, "height": 1400})
        log = ConsoleLog(page)
        page.goto(f"{server.base_url}/dashboard#{symbol}")
        expect(page.get_by_test_id("feed-state")).to_contain_text("live", timeout=TIMEOUT_MS)
        wait_until(page, "window.sandexDashboard.stats.snapshots >= 1")
        dashboard = Dashboard(page, log)
        opened.append(dashboard)
        return dashboard

    yield open_
    for dashboard in opened:
        errors = list(dashboard.log.errors)
        dashboard.page.close()
        assert errors == [], errors


def test_a_clients_resting_orders_appear_in_the_ladder_at_their_prices(
    open_dashboard: Any, alice: ccxt.digifinex, bob: ccxt.digifinex
) -> None:
    dashboard = open_dashboard("BTC_USDT")
    bob.create_order("BTC/USDT", "limit", "sell", 0.5, 65100)
    bob.create_order("BTC/USDT", "limit", "sell", 0.25, 65200)
    alice.create_order("BTC/USDT", "limit", "buy", 0.2, 64900)
    for row, size in ((dashboard.ask("65100.00"), "0.500000"), (dashboard.ask("65200.00"), "0.250000")):
        expect(row).to_have_count(1, timeout=TIMEOUT_MS)
        expect(row.locator("span").nth(1)).to_have_text(size)
        expect(row).to_have_class("ladder-row ask own")  # an own account's order, marked
        expect(row.locator(".own-size")).to_have_text(f"● {size}")
    bid = dashboard.bid("64900.00")
    expect(bid.locator("span").nth(1)).to_have_text("0.200000", timeout=TIMEOUT_MS)
    expect(bid.locator(".own-size")).to_have_text("● 0.200000")
    # The best ask sits just above the spread, the best bid just below it.
    expect(dashboard.page.get_by_test_id("spread")).to_have_text("spread 200.00")
    # And bob's orders are in his account's open orders.
    orders = dashboard.page.get_by_test_id("orders-bob")
    expect(orders).to_contain_text("65100.00", timeout=TIMEOUT_MS)
    expect(orders).to_contain_text("65200.00")


def test_a_trade_updates_ladder_tape_candles_and_balances_without_a_reload(
    open_dashboard: Any, alice: ccxt.digifinex, bob: ccxt.digifinex
) -> None:
    dashboard = open_dashboard("ETH_USDT")
    page = dashboard.page
    page.evaluate("window.__sameDocument = true")
    bob.create_order("ETH/USDT", "limit", "sell", 1.5, 3600)
    expect(dashboard.ask("3600.00").locator("span").nth(1)).to_have_text("1.5000", timeout=TIMEOUT_MS)
    expect(dashboard.balance("alice", "ETH")).to_have_text("100", timeout=TIMEOUT_MS)
    trades_before = dashboard.stats()["lastTradeId"]

    alice.create_order("ETH/USDT", "limit", "buy", 0.5, 3600)

    # The ladder: half a level taken.
    expect(dashboard.ask("3600.00").locator("span").nth(1)).to_have_text("1.0000", timeout=TIMEOUT_MS)
    # The tape: the trade on top, as the taker's side (a buy).
    newest = page.locator("[data-testid=tape] .tape-row").first
    expect(newest).to_have_class("tape-row buy own", timeout=TIMEOUT_MS)
    expect(newest.locator("span").nth(0)).to_have_text("3600.00")
    expect(newest.locator("span").nth(1)).to_have_text("0.5000")
    assert int(newest.get_attribute("data-trade-id")) > trades_before
    # The candles: the current bar closes at the trade's price, with its volume.
    wait_until(page, "window.sandexDashboard.candles.candles.data().at(-1)?.close === 3600")
    volume = page.evaluate("window.sandexDashboard.candles.volume.data().at(-1).value")
    assert volume >= 0.5
    # The balances: what the venue says (ccxt), not what it said before the fill.
    free = Decimal(str(alice.fetch_balance()["ETH"]["free"]))
    assert free == Decimal("100.4995")  # 0.5 bought, 0.1 % taker fee in ETH
    expect(dashboard.balance("alice", "ETH")).to_have_text("100.4995", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("fills-alice")).to_contain_text("3600.00")
    # All of it without a reload.
    assert page.evaluate("window.__sameDocument") is True


def place_dfx_order(server: SandexServer) -> dict[str, Any]:
    """A small, far-from-the-market limit buy through DigiFinex REST, as alice."""
    params = {"symbol": "btc_usdt", "type": "buy", "price": "1000", "amount": "0.001"}
    body: dict[str, Any] = rest(server.base_url, "POST", "/v3/spot/order/new", params, ALICE)
    return body


def test_a_fault_switch_in_the_page_changes_what_a_digifinex_client_gets(
    open_dashboard: Any, server: SandexServer
) -> None:
    dashboard = open_dashboard("BTC_USDT")
    page = dashboard.page
    switch = page.get_by_test_id("fault-switch-dfx-reject")
    expect(switch).not_to_be_checked(timeout=TIMEOUT_MS)
    assert place_dfx_order(server)["code"] == 0

    with page.expect_response(lambda r: r.url.endswith("/dfx-reject/enable")) as answer:
        page.locator("[data-testid=fault-dfx-reject] .switch").click()
    assert answer.value.status == 200
    expect(switch).to_be_checked()
    assert place_dfx_order(server) == {"code": 50000, "msg": "rejected from the dashboard"}
    expect(page.get_by_test_id("fault-dfx-reject")).to_contain_text("injected", timeout=TIMEOUT_MS)

    with page.expect_response(lambda r: r.url.endswith("/dfx-reject/disable")) as answer:
        page.locator("[data-testid=fault-dfx-reject] .switch").click()
    assert answer.value.status == 200
    expect(switch).not_to_be_checked()
    assert place_dfx_order(server)["code"] == 0


def dfx_sign_in(server: SandexServer) -> str:
    """Signs in on DigiFinex's WebSocket as alice: "success", or how the venue closed it."""
    with websockets.sync.client.connect(server.ws_url("/ws/v1/"), compression=None) as ws:
        ws.send(json.dumps({"id": 1, "method": "server.auth", "params": ws_auth_params(*ALICE)}))
        try:
            reply = decode(ws.recv(timeout=5))
        except ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd else None}"
        return str(reply["result"]["status"]) if reply.get("result") else json.dumps(reply)


def operator_post(server: SandexServer, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST", path, body=json.dumps(body or {}), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_unblocking_a_key_from_the_page_restores_its_access(
    open_dashboard: Any, server: SandexServer
) -> None:
    assert dfx_sign_in(server) == "success"
    status, _ = operator_post(server, "/admin/keys/alice-key/block")  # as `sandex keys block`
    assert status == 200
    assert dfx_sign_in(server).startswith("closed")

    dashboard = open_dashboard("BTC_USDT")
    page = dashboard.page
    button = page.get_by_test_id("unblock-digifinex-alice-key")
    expect(button).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("account-alice")).to_contain_text("blocked on digifinex", timeout=TIMEOUT_MS)
    with page.expect_response(lambda r: "/dashboard/api/keys/alice-key/unblock" in r.url) as answer:
        button.click()
    assert answer.value.status == 200 and answer.value.json()["unblocked"] == ["digifinex"]
    assert dfx_sign_in(server) == "success"
    expect(button).to_have_count(0, timeout=TIMEOUT_MS)
    # The other dialects' blocks are theirs to lift: still listed, still in force.
    expect(page.get_by_test_id("unblock-infoway-alice-key")).to_be_visible()
    page.get_by_test_id("unblock-infoway-alice-key").click()
    page.get_by_test_id("unblock-dbot-alice-key").click()
    expect(page.get_by_test_id("blocked")).to_contain_text("no key is blocked", timeout=TIMEOUT_MS)


def test_the_replay_panel_is_hidden_when_the_venue_does_not_replay(open_dashboard: Any) -> None:
    page = open_dashboard("BTC_USDT").page
    expect(page.get_by_test_id("health-journal")).to_be_visible(timeout=TIMEOUT_MS)  # a status came
    assert page.evaluate("window.sandexDashboard.state.status.replay") is None
    expect(page.get_by_test_id("replay")).to_be_hidden()


def test_sessions_show_a_digifinex_client_with_its_subscriptions(
    open_dashboard: Any, server: SandexServer
) -> None:
    with websockets.sync.client.connect(server.ws_url("/ws/v1/"), compression=None) as ws:
        ws.send(json.dumps({"id": 1, "method": "server.auth", "params": ws_auth_params(*ALICE)}))
        decode(ws.recv(timeout=5))
        ws.send(json.dumps({"id": 2, "method": "depth.subscribe", "params": ["BTC_USDT"]}))
        dashboard = open_dashboard("BTC_USDT")
        sessions = dashboard.page.get_by_test_id("sessions-digifinex")
        expect(sessions).to_contain_text("1 connected", timeout=TIMEOUT_MS)
        expect(sessions).to_contain_text("alice (alice-key)")
        expect(sessions).to_contain_text("depth BTC_USDT")
        expect(dashboard.page.get_by_test_id("health")).to_contain_text("digifinex 1")


def test_every_kline_interval_and_market_switch_work_without_console_errors(
    open_dashboard: Any, bob: ccxt.digifinex
) -> None:
    bob.create_order("BTC/USDT", "limit", "sell", 0.1, 65300)
    bob.create_order("ETH/USDT", "limit", "sell", 0.1, 3700)
    dashboard = open_dashboard("BTC_USDT")
    page = dashboard.page
    intervals = page.evaluate("window.sandexDashboard.state.intervals")
    assert intervals == ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "12h", "1d", "1w", "1M", "3M", "1y"]
    for interval in intervals:
        before = dashboard.stats()["messages"]
        page.get_by_test_id(f"interval-{interval}").click()
        expect(page.get_by_test_id(f"interval-{interval}")).to_have_class("active")
        wait_until(page, f"window.sandexDashboard.stats.messages > {before}")
    page.locator('[data-testid=tickers] tr[data-symbol="ETH_USDT"]').click()
    expect(page.locator("#candles-symbol")).to_have_text("ETH_USDT")
    expect(dashboard.ask("3700.00")).to_have_count(1, timeout=TIMEOUT_MS)
    page.get_by_test_id("market-select").select_option("BTC_USDT")
    expect(dashboard.ask("65300.00")).to_have_count(1, timeout=TIMEOUT_MS)
    assert page.url.endswith("#BTC_USDT")
    # The attribution the chart library's licence asks for: the link on the chart and the notice.
    assert page.locator("#candles a[href*='tradingview.com']").count() >= 1
    expect(page.locator("footer")).to_contain_text("TradingView")
    # A gap (a diff for a book the page does not hold) is seen and repaired with a snapshot.
    stats = dashboard.stats()
    page.evaluate(
        """() => window.sandexDashboard.receive({type: "book", symbol: "BTC_USDT", snapshot: false,
            prev: -1, seq: 1, ts: Date.now(), bids: [], asks: [], own: []})"""
    )
    wait_until(page, f"window.sandexDashboard.stats.snapshots > {stats['snapshots']}")
    assert dashboard.stats()["gaps"] == stats["gaps"] + 1
    expect(dashboard.ask("65300.00")).to_have_count(1)


class _ForeignPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>somewhere else</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def fault_enabled(server: SandexServer) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", "/admin/faults")
        profiles = json.loads(connection.getresponse().read())["profiles"]
    finally:
        connection.close()
    return bool(next(p for p in profiles if p["name"] == "dfx-reject")["enabled"])


def test_a_page_of_another_origin_is_refused(browser: Any, server: SandexServer) -> None:
    """Another site the user has open (here: another port of this machine) can neither read the
    feed nor write, whatever it tries from the browser."""
    foreign = ThreadingHTTPServer(("127.0.0.1", free_port()), _ForeignPage)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{foreign.server_address[1]}/")
        outcome = page.evaluate(
            """async (base) => {
                const ws = await new Promise((resolve) => {
                    const socket = new WebSocket(base.replace("http", "ws") + "/dashboard/feed");
                    socket.onmessage = () => resolve("read the feed");
                    socket.onerror = () => resolve("refused");
                });
                const simple = await fetch(base + "/dashboard/api/faults/dfx-reject/enable",
                    {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: "{}"})
                    .then(() => "sent", () => "failed");
                const json = await fetch(base + "/dashboard/api/faults/dfx-reject/enable",
                    {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"})
                    .then((r) => "status " + r.status, () => "blocked");
                return {ws, simple, json};
            }""",
            server.base_url,
        )
        page.close()
    finally:
        foreign.shutdown()
    assert outcome["ws"] == "refused"
    assert outcome["json"] == "blocked"  # the preflight gets no CORS permission
    assert not fault_enabled(server)  # and the opaque "simple" request was refused by the guard


def raw(
    server: SandexServer, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_a_request_with_a_foreign_origin_is_refused(server: SandexServer) -> None:
    own = f"http://127.0.0.1:{server.port}"
    json_type = {"Content-Type": "application/json"}
    assert raw(server, "GET", "/dashboard", {"Origin": "http://evil.example"}) == 403
    assert raw(server, "GET", "/dashboard/static/app.js", {"Origin": "http://evil.example"}) == 403
    assert raw(server, "GET", "/dashboard", {"Host": f"evil.example:{server.port}"}) == 403
    assert raw(server, "GET", "/dashboard", {}) == 200
    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(server.ws_url("/dashboard/feed"), origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with websockets.sync.client.connect(server.ws_url("/dashboard/feed"), origin=own) as ws:  # type: ignore[arg-type]
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    write = "/dashboard/api/faults/dfx-reject/enable"
    assert raw(server, "POST", write, {**json_type, "Origin": "http://evil.example"}, b"{}") == 403
    assert (
        raw(server, "POST", write, {**json_type, "Origin": f"http://localhost:{server.port + 1}"}, b"{}")
        == 403
    )
    assert raw(server, "POST", write, {"Origin": own, "Content-Type": "text/plain"}, b"{}") == 415
    assert raw(server, "POST", write, json_type, b"{}") == 403  # a dashboard write comes from the page
    assert not fault_enabled(server)
    assert (
        raw(server, "POST", "/dashboard/api/faults/dfx-reject/disable", {**json_type, "Origin": own}, b"{}")
        == 200
    )
    assert (
        raw(server, "POST", "/dashboard/api/faults/nope/enable", {**json_type, "Origin": own}, b"{}") == 404
    )
