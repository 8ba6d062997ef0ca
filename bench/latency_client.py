"""Order-entry latency over DigiFinex, measured from the client: its own process, its own clock.

    python bench/latency_client.py BASE_URL WS_URL --rate 1000 --seconds 10 --warmup 2

Two accounts trade at one price P, with the simulator off so that every trade at P is ours:
- bob keeps one large sell resting at P (placed first, renewed when it runs low);
- at --rate orders per second in total, alternately: alice sends a limit buy at P whose amount
  is unique among recent ones (it trades at once against bob's sell, so the trade's amount
  names the order), and bob sends a limit sell far above the market (it rests);
- every order goes over REST (`POST /v3/spot/order/new`, signed), every answer comes over the
  WebSocket: each account's connection has `server.auth` and `order.subscribe`, alice's also
  `trades.subscribe`.

Measured per order, from just before the REST request is written:
- order -> own `order.update`: the first push naming the order's id;
- trade -> `trades.update`: for alice's buys, the first trades.update item at P with its amount.
Prints one JSON object: p50/p99/p999 in ms for both, counts, and the achieved order rate.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import time
import zlib
from urllib.parse import urlencode

import aiohttp
from picows import WSListener, WSMsgType, ws_connect

PRICE = "65000.00"
FAR = "90000.00"
BIG = 2000  # BTC in bob's resting sell
UNIT = 0.0001  # alice's buy amounts are multiples of this, unique within WINDOW orders
WINDOW = 20000


def sign_rest(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ws_auth(key: str, secret: str) -> str:
    ts = str(int(time.time() * 1000))
    sign = base64.b64encode(hmac.new(secret.encode(), ts.encode(), hashlib.sha256).digest()).decode()
    return json.dumps({"id": 1, "method": "server.auth", "params": [key, ts, sign]})


class Pushes(WSListener):
    """Records when each order id / trade amount at P is first pushed."""

    def __init__(self, sends: list[str], order_seen: dict, trade_seen: dict, ready: asyncio.Event) -> None:
        self.sends = sends
        self.order_seen = order_seen
        self.trade_seen = trade_seen
        self.ready = ready
        self.acks = 0

    def on_ws_connected(self, transport) -> None:  # type: ignore[no-untyped-def]
        for text in self.sends:
            transport.send(WSMsgType.TEXT, text.encode())

    def on_ws_frame(self, transport, frame) -> None:  # type: ignore[no-untyped-def]
        now = time.perf_counter()
        message = json.loads(zlib.decompress(frame.get_payload_as_bytes()))
        method = message.get("method")
        if method == "order.update":
            for item in message["params"]:
                self.order_seen.setdefault(item["id"], now)
        elif method == "trades.update":
            if message["params"][0]:
                return  # the clean push after subscribing: history
            for item in message["params"][1]:
                if item["price"] == PRICE:
                    self.trade_seen.setdefault(item["amount"], now)
        elif method is None:
            self.acks += 1
            if self.acks >= len(self.sends):
                self.ready.set()


def percentiles(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    s = sorted(samples)

    def p(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))] * 1000, 3)

    return {"n": len(s), "p50": p(0.50), "p99": p(0.99), "p999": p(0.999), "max": round(s[-1] * 1000, 3)}


async def run(args: argparse.Namespace) -> dict:
    accounts = {"alice": ("alice-key", "alice-secret"), "bob": ("bob-key", "bob-secret")}
    order_seen: dict[str, float] = {}
    trade_seen: dict[str, float] = {}
    ready = {name: asyncio.Event() for name in accounts}
    for name, (key, secret) in accounts.items():
        sends = [
            ws_auth(key, secret),
            json.dumps({"id": 2, "method": "order.subscribe", "params": ["BTC_USDT"]}),
        ]
        if name == "alice":
            sends.append(json.dumps({"id": 3, "method": "trades.subscribe", "params": ["BTC_USDT"]}))

        def factory(sends=sends, name=name):
            return lambda: Pushes(sends, order_seen, trade_seen, ready[name])

        await ws_connect(factory(), args.ws_url)
    for event in ready.values():
        await asyncio.wait_for(event.wait(), 10)

    connector = aiohttp.TCPConnector(limit=64)
    session = aiohttp.ClientSession(args.base_url, connector=connector)
    sent: dict[str, float] = {}  # order id -> send time
    trade_sent: dict[str, float] = {}  # amount -> send time (alice's buys)
    measured_ids: set[str] = set()
    measured_amounts: set[str] = set()
    errors: list[str] = []

    async def place(who: str, side: str, price: str, amount: str, measure: bool) -> str | None:
        key, secret = accounts[who]
        body = urlencode({"symbol": "btc_usdt", "type": side, "price": price, "amount": amount})
        headers = {
            "ACCESS-KEY": key,
            "ACCESS-TIMESTAMP": str(int(time.time())),
            "ACCESS-SIGN": sign_rest(secret, body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if who == "alice" and measure:
            pushed = f"{float(amount):.6f}"  # as trades.update writes it (amount precision 6)
            trade_sent[pushed] = time.perf_counter()
            measured_amounts.add(pushed)
        started = time.perf_counter()
        async with session.post("/v3/spot/order/new", data=body, headers=headers) as response:
            answer = await response.json(content_type=None)
        if answer.get("code") != 0:
            errors.append(str(answer)[:200])
            return None
        oid = answer["order_id"]
        sent[oid] = started
        if measure:
            measured_ids.add(oid)
        return oid

    await place("bob", "sell", PRICE, str(BIG), False)
    left = BIG / UNIT  # units left in bob's resting sell
    tasks: set[asyncio.Task] = set()
    period = 1.0 / args.rate
    total = int((args.warmup + args.seconds) * args.rate)
    warm = int(args.warmup * args.rate)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    started = time.perf_counter()
    for i in range(total):
        delay = t0 + i * period - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        measure = i >= warm
        if i % 2 == 0:
            units = 1 + (i // 2) % WINDOW
            left -= units
            if left < WINDOW * 2:
                await place("bob", "sell", PRICE, str(BIG), False)
                left += BIG / UNIT
            coro = place("alice", "buy", PRICE, f"{units * UNIT:.4f}", measure)
        else:
            coro = place("bob", "sell", FAR, "0.0001", measure)
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    send_seconds = time.perf_counter() - started
    if tasks:
        await asyncio.gather(*tasks)
    await asyncio.sleep(1.0)  # let the last pushes arrive
    await session.close()

    order_lat = [order_seen[oid] - sent[oid] for oid in measured_ids if oid in order_seen]
    trade_lat = [trade_seen[a] - trade_sent[a] for a in measured_amounts if a in trade_seen]
    return {
        "rate_target": args.rate,
        "rate_sent": total / send_seconds,
        "order_update": percentiles(order_lat),
        "trades_update": percentiles(trade_lat),
        "orders_measured": len(measured_ids),
        "orders_without_push": len(measured_ids) - len(order_lat),
        "trades_without_push": len(measured_amounts) - len(trade_lat),
        "errors": errors[:5],
        "error_count": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base_url")
    parser.add_argument("ws_url")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
