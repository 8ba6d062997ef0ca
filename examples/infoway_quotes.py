r"""An Infoway quote client, written the way one is written from Infoway's docs — only the URL
points at sandex.

    python examples/infoway_quotes.py --apikey YOUR_KEY                  # demo venue on :8765
    python examples/infoway_quotes.py --url ws://127.0.0.1:8765/ws --apikey alice-key \
        --codes BTCUSDT,ETHUSDT --seconds 10

It subscribes to trades, depth and 1-minute klines, sends the heartbeat every 30 s (the server
closes a connection after 60 s without one, with error 513), and prints every frame. Against
the real service, use `--url wss://data.infoway.io/ws` and your Infoway key.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

import websocket  # pip install websocket-client

HEARTBEAT_EVERY_S = 30


def trace() -> str:
    return uuid.uuid4().hex


def show(message: str | bytes) -> None:
    frame = json.loads(message)
    code, d = frame.get("code"), frame.get("data")
    if code == 10002:
        side = "buy " if d["td"] == 1 else "sell"
        print(f"trade  {d['s']} {side} {d['v']} @ {d['p']}  (turnover {d['vw']})")
    elif code == 10005:
        bid = d["b"][0][0] if d["b"][0] else "-"
        ask = d["a"][0][0] if d["a"][0] else "-"
        print(f"depth  {d['s']} best bid {bid} / best ask {ask}  ({len(d['b'][0])}x{len(d['a'][0])} levels)")
    elif code == 10008:
        print(f"kline  {d['s']} type {d['ty']} t={d['t']} o={d['o']} h={d['h']} l={d['l']} c={d['c']} "
              f"v={d['v']} {d['pfr']}")
    else:
        print(f"reply  {message!s}")  # welcome, acks and errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="ws://127.0.0.1:8765/ws", help="quote WebSocket, without the query")
    parser.add_argument("--apikey", required=True)
    parser.add_argument("--business", default="crypto")
    parser.add_argument("--codes", default="BTCUSDT", help="comma-separated, e.g. BTCUSDT,ETHUSDT")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0 = run until Ctrl-C)")
    args = parser.parse_args()

    # A missing, unknown or blocked key is refused at the upgrade: WebSocketBadStatusException 401.
    ws = websocket.create_connection(f"{args.url}?business={args.business}&apikey={args.apikey}")
    show(ws.recv())  # {"code":200,"msg":"ws connect success"}
    # Three requests: well inside the limit of 60 frames per minute per connection.
    ws.send(json.dumps({"code": 10000, "trace": trace(), "data": {"codes": args.codes}}))
    ws.send(json.dumps({"code": 10003, "trace": trace(), "data": {"codes": args.codes}}))
    ws.send(json.dumps({"code": 10006, "trace": trace(), "data": {"arr": [{"type": 1, "codes": args.codes}]}}))

    stop_at = time.monotonic() + args.seconds if args.seconds else float("inf")
    next_heartbeat = time.monotonic() + HEARTBEAT_EVERY_S
    try:
        while (now := time.monotonic()) < stop_at:
            if now >= next_heartbeat:
                ws.send(json.dumps({"code": 10010, "trace": trace()}))
                next_heartbeat = now + HEARTBEAT_EVERY_S
            ws.settimeout(max(0.01, min(stop_at, next_heartbeat) - now))
            try:
                show(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
    except KeyboardInterrupt:
        pass
    finally:
        ws.close()


if __name__ == "__main__":
    main()
