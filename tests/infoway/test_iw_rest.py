"""Infoway's REST market data with the official `infoway-sdk`, against a real `sandex serve`.

Only the SDK's base URL changes. With the simulator off nothing moves between calls, so each
answer is compared exactly with what DigiFinex REST (`/v3/...`) and the Infoway WebSocket say
about the same market: the same trade, the same book, the same candle.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from websockets.sync.client import ClientConnection, connect

from infoway import (
    InfowayAPIError,
    InfowayAuthError,
    InfowayClient,
    InfowayRateLimitError,
    InfowayWebSocket,
    KlineType,
)
from tests.support.server import BASE_CONFIG, SandexServer

pytestmark = pytest.mark.timeout(120)


class Market:
    """A running server with a few trades made through ccxt, and what the WebSocket pushed."""

    def __init__(self, server: SandexServer) -> None:
        self.server = server
        self.pushes: list[dict[str, Any]] = []

    def client(self, key: str = "alice-key", **options: Any) -> InfowayClient:
        return InfowayClient(api_key=key, base_url=self.server.base_url, max_retries=1, **options)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return raw(self.server.base_url + path, headers=headers)

    @contextmanager
    def ws(self, key: str = "alice-key") -> Iterator[ClientConnection]:
        with connect(self.server.ws_url(f"/ws?business=crypto&apikey={key}"), compression=None) as ws:
            assert json.loads(ws.recv(5)) == {"code": 200, "msg": "ws connect success"}
            yield ws


def raw(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None
) -> tuple[int, Any]:
    """(HTTP status, JSON body with decimals kept exact) of one plain HTTP call."""
    request = urllib.request.Request(
        url, data=body, headers={"apikey": "alice-key"} if headers is None else headers, method=method
    )
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read(), parse_float=Decimal)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read(), parse_float=Decimal)


def exchange(server: SandexServer, key: str, secret: str) -> ccxt.digifinex:
    client = ccxt.digifinex({"apiKey": key, "secret": secret, "enableRateLimit": False})
    client.urls["api"]["rest"] = server.base_url
    client.load_markets()
    return client


def collect(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(json.loads(ws.recv(left)))
        except TimeoutError:
            break
    return frames


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    with SandexServer(tmp_path_factory.mktemp("iw-rest"), BASE_CONFIG) as server:
        market = Market(server)
        with market.ws() as ws:
            market.pushes = trade_through_ccxt(server, ws)
        yield market


def trade_through_ccxt(server: SandexServer, ws: ClientConnection) -> list[dict[str, Any]]:
    """Resting books on both markets and three trades, with `ws` subscribed to trades and klines;
    returns what it pushed."""
    ws.send(json.dumps({"code": 10000, "trace": "t", "data": {"codes": "BTCUSDT,ETHUSDT"}}))
    kline = {"arr": [{"type": 1, "codes": "BTCUSDT,ETHUSDT"}, {"type": 8, "codes": "BTCUSDT"}]}
    ws.send(json.dumps({"code": 10006, "trace": "k", "data": kline}))
    assert [json.loads(ws.recv(5))["code"] for _ in range(2)] == [10001, 10007]
    bob = exchange(server, "bob-key", "bob-secret")
    alice = exchange(server, "alice-key", "alice-secret")
    bob.create_order("BTC/USDT", "limit", "sell", 0.5, 65010)
    bob.create_order("BTC/USDT", "limit", "sell", 0.3, 65020)
    bob.create_order("BTC/USDT", "limit", "buy", 0.2, 64000)
    bob.create_order("BTC/USDT", "limit", "buy", 0.1, 63990.5)
    bob.create_order("ETH/USDT", "limit", "sell", 2, 3500)
    alice.create_order("BTC/USDT", "limit", "buy", 0.01, 65010)  # alice takes: td 1
    alice.create_order("BTC/USDT", "limit", "sell", 0.05, 64000)  # alice takes: td 2
    alice.create_order("ETH/USDT", "limit", "buy", 0.25, 3500)
    return collect(ws, 2.5)  # the trades and at least one kline push per bar


def last_push(market: Market, code: int, symbol: str, **match: Any) -> dict[str, Any]:
    data = [
        p["data"]
        for p in market.pushes
        if p["code"] == code and p["data"]["s"] == symbol and all(p["data"][k] == v for k, v in match.items())
    ]
    assert data, (code, symbol, market.pushes)
    return data[-1]


# -- market data ------------------------------------------------------------------------------


def test_latest_trade_matches_the_push_and_digifinex(market: Market) -> None:
    with market.client() as client:
        rows = client.crypto.get_trade("BTCUSDT,ETHUSDT")
        parsed = client.crypto.get_trade("BTCUSDT", parse=True)
    assert [row["s"] for row in rows] == ["BTCUSDT", "ETHUSDT"]
    btc, eth = rows
    # The very push the WebSocket sent for the same (latest) trade.
    assert btc == last_push(market, 10002, "BTCUSDT")
    assert eth == last_push(market, 10002, "ETHUSDT")
    assert btc["p"] == "64000" and btc["v"] == "0.05" and btc["vw"] == "3200" and btc["td"] == 2
    status, body = market.get("/v3/trades?symbol=BTC_USDT&limit=1")
    assert status == 200
    [latest] = body["data"]
    assert (Decimal(btc["p"]), Decimal(btc["v"]), btc["t"] // 1000) == (
        latest["price"],
        latest["amount"],
        latest["date"],
    )
    assert latest["type"] == "sell"
    assert parsed[0]["p"] == Decimal("64000") and parsed[0]["turnover"] == Decimal("3200")


def test_depth_is_the_websocket_snapshot_column_major(market: Market) -> None:
    with market.ws() as ws:
        ws.send(json.dumps({"code": 10003, "trace": "d", "data": {"codes": "BTCUSDT"}}))
        frames = [json.loads(ws.recv(5)) for _ in range(2)]
    assert frames[0]["code"] == 10004
    pushed = frames[1]["data"]
    with market.client() as client:
        [depth] = client.crypto.get_depth("BTCUSDT")
        [pairs] = client.crypto.get_depth("BTCUSDT", parse=True)
    assert set(depth) == {"s", "t", "a", "b"} and isinstance(depth["t"], int)
    assert (depth["a"], depth["b"]) == (pushed["a"], pushed["b"])
    assert depth["a"] == [["65010", "65020"], ["0.49", "0.3"]]
    assert depth["b"] == [["64000", "63990.5"], ["0.15", "0.1"]]
    assert pairs["b"][0] == (Decimal("64000"), Decimal("0.15"))
    status, book = market.get("/v3/order_book?symbol=BTC_USDT&limit=5")
    assert status == 200
    assert [[str(p), str(q)] for p, q in book["asks"]][::-1] == [
        list(x) for x in zip(*depth["a"], strict=True)
    ]
    assert [[str(p), str(q)] for p, q in book["bids"]] == [list(x) for x in zip(*depth["b"], strict=True)]


def test_klines_match_the_push_and_digifinex(market: Market) -> None:
    with market.client() as client:
        [row] = client.crypto.get_kline("BTCUSDT", KlineType.MIN_1, 500)
        [day] = client.crypto.get_kline("BTCUSDT", 8, 10)
        flat = client.crypto.get_kline("BTCUSDT", KlineType.MIN_1, 500, parse=True)
    assert row["s"] == "BTCUSDT"
    newest = row["respList"][0]
    assert set(newest) == {"t", "h", "o", "l", "c", "v", "vw", "pc", "pca"}
    times = [int(c["t"]) for c in row["respList"]]
    assert times == sorted(times, reverse=True), "newest first, as Infoway answers"
    push = last_push(market, 10008, "BTCUSDT", ty=1, t=newest["t"])
    assert {k: push[k] for k in ("t", "o", "h", "l", "c", "v", "vw", "pca")} == {
        k: newest[k] for k in ("t", "o", "h", "l", "c", "v", "vw", "pca")
    }
    assert newest["pc"] == push["pfr"]
    assert day["respList"][0]["c"] == last_push(market, 10008, "BTCUSDT", ty=8)["c"] == "64000"
    status, body = market.get(f"/v3/kline?symbol=BTC_USDT&period=1&start_time={times[-1]}")
    assert status == 200
    dfx = {r[0]: r for r in body["data"]}  # [time_s, volume, close, high, low, open]
    for candle in row["respList"]:
        _time_s, volume, close, high, low, open_ = dfx[int(candle["t"])]
        assert [Decimal(candle[k]) for k in ("v", "c", "h", "l", "o")] == [volume, close, high, low, open_]
    assert flat[0]["s"] == "BTCUSDT" and flat[0]["c"] == Decimal(newest["c"])


def test_several_codes_get_two_candles_each_and_the_end_timestamp_is_honoured(market: Market) -> None:
    with market.client() as client:
        rows = client.crypto.get_kline("BTCUSDT,ETHUSDT", 1, 2)
        newest_t = int(rows[0]["respList"][0]["t"])
        before = client.crypto.get_kline("BTCUSDT", 1, 5, timestamp=newest_t - 1)
    assert [r["s"] for r in rows] == ["BTCUSDT", "ETHUSDT"]
    assert all(1 <= len(r["respList"]) <= 2 for r in rows)
    assert rows[1]["respList"][0]["c"] == last_push(market, 10008, "ETHUSDT", ty=1)["c"] == "3500"
    # Infoway caps several codes at 2 candles each, silently (the SDK refuses more client-side).
    status, body = raw(
        market.server.base_url + "/crypto/v2/batch_kline",
        json.dumps({"codes": "BTCUSDT,ETHUSDT", "klineType": 1, "klineNum": 50}).encode(),
    )
    assert status == 200 and body["ret"] == 200 and all(len(r["respList"]) <= 2 for r in body["data"])
    assert set(body) == {"ret", "msg", "traceId", "data"} and body["msg"] == "success"
    # Nothing opened before the first trade's bar.
    assert all(int(c["t"]) <= newest_t - 1 for c in before[0]["respList"])


async def test_the_sdk_websocket_and_rest_halves_agree(market: Market) -> None:
    depths: list[dict[str, Any]] = []
    klines: list[dict[str, Any]] = []

    async def on_depth(data: dict[str, Any]) -> None:
        depths.append(data)

    async def on_kline(data: dict[str, Any]) -> None:
        klines.append(data)

    ws = InfowayWebSocket(api_key="alice-key", business="crypto", base_url=market.server.ws_url("/ws"))
    ws.on_depth, ws.on_kline = on_depth, on_kline
    task = asyncio.create_task(ws.connect())
    try:
        await ws.subscribe_depth("BTCUSDT")
        await ws.subscribe_kline("ETHUSDT", KlineType.MIN_1)
        for _ in range(100):
            if depths:
                break
            await asyncio.sleep(0.05)
    finally:
        await ws.close()
        await asyncio.wait_for(task, 10)
    with market.client() as client:
        [depth] = await asyncio.to_thread(client.crypto.get_depth, "BTCUSDT")
        [row] = await asyncio.to_thread(client.crypto.get_kline, "ETHUSDT", KlineType.MIN_1, 1)
    assert depths and (depths[0]["a"], depths[0]["b"]) == (depth["a"], depth["b"])
    # No ETH trade since: no kline push, and REST still shows the candle the WebSocket pushed before.
    assert not klines
    assert row["respList"][0]["c"] == last_push(market, 10008, "ETHUSDT", ty=1)["c"]


def test_symbols_and_symbol_info_list_the_venue_markets(market: Market) -> None:
    with market.client() as client:
        listed = client.basic.get_symbols("CRYPTO")
        filtered = client.basic.get_symbols("CRYPTO", symbols="ETHUSDT")
        [info] = client.basic.get_symbol_info("CRYPTO", "BTCUSDT")
    assert [row["symbol"] for row in listed] == ["BTCUSDT", "ETHUSDT"]
    assert set(listed[0]) >= {"symbol", "name_cn", "name_hk", "name_en", "index"}
    assert [row["symbol"] for row in filtered] == ["ETHUSDT"]
    ccxt_market = exchange(market.server, "alice-key", "alice-secret").market("BTC/USDT")
    assert (info["base"], info["currency"], info["market"]) == ("BTC", "USDT", "CRYPTO")
    assert Decimal(10) ** -info["price_precision"] == Decimal(str(ccxt_market["precision"]["price"]))
    assert Decimal(10) ** -info["amount_precision"] == Decimal(str(ccxt_market["precision"]["amount"]))
    assert Decimal(info["min_amount"]) == Decimal(str(ccxt_market["limits"]["amount"]["min"]))


def test_package_info_is_the_limits_sandex_enforces(market: Market) -> None:
    with market.client() as client:
        package = client.packages.get_info()
    assert package["packageName"] == "sandex strict"
    assert (package["apiNumPerMin"], package["apiNumPerSec"]) == (1200, 20)
    assert (package["maxWsConNum"], package["maxNum"], package["allWsNum"], package["wsNumPerMin"]) == (
        512,
        600,
        5000,
        60,
    )


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["nobody-key", ""], ids=["unknown", "missing"])
def test_bad_keys_raise_the_sdk_auth_error(market: Market, key: str) -> None:
    with market.client(key) as client, pytest.raises(InfowayAuthError):
        client.crypto.get_trade("BTCUSDT")
    status, body = market.get("/crypto/batch_trade/BTCUSDT", headers={})
    assert status == 401 and body["code"] == 401 and "apikey" in body["message"]


def sdk_error(call: Any) -> InfowayAPIError:
    with pytest.raises(InfowayAPIError) as refused:
        call()
    assert not isinstance(refused.value, (InfowayAuthError, InfowayRateLimitError))
    return refused.value


def test_bad_requests_raise_the_sdk_api_error(market: Market) -> None:
    with market.client() as client:
        unknown = sdk_error(lambda: client.crypto.get_trade("NOPEUSDT"))
        assert unknown.ret == 508 and "All product not exists" in unknown.msg  # the SDK reads ret 500's msg
        for ktype in (0, 13):
            bad_type = sdk_error(lambda ktype=ktype: client.crypto.get_kline("BTCUSDT", ktype, 10))
            assert bad_type.ret == 506 and "klineType" in bad_type.msg
        # What the SDK refuses itself, sent through its own transport to reach the server.
        http = client._http
        many = ",".join(f"C{i}USDT" for i in range(101))
        assert sdk_error(lambda: http.get(f"/crypto/batch_depth/{many}")).ret == 505
        assert (
            sdk_error(
                lambda: http.post(
                    "/crypto/v2/batch_kline", json={"codes": "BTCUSDT", "klineType": 1, "klineNum": 501}
                )
            ).ret
            == 503
        )
        for count in ("abc", "１", 1.5, -3):
            body = {"codes": "BTCUSDT", "klineType": 1, "klineNum": count}
            refused = sdk_error(lambda body=body: http.post("/crypto/v2/batch_kline", json=body))
            assert refused.ret == 506 and "klineNum" in refused.msg
        lost = sdk_error(lambda: http.post("/crypto/v2/batch_kline", json={"klineType": 1, "klineNum": 1}))
        assert lost.ret == 507 and lost.msg == "Param lost：codes"
        assert sdk_error(lambda: client.basic.get_symbols("NOT_A_TYPE")).ret == 506


@pytest.mark.parametrize(
    ("body", "ret"),
    [
        (b"{not json", 400),
        (b"", 400),
        (b"[1, 2]", 506),
        (b'{"codes": "BTCUSDT", "klineType": "x", "klineNum": 1}', 506),
        (b'{"codes": 7, "klineType": 1, "klineNum": 1}', 506),
        (b'{"codes": "BTCUSDT", "klineType": 1}', 507),
    ],
)
def test_malformed_kline_bodies_get_the_envelope(market: Market, body: bytes, ret: int) -> None:
    status, answer = raw(market.server.base_url + "/crypto/v2/batch_kline", body)
    assert status == 200
    assert answer["ret"] == ret and answer["data"] is None and answer["msg"] and answer["traceId"]


def test_other_markets_say_they_are_not_simulated(market: Market) -> None:
    with market.client() as client:
        calls = [
            lambda: client.stock.get_trade("AAPL.US"),
            lambda: client.japan.get_depth("7203.JP"),
            lambda: client.india.get_kline("RELIANCE.IN", 1, 10),
            lambda: client.korea.get_trade("005930.KS"),
            lambda: client.common.get_trade("USDJPY"),
            lambda: client.basic.get_symbols("STOCK_US"),
            lambda: client.basic.get_trading_days("US", "20260801", "20260815"),
            lambda: client.market.get_temperature(),
            lambda: client.financial.get_revenue("AAPL.US", "STOCK_US"),
        ]
        for call in calls:
            refused = sdk_error(call)
            assert refused.ret == 514 and "not simulated by sandex" in refused.msg


def test_unknown_paths_answer_the_envelope_and_the_server_stays_healthy(market: Market) -> None:
    status, body = market.get("/crypto/nothing/here")
    assert status == 404 and body["ret"] == 404 and body["data"] is None
    status, body = market.get("/crypto/batch_trade/")
    assert (status, body["ret"], body["msg"]) == (200, 507, "Param lost：codes")
    status, body = raw(market.server.base_url + "/crypto/v2/batch_kline", method="GET")
    assert status == 404 and body["ret"] == 404
    status, body = raw(market.server.base_url + "/common/basic/symbols?type=CRYPTO", b"{}")
    assert status == 404 and body["ret"] == 404 and body["msg"].startswith("Not found：POST")
    with urllib.request.urlopen(market.server.base_url + "/healthz", timeout=5) as response:
        assert response.status == 200
    assert "Traceback" not in market.server.log()


# -- the per-key rate limit and blocked keys --------------------------------------------------

LIMITED = (
    BASE_CONFIG
    + """
