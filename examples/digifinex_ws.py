"""A raw DigiFinex WebSocket v1 client (websocket-client), pointed at sandex.

    sandex serve
    python examples/digifinex_ws.py [--url ws://127.0.0.1:8765/ws/v1/] [--seconds 10]
                                    [--key KEY --secret SECRET]

Every server frame is binary `zlib.compress(json)`. The client keeps a local BTC_USDT book from
`depth.update` (a clean snapshot, then diffs where an amount of "0" removes the level), prints
trades as they happen, and — given a key and secret — signs in and prints its own order and
balance updates.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import time
import zlib
from decimal import Decimal

from websocket import WebSocketTimeoutException, create_connection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SANDEX_WS", "ws://127.0.0.1:8765/ws/v1/"))
    parser.add_argument("--key", default=os.environ.get("SANDEX_KEY"))
    parser.add_argument("--secret", default=os.environ.get("SANDEX_SECRET"))
    parser.add_argument("--symbol", default="BTC_USDT")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    ws = create_connection(args.url)
    request_id = 0

    def send(method: str, params: list | None = None) -> None:
        nonlocal request_id
        request_id += 1
        ws.send(json.dumps({"id": request_id, "method": method, "params": params or []}))

    def recv() -> dict:
        return json.loads(zlib.decompress(ws.recv()))

    send("server.ping")
    print("ping ->", recv()["result"])
    if args.key and args.secret:
        timestamp = str(int(time.time() * 1000))
        sign = base64.b64encode(hmac.new(args.secret.encode(), timestamp.encode(), hashlib.sha256).digest()).decode()
        send("server.auth", [args.key, timestamp, sign])
        print("auth ->", recv())
        send("order.subscribe", [args.symbol])
        print("order.subscribe ->", recv()["result"])
        send("balance.subscribe", args.symbol.split("_"))
        print("balance.subscribe ->", recv()["result"])
    send("depth.subscribe", [args.symbol])
    print("depth.subscribe ->", recv()["result"])  # the ack always comes before the first push
    send("trades.subscribe", [args.symbol])

    book: dict[str, dict[str, str]] = {"bids": {}, "asks": {}}
    updates = 0
    deadline = time.monotonic() + args.seconds
    ws.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            message = recv()
        except WebSocketTimeoutException:
            continue
        method = message.get("method")
        if method == "depth.update":
            clean, levels, _symbol = message["params"]
            if clean:
                book = {"bids": {}, "asks": {}}
            for side in ("bids", "asks"):
                for price, amount in levels[side]:
                    if amount == "0":
                        book[side].pop(price, None)
                    else:
                        book[side][price] = amount
            updates += 1
        elif method == "trades.update":
            clean, trades, symbol = message["params"]
            if not clean:
                for trade in trades:
                    print(f"trade {symbol} {trade['type']} {trade['amount']} @ {trade['price']}")
        elif method in ("order.update", "balance.update"):
            print(method, message["params"])
        elif message.get("error"):
            print("error:", message["error"])
    ws.close()

    best_bid = max(book["bids"], key=Decimal, default=None)
    best_ask = min(book["asks"], key=Decimal, default=None)
    print(f"{updates} depth updates; local book {len(book['bids'])} bids / {len(book['asks'])} asks, "
          f"best {best_bid} / {best_ask}")


if __name__ == "__main__":
    main()
