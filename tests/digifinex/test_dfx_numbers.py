"""Order prices and amounts take the ASCII decimal grammar only (issue 16 item 2).

`amount=１` (full-width) once placed a 1 BTC order; Arabic-Indic digits, mixed scripts and a
leading space were read too. Each is refused with 20003 (invalid price or amount), through
ccxt's implicit API (the form as written) and aiohttp (the raw body), and nothing is journaled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import ccxt.async_support as accxt
import pytest

from tests.digifinex.dfx_support import ALICE, arest, in_process, with_sections

HOSTILE = ["１", "0.00１", "0.00١", "５0000", " 0.001", "0.001 ", "1e-3", "+1", "٠.١", "0x10", "1_0"]


async def _journal_seq(base: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as response:
        return int((await response.json())["journal_seq"])


def _order(**fields: str) -> dict[str, Any]:
    return {
        "market": "spot",
        "symbol": "BTC_USDT",
        "type": "buy",
        "price": "60000",
        "amount": "0.001",
        **fields,
    }


@pytest.mark.parametrize("text", HOSTILE)
async def test_non_ascii_or_padded_numbers_are_refused(tmp_path: Path, text: str) -> None:
    async with in_process(tmp_path, with_sections("")) as venue:
        base = venue.base_url
        exchange = accxt.digifinex({"apiKey": ALICE[0], "secret": ALICE[1], "enableRateLimit": False})
        exchange.urls["api"]["rest"] = base
        seq = await _journal_seq(base)
        try:
            for field in ("amount", "price"):
                with pytest.raises(ccxt.InvalidOrder):  # 20003
                    await exchange.private_spot_post_market_order_new(_order(**{field: text}))
            batch = f'[{{"type":"buy","price":"60000","amount":"{text}"}}]'
            with pytest.raises(ccxt.InvalidOrder):
                await exchange.private_spot_post_market_order_batch_new(
                    {"market": "spot", "symbol": "BTC_USDT", "list": batch}
                )
        finally:
            await exchange.close()
        async with aiohttp.ClientSession() as http:
            for form in (_order(amount=text), _order(price=text), _order(type="buy_market", amount=text)):
                body = await arest(http, base, "POST", "/v3/spot/order/new", form, ALICE)
                assert body["code"] == 20003 and "not a decimal number" in body["msg"], body
            body = await arest(http, base, "GET", "/v3/spot/order/current", {}, ALICE)
            assert body == {"code": 0, "data": []}
        assert await _journal_seq(base) == seq  # nothing reached the engine


async def test_plain_ascii_decimals_still_trade(tmp_path: Path) -> None:
    async with in_process(tmp_path, with_sections("")) as venue, aiohttp.ClientSession() as http:
        body = await arest(http, venue.base_url, "POST", "/v3/spot/order/new", _order(amount="0.0010"), ALICE)
        assert body["code"] == 0, body
        current = await arest(http, venue.base_url, "GET", "/v3/spot/order/current", {}, ALICE)
        assert [row["order_id"] for row in current["data"]] == [body["order_id"]]