[limits.infoway]
rest_calls_per_minute = 5
frames_per_minute = 3
block_after_disconnects = 1
"""
)


def test_the_rate_limit_raises_the_sdk_rate_limit_error_and_a_blocked_key_the_auth_error(
    tmp_path: Path,
) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        market = Market(server)
        with market.client("bob-key") as bob, market.client("alice-key") as alice:
            assert bob.packages.get_info()["apiNumPerMin"] == 5
            for _ in range(4):
                bob.crypto.get_depth("BTCUSDT")
            with pytest.raises(InfowayRateLimitError):
                bob.crypto.get_depth("BTCUSDT")
            status, body = market.get("/crypto/batch_depth/BTCUSDT", headers={"apikey": "bob-key"})
            assert status == 429 and body["ret"] == 501
            alice.crypto.get_depth("BTCUSDT")  # per key: alice still has her budget
            # Alice's key is blocked through the WebSocket's rule (1 over-limit disconnect here).
            with market.ws() as ws:
                for i in range(4):
                    ws.send(json.dumps({"code": 10010, "trace": f"hb{i}"}))
                assert json.loads(ws.recv(5))["code"] == 501
            with pytest.raises(InfowayAuthError):
                alice.crypto.get_depth("BTCUSDT")


# -- a fresh demo venue -----------------------------------------------------------------------


def _demo_key(server: SandexServer) -> str:
    found = re.search(r"api_key=(\S+)", server.log())
    assert found, server.log()
    return found.group(1)


@pytest.mark.timeout(300)
def test_a_fresh_demo_venue_with_history_answers_500_candles(tmp_path: Path) -> None:
    server = SandexServer(tmp_path, '[simulator]\nhistory = "3d"\n')
    server.start(timeout=240)
    try:
        with InfowayClient(api_key=_demo_key(server), base_url=server.base_url, max_retries=1) as client:
            [row] = client.crypto.get_kline("BTCUSDT", KlineType.MIN_1, 500)
        assert len(row["respList"]) == 500
    finally:
        server.stop()
