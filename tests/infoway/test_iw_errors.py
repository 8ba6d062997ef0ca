"""Bad frames over a real socket: the documented error, the echoed trace, and the connection
stays open and keeps working."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.infoway.iw_support import Client, Venue

COLON = "\uff1a"  # Infoway writes a full-width colon: "Param lost：data"

BAD_FRAMES = [
    ("not json", 515, f"Param error{COLON}The payload is not JSON", None),
    (
        '{"code": 10000, "trace": "t1", "data": {"codes": "BTCUSDT"',
        515,
        f"Param error{COLON}The payload is not JSON",
        None,
    ),
    ('{"code":99999,"trace":"t2"}', 506, f"Param error{COLON}The code is out of range", "t2"),
    (
        '{"code":10002,"trace":"t3","data":{"codes":"BTCUSDT"}}',
        506,
        f"Param error{COLON}The code is out of range",
        "t3",
    ),
    ('{"code":10000,"trace":"t4"}', 507, f"Param lost{COLON}data", "t4"),
    ('{"code":10006,"trace":"t5","data":null}', 507, f"Param lost{COLON}data", "t5"),
    ('{"code":10003,"trace":"t6","data":{"codes":42}}', 506, f"Param error{COLON}codes", "t6"),
    ('{"code":"10003","trace":"t7","data":{"codes":"BTCUSDT"}}', 506, f"Param error{COLON}code", "t7"),
    (
        '{"code":10006,"trace":"t8","data":{"arr":{"type":1,"codes":"BTCUSDT"}}}',
        506,
        f"Param error{COLON}arr",
        "t8",
    ),
    (
        '{"code":10006,"trace":"t9","data":{"arr":[{"type":"1","codes":"BTCUSDT"}]}}',
        506,
        f"Param error{COLON}arr[0].type",
        "t9",
    ),
    (
        '{"code":11002,"trace":"t10","data":{"codes":"BTCUSDT","klineTypes":[1,2]}}',
        506,
        f"Param error{COLON}klineTypes",
        "t10",
    ),
    ('{"code":10000,"trace":["t11"],"data":{"codes":"BTCUSDT"}}', 506, f"Param error{COLON}trace", None),
]


@pytest.mark.parametrize(("frame", "code", "msg", "trace"), BAD_FRAMES)
async def test_bad_frame_gets_the_documented_error_and_the_connection_stays_open(
    venue: Venue, frame: str, code: int, msg: str, trace: str | None
) -> None:
    client = await Client.connect(venue.url())
    raw = await client.request_raw(frame)
    assert json.loads(raw) == {"traceId": trace, "code": code, "msg": msg}
    assert raw.startswith('{"traceId":')
    # Still open, still serving: a subscription works and pushes flow.
    assert await client.request({"code": 10000, "trace": "ok", "data": {"codes": "BTCUSDT"}}) == {
        "code": 10001,
        "trace": "ok",
        "msg": "ok",
    }
    await venue.trade("BTC_USDT", "65000", "0.01")
    push = await client.recv()
    assert push["code"] == 10002 and push["data"]["s"] == "BTCUSDT"
    await client.close()


async def test_errors_are_counted_in_metrics(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    for frame in ("x", "y", '{"code":10000,"trace":"t"}'):
        await client.request_raw(frame)
    async with aiohttp.ClientSession() as http, http.get(f"{venue.base_url}/metrics") as response:
        text = await response.text()
    assert 'sandex_infoway_errors_total{code="515"} 2.0' in text
    assert 'sandex_infoway_errors_total{code="507"} 1.0' in text
    await client.close()


async def test_a_binary_frame_holding_json_is_read_like_text(venue: Venue) -> None:
    client = await Client.connect(venue.url())
    await client.ws.send(b'{"code":10010,"trace":"bin","ack":1}')
    assert await client.recv() == {"code": 10011, "trace": "bin", "msg": "ok"}
    await client.close()
