"""SIGKILL in the middle of a burst of orders, restart, and check nothing acknowledged is lost.

Orders go through the real order entry (DigiFinex REST, signed) from many concurrent clients.
The server is killed with SIGKILL while requests are in flight, restarted on the same data dir,
and then:
- every order that was acknowledged (code 0 + order_id) is known to the restarted server, with
  the same symbol, side, price and amount, and in the same state as a clean replay says;
- each account's balances equal those of a clean replay of the journal from the first command
  (so snapshot + tail recovery gives exactly what a full replay gives).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

import aiohttp

from sandex.config import parse_config
from sandex.core.commands import decode_command
from sandex.core.engine import Engine
from sandex.core.numbers import LEDGER_DECIMALS, format_trimmed
from sandex.store.journal import Journal
from tests.support.server import BASE_CONFIG, SandexServer

ACCOUNTS = {"alice-key": "alice-secret", "bob-key": "bob-secret"}
# Snapshots every 200 commands, so recovery exercises snapshot + journal tail.
CONFIG = BASE_CONFIG + "\n[journal]\nsnapshot_every = 200\n"


def signed_headers(key: str, payload: str) -> dict[str, str]:
    sign = hmac.new(ACCOUNTS[key].encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {"ACCESS-KEY": key, "ACCESS-TIMESTAMP": str(int(time.time())), "ACCESS-SIGN": sign}


async def place(session: aiohttp.ClientSession, base: str, key: str, params: dict[str, str]) -> dict:
    body = urllib.parse.urlencode(params)
    async with session.post(
        f"{base}/v3/spot/order/new",
        data=body,
        headers={**signed_headers(key, body), "Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        return await r.json(content_type=None)


async def get_signed(
    session: aiohttp.ClientSession, base: str, key: str, path: str, params: dict[str, str]
) -> dict:
    query = urllib.parse.urlencode(params)
    async with session.get(
        f"{base}{path}?{query}" if query else f"{base}{path}", headers=signed_headers(key, query)
    ) as r:
        # DigiFinex sends some amounts as JSON numbers: read them exactly, never as floats.
        return json.loads(await r.text(), parse_float=Decimal)


async def burst_until_killed(
    server: SandexServer, acked: list[tuple[str, str, dict]], stop_after: int
) -> None:
    """Many concurrent clients place crossing orders; SIGKILL once `stop_after` acks arrived."""
    killed = asyncio.Event()

    async def client(n: int) -> None:
        key = "alice-key" if n % 2 else "bob-key"
        i = 0
        async with aiohttp.ClientSession() as session:
            while not killed.is_set():
                i += 1
                side = "buy" if (n + i) % 2 else "sell"
                params = {
                    "symbol": "btc_usdt",
                    "type": side,
                    "price": f"{65000 + (n * 7 + i) % 40 - 20}.00",
                    "amount": f"0.{(n + i) % 9 + 1:03d}",
                }
                try:
                    reply = await place(session, server.base_url, key, params)
                except (TimeoutError, aiohttp.ClientError, ValueError):
                    return  # the server died under us: this request was never acknowledged
                if reply.get("code") == 0:
                    acked.append((key, str(reply["order_id"]), params))
                    if len(acked) >= stop_after and not killed.is_set():
                        killed.set()
                        server.kill()

    await asyncio.gather(*(client(n) for n in range(24)))


def clean_replay(server: SandexServer) -> Engine:
    config = parse_config(CONFIG)
    engine = Engine(config.markets_as_core(), seed=config.simulator.seed)
    journal = Journal(server.data_dir / "journal.sqlite")
    try:
        for _, ts, body in journal.read_from(0):
            engine.apply(decode_command(body), ts)
    finally:
        journal.close()
    return engine


async def test_sigkill_mid_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    server = SandexServer(tmp_path, CONFIG)
    server.start()
    acked: list[tuple[str, str, dict]] = []
    try:
        for _cycle in range(3):
            await burst_until_killed(server, acked, stop_after=len(acked) + 400)
            assert server.process is not None and server.process.returncode == -9
            server.start()
        replay = clean_replay(server)
        async with aiohttp.ClientSession() as session:
            # Every acknowledged order exists after recovery, as sent, in the replay's state.
            for key, order_id, params in acked:
                reply = await get_signed(
                    session, server.base_url, key, "/v3/spot/order", {"order_id": order_id}
                )
                assert reply["code"] == 0, (order_id, reply)
                order = reply["data"][0]
                assert order["symbol"] == "BTC_USDT" and order["type"] == params["type"]
                assert Decimal(str(order["price"])) == Decimal(params["price"])
                assert Decimal(str(order["amount"])) == Decimal(params["amount"])
                replayed_open = int(order_id) in replay.orders
                if replayed_open:
                    assert order["status"] in (0, 1), (order_id, order)
                else:
                    assert order["status"] in (2, 3, 4), (order_id, order)
            # Balances after snapshot + tail recovery equal a clean replay of the whole journal.
            for key in ACCOUNTS:
                account = replay.account_by_key[key]
                wallet = account.wallets[0]
                reply = await get_signed(session, server.base_url, key, "/v3/spot/assets", {})
                assert reply["code"] == 0, reply
                served = {row["currency"]: (row["free"], row["total"]) for row in reply["list"]}
                for currency in ("USDT", "BTC"):
                    free = replay.ledger.free(wallet, currency)
                    total = free + replay.ledger.held(wallet, currency)
                    got_free, got_total = served[currency]
                    assert Decimal(str(got_free)) == Decimal(format_trimmed(free, LEDGER_DECIMALS)), (
                        key,
                        currency,
                    )
                    assert Decimal(str(got_total)) == Decimal(format_trimmed(total, LEDGER_DECIMALS)), (
                        key,
                        currency,
                    )
    finally:
        server.stop()
    assert len(acked) >= 1200
