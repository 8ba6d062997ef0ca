"""Copy a wallet's trades on sandex through DBot's API, and watch the results arrive.

    sandex serve                                   # the demo venue, simulator trading
    python examples/dbot_copy_trading.py --apikey KEY

With no --target, the task follows the simulator's taker (found through the loopback operator API),
so copies start within seconds. Every copied buy leaves a take-profit and a stop-loss 0.2 % away,
which the simulated market soon reaches. Ctrl-C (or --max N notifications) disables the task with
its pnl orders and deletes it.

Safe to run with the demo account's key: the task copies buys only, each for --amount (10 USDT),
at most 5 per token; it never copies the target's sells (`mode: only_pnl`), so what it sells is
only what its own copies bought, through their take-profit and stop-loss orders. The account's
other holdings are never touched.

Only DBot's documented API is used, so the same program runs against DBot with its URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.request

import websockets


def rest(base: str, method: str, path: str, key: str | None, body: dict | None = None) -> dict:
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"X-API-KEY": key or "", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def simulator_taker_wallet(base: str) -> str:
    accounts = json.loads(urllib.request.urlopen(base + "/admin/accounts", timeout=10).read())
    taker = next((a for a in accounts if a["name"] == "sim-taker"), None)
    if taker is None:
        raise SystemExit("no simulator on this venue: pass --target WALLET_ID")
    return taker["wallets"][0]["id"]


def describe(result: dict) -> str:
    kind = result["subSource"] or f"{result['source']} {result['type']}"
    if result["state"] != "done":
        return f"{kind:<28} {result['pair']:<9} {result['state']}: {result['errorCode']} {result['errorMessage']}"
    send, receive = result["send"], result["receive"]
    sent = int(send["amount"]) / 10 ** send["info"]["decimals"]
    got = int(receive["amount"]) / 10 ** receive["info"]["decimals"]
    return (f"{kind:<28} {result['pair']:<9} {sent:.8g} {send['info']['symbol']} -> {got:.8g} "
            f"{receive['info']['symbol']} at {result['priceUsd']}  (id {result['id']})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apikey", required=True, help="a sandex account's api key")
    parser.add_argument("--url", default="http://127.0.0.1:8765", help="the venue's base URL")
    parser.add_argument("--target", help="wallet id to follow (default: the simulator's taker)")
    parser.add_argument("--amount", default="10", help="quote currency to spend per copied buy")
    parser.add_argument("--max", type=int, default=0, help="stop after this many notifications (0 = never)")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    target = args.target or simulator_taker_wallet(base)

    task = {
        "enabled": True, "name": "example copy", "chain": "solana", "targetIds": [target],
        "buySettings": {"enabled": True, "buyAmountType": "fixed_amount", "maxBuyAmountUI": args.amount,
                        "maxBuyTimesPerToken": 5},
        # only_pnl: the target's sells are not copied (a copied sell sells a share of the whole
        # holding, not of what the copies bought); the take-profit and stop-loss orders of each
        # copied buy sell exactly what that buy received.
        "sellSettings": {"enabled": True, "mode": "only_pnl",
                         "stopEarnPercent": 0.002, "stopLossPercent": 0.002},
    }
    created = rest(base, "POST", "/automation/follow_order", args.apikey, task)
    if created["err"]:
        raise SystemExit(f"cannot create the task: {created['res']}")
    task_id = created["res"]["id"]
    print(f"task {task_id} follows {target}", flush=True)

    ws_url = base.replace("http", "ws", 1) + "/trade/ws"
    seen = 0
    try:
        async with websockets.connect(ws_url, additional_headers={"x-api-key": args.apikey}) as ws:
            await ws.send(json.dumps({"method": "subscribeTradeResults", "tradeTypeFilter": []}))
            async for message in ws:  # websockets pings every 20 s on its own: the connection stays up
                frame = json.loads(message)
                if frame.get("method") != "tradeResultNotify":
                    continue
                print(describe(frame["result"]), flush=True)
                seen += 1
                if args.max and seen >= args.max:
                    break
    finally:
        rest(base, "PATCH", "/automation/follow_orders", args.apikey,
             {"ids": [task_id], "enabled": False, "closePnlOrder": "true"})
        rest(base, "POST", "/automation/follow_order/delete_many", args.apikey, {"ids": [task_id], "deletePnlOrder": True})
        print(f"task {task_id} disabled and deleted", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
