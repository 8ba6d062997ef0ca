"""Crash consistency under load: SIGKILL `sandex serve` at random moments, restart, and check.

One cycle:

1. the server is up and *paused* (the config's `chaos-hold` fault profile pauses the engine at
   every start, so nothing moves while it is checked) — check everything (below);
2. the pause is lifted through the operator API and mixed load runs from every dialect:
   DigiFinex REST traders (limit/market orders, cancels), DigiFinex WebSocket watchers (signed
   in: private order pushes, public trades), Infoway trade watchers, a DBot client creating and
   toggling copy-trading tasks while a DBot leader trades (copy trades follow), and the simulator;
3. after a random, seeded delay the server gets SIGKILL, mid-request; every few cycles it is also
   killed again while it is still recovering;
4. it is restarted on the same data directory.

Checks after every restart, against a clean replay of the journal (from seq 1, kept up to date
incrementally) and against what clients were told:

- every acknowledged order exists with the symbol, side, price and amount it was sent with, and
  is open exactly when the replay has it open; every acknowledged cancel left it cancelled;
- every acknowledged task change (creation, enable/disable) is in the task list;
- everything a client was *shown* is durable: each trade pushed on DigiFinex or Infoway, each
  order a private push named, exists in the replay (publish happens only after the journal);
- nothing unacknowledged is half-applied: the recovered server (snapshot + journal tail) serves
  exactly the replay's balances (every wallet, free and held), order books and open orders;
- per-currency conservation: the served balances plus collected fees equal all deposits;
- the journal's seqs are dense from 1.

Run on its own (long mode):  .venv/bin/python -m tests.chaos.chaos_harness --cycles 50
In the test suite:           tests/chaos/test_chaos_crash.py (SANDEX_CHAOS_CYCLES, default 4)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import websockets

from sandex.config import Config, parse_config
from sandex.core.commands import decode_command
from sandex.core.events import OrderEvent, TradeEvent
from sandex.core.markets import Market
from sandex.core.numbers import LEDGER_DECIMALS, format_trimmed
from sandex.server.app import build_context
from tests.support.server import MARKETS_TOML, SandexServer

TRADERS = {
    "alice-key": "alice-secret",
    "bob-key": "bob-secret",
    "carol-key": "carol-secret",
    "dave-key": "dave-secret",
}
SYMBOLS = {"BTC_USDT": (65000, 10, "0.001"), "ETH_USDT": (3500, 1, "0.01")}  # mid, grid step, size unit
BOOK_LIMIT = 150
#: Copy-trading tasks the DBot client creates at most (then it only toggles them): every enabled
#: task copies every leader trade, so this bounds the copy-trade load.
MAX_TASKS = 30


def config_text(seed: int) -> str:
    accounts = "".join(
        f'[[accounts]]\nname = "{key[:-4]}"\napi_key = "{key}"\nsecret = "{secret}"\n'
        f'balances = {{ USDT = "10000000", BTC = "100", ETH = "1000" }}\n'
        for key, secret in TRADERS.items()
    )
    return f"""
[server]
host = "127.0.0.1"
[simulator]
enabled = true
seed = {seed}
history = "0"
orders_per_second = 15
levels = 6
[journal]
snapshot_every = 250
[limits.infoway]
profile = "relaxed"
[limits.dbot]
profile = "relaxed"
{MARKETS_TOML}{accounts}
[[accounts]]
name = "leader"
api_key = "leader-key"
secret = "leader-secret"
balances = {{ USDT = "10000000", BTC = "100" }}
[[accounts]]
name = "follower"
api_key = "follower-key"
secret = "follower-secret"
balances = {{ USDT = "10000000", BTC = "100" }}
# Every start is paused, so each check sees a still venue; the harness lifts it for the load.
[[faults]]
name = "chaos-hold"
pause_engine = true
"""


# --------------------------------------------------------------------------------------------
# What clients were told


@dataclass
class Told:
    orders: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # id -> (key, params)
    cancels: set[str] = field(default_factory=set)
    dfx_trades: dict[int, tuple[str, Decimal, Decimal]] = field(default_factory=dict)
    dfx_orders: set[int] = field(default_factory=set)
    iw_trades: Counter[tuple[str, Decimal, Decimal, int]] = field(default_factory=Counter)
    tasks: dict[str, bool] = field(default_factory=dict)  # task id -> enabled, as last acknowledged
    task_changes: int = 0  # acknowledged creations and toggles
    task_in_flight: tuple[str, bool] | None = None  # a toggle sent but not answered when killed


# --------------------------------------------------------------------------------------------
# The clean replay


class Replay:
    """The journal applied from seq 1 to a fresh engine, built the way the server builds its own
    (same markets, seed and engine plugins), caught up incrementally after each restart."""

    def __init__(self, config: Config, journal: Path) -> None:
        # The server's own construction (markets, seed, every dialect's engine plugins), minus
        # the fault profiles: this venue is never opened, it only lends its engine.
        self.engine = build_context(msgspec.structs.replace(config, faults=())).venue.engine
        self.journal = journal
        self.seq = 0
        self.trades: dict[int, TradeEvent] = {}
        self.order_ids: set[int] = set()

    def catch_up(self, upto: int) -> int:
        conn = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT seq, ts, body FROM commands WHERE seq > ? AND seq <= ? ORDER BY seq", (self.seq, upto)
            ).fetchall()
        finally:
            conn.close()
        for seq, ts, body in rows:
            assert seq == self.seq + 1, f"journal seqs are not dense: {self.seq} then {seq}"
            for event in self.engine.apply(decode_command(body), ts):
                if isinstance(event, TradeEvent):
                    self.trades[event.trade_id] = event
                elif isinstance(event, OrderEvent):
                    self.order_ids.add(event.order_id)
            self.seq = seq
        assert self.seq == upto, f"journal ends at {self.seq}, the server applied {upto}"
        return len(rows)


# --------------------------------------------------------------------------------------------
# HTTP helpers


def dfx_headers(key: str, payload: str) -> dict[str, str]:
    sign = hmac.new(TRADERS.get(key, "").encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {"ACCESS-KEY": key, "ACCESS-TIMESTAMP": str(int(time.time())), "ACCESS-SIGN": sign}


async def dfx(
    http: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    key: str | None = None,
    params: dict[str, str] | None = None,
) -> Any:
    payload = urllib.parse.urlencode(params or {})
    headers = dfx_headers(key, payload) if key else {}
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = await http.post(base + path, data=payload, headers=headers)
    else:
        response = await http.get(base + path + ("?" + payload if payload else ""), headers=headers)
    async with response:
        return json.loads(await response.read(), parse_float=Decimal)


async def dbot(
    http: aiohttp.ClientSession, base: str, method: str, path: str, key: str, body: Any = None
) -> Any:
    async with http.request(method, base + path, json=body, headers={"X-API-KEY": key}) as response:
        reply = json.loads(await response.read(), parse_float=Decimal)
    assert response.status == 200 and reply.get("err") is False, (path, response.status, reply)
    return reply.get("res")


async def plain(http: aiohttp.ClientSession, base: str, method: str, path: str) -> Any:
    """An unsigned JSON call (health, the operator API)."""
    async with http.request(method, base + path, json={}) as response:
        assert response.status == 200, await response.text()
        return json.loads(await response.read(), parse_float=Decimal)


# --------------------------------------------------------------------------------------------
# Load


class Load:
    """Mixed load from every dialect until the server dies; records what clients were told."""

    def __init__(
        self, base: str, ws_base: str, told: Told, rng: random.Random, wallets: dict[str, str]
    ) -> None:
        self.base = base
        self.ws_base = ws_base
        self.told = told
        self.rng = rng
        self.wallets = wallets

    async def run(self, until_dead: asyncio.Event) -> None:
        seeds = [self.rng.random() for _ in range(16)]
        tasks = [
            asyncio.create_task(self._guard(job, until_dead))
            for job in (
                *(
                    lambda key=key, s=seeds[i]: self.trader(key, random.Random(s))
                    for i, key in enumerate(TRADERS)
                ),
                *(
                    lambda key=key, s=seeds[4 + i]: self.trader(key, random.Random(s))
                    for i, key in enumerate(("alice-key", "bob-key"))
                ),
                lambda: self.dfx_watcher("alice-key"),
                lambda: self.infoway_watcher(),
                lambda: self.task_editor(random.Random(seeds[8])),
                lambda: self.leader(random.Random(seeds[9])),
            )
        ]
        await until_dead.wait()
        await asyncio.gather(*tasks)

    @staticmethod
    async def _guard(job: Callable[[], Awaitable[None]], dead: asyncio.Event) -> None:
        """Run a client until the server dies under it (any connection error ends it quietly)."""
        task = asyncio.create_task(job())
        waiter = asyncio.create_task(dead.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            # Give requests already on the wire a moment to fail by themselves (connection reset),
            # so nothing that *was* answered goes unrecorded; then stop.
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(task), 2.0)
        task.cancel()
        waiter.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)

    async def trader(self, key: str, rng: random.Random) -> None:
        mine: list[str] = []
        async with aiohttp.ClientSession() as http:
            while True:
                # Paced: over 50 cycles an account's finished orders stay within the history the
                # venue keeps (accountdata.DEFAULT_HISTORY), so every acknowledged one can be asked for.
                await asyncio.sleep(rng.uniform(0.0, 0.04))
                symbol = rng.choice(sorted(SYMBOLS))
                mid, step, unit = SYMBOLS[symbol]
                roll = rng.random()
                if roll < 0.2 and mine:
                    order_id = mine.pop(rng.randrange(len(mine)))
                    reply = await dfx(
                        http, self.base, "POST", "/v3/spot/order/cancel", key, {"order_id": order_id}
                    )
                    if reply.get("code") == 0:
                        self.told.cancels.update(reply["success"])
                    continue
                if roll < 0.3:
                    params = {
                        "symbol": symbol,
                        "type": rng.choice(("buy_market", "sell_market")),
                        "amount": "50" if rng.random() < 0.5 else unit,
                    }
                    if params["type"] == "sell_market":
                        params["amount"] = unit
                else:
                    price = mid + step * rng.randint(-30, 30)
                    params = {
                        "symbol": symbol,
                        "type": rng.choice(("buy", "sell")),
                        "price": str(price),
                        "amount": str(Decimal(unit) * rng.randint(1, 5)),
                    }
                    if rng.random() < 0.1:
                        params["post_only"] = "1"
                reply = await dfx(http, self.base, "POST", "/v3/spot/order/new", key, params)
                if reply.get("code") == 0:
                    self.told.orders[str(reply["order_id"])] = (key, params)
                    if params["type"] in ("buy", "sell"):
                        mine.append(str(reply["order_id"]))

    async def dfx_watcher(self, key: str) -> None:
        async with websockets.connect(self.ws_base + "/ws/v1/", ping_interval=None, max_size=None) as ws:
            ts = str(int(time.time() * 1000))
            sign = base64.b64encode(
                hmac.new(TRADERS[key].encode(), ts.encode(), hashlib.sha256).digest()
            ).decode()
            await ws.send(json.dumps({"id": 1, "method": "server.auth", "params": [key, ts, sign]}))
            await ws.send(json.dumps({"id": 2, "method": "order.subscribe", "params": sorted(SYMBOLS)}))
            await ws.send(json.dumps({"id": 3, "method": "trades.subscribe", "params": sorted(SYMBOLS)}))
            async for raw in ws:
                frame = json.loads(zlib.decompress(raw))
                method = frame.get("method")
                if method == "trades.update":
                    _, trades, symbol = frame["params"]
                    for trade in trades:
                        self.told.dfx_trades[int(trade["id"])] = (
                            symbol,
                            Decimal(trade["price"]),
                            Decimal(trade["amount"]),
                        )
                elif method == "order.update":
                    self.told.dfx_orders.update(int(item["id"]) for item in frame["params"])

    async def infoway_watcher(self) -> None:
        async with websockets.connect(
            self.ws_base + "/ws?business=crypto&apikey=bob-key", ping_interval=None
        ) as ws:
            await ws.send(json.dumps({"code": 10000, "trace": "t", "data": {"codes": "BTCUSDT,ETHUSDT"}}))
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("code") == 10002:
                    data = frame["data"]
                    symbol = data["s"].replace("USDT", "_USDT")
                    self.told.iw_trades[(symbol, Decimal(data["p"]), Decimal(data["v"]), int(data["t"]))] += 1

    async def task_editor(self, rng: random.Random) -> None:
        """One DBot client, one change at a time: the last acknowledged state of each task is
        what the venue must hold (a change in flight at the kill may or may not have landed)."""
        async with aiohttp.ClientSession() as http:
            while True:
                await asyncio.sleep(rng.uniform(0.01, 0.05))
                told = self.told
                if not told.tasks or (len(told.tasks) < MAX_TASKS and rng.random() < 0.2):
                    body = {
                        "enabled": True,
                        "name": f"t{len(told.tasks)}",
                        "chain": "solana",
                        "targetIds": [self.wallets["leader-key"]],
                        "buySettings": {
                            "enabled": True,
                            "maxBuyAmountUI": "20",
                            "buyAmountType": "fixed_amount",
                        },
                        "sellSettings": {"enabled": True, "mode": "only_copy", "sellAmountType": "all"},
                    }
                    res = await dbot(
                        http, self.base, "POST", "/automation/follow_order", "follower-key", body
                    )
                    told.tasks[res["id"]] = True
                    told.task_changes += 1
                else:
                    task_id = rng.choice(sorted(told.tasks))
                    enabled = not told.tasks[task_id]
                    told.task_in_flight = (task_id, enabled)
                    await dbot(
                        http,
                        self.base,
                        "PATCH",
                        "/automation/follow_orders",
                        "follower-key",
                        {"ids": [task_id], "enabled": enabled, "closePnlOrder": False},
                    )
                    told.tasks[task_id] = enabled
                    told.task_in_flight = None
                    told.task_changes += 1

    async def leader(self, rng: random.Random) -> None:
        """The target wallet trades through DBot's swap endpoint; enabled tasks copy it."""
        async with aiohttp.ClientSession() as http:
            while True:
                await asyncio.sleep(rng.uniform(0.05, 0.2))
                side = rng.choice(("buy", "sell"))
                amount = "100" if side == "buy" else "0.1"
                async with http.post(
                    self.base + "/automation/swap_order",
                    headers={"X-API-KEY": "leader-key"},
                    json={"chain": "solana", "pair": "BTC_USDT", "type": side, "amountOrPercent": amount},
                ) as response:
                    await response.read()


# --------------------------------------------------------------------------------------------
# Checks


class Checker:
    def __init__(self, server: SandexServer, config: Config, told: Told, replay: Replay) -> None:
        self.server = server
        self.config = config
        self.told = told
        self.replay = replay
        self.markets = {m.symbol: m for m in config.markets_as_core()}

    async def check(self, http: aiohttp.ClientSession) -> dict[str, int]:
        base = self.server.base_url
        for _ in range(20):
            seq = (await plain(http, base, "GET", "/healthz"))["journal_seq"]
            self.replay.catch_up(seq)
            served = await self._served(http)
            if (await plain(http, base, "GET", "/healthz"))["journal_seq"] == seq:
                break
            await asyncio.sleep(0.2)  # something was still landing; look again
        else:
            raise AssertionError("the paused venue kept changing")
        self._state_equals_replay(served)
        self._conservation(served["accounts"])
        self._published_is_durable()
        await self._acknowledged_orders(http)
        self._acknowledged_tasks(served["tasks"])
        return {
            "seq": seq,
            "orders": len(self.told.orders),
            "cancels": len(self.told.cancels),
            "tasks": len(self.told.tasks),
            "task_changes": self.told.task_changes,
            "trades_seen": len(self.told.dfx_trades),
            "iw_trades_seen": sum(self.told.iw_trades.values()),
        }

    async def _served(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        base = self.server.base_url
        books = {
            symbol: await dfx(http, base, "GET", f"/v3/order_book?symbol={symbol}&limit={BOOK_LIMIT}")
            for symbol in self.markets
        }
        open_orders = {key: await dfx(http, base, "GET", "/v3/spot/order/current", key) for key in TRADERS}
        tasks: list[dict[str, Any]] = []
        page = 0
        while True:
            chunk = await dbot(
                http, base, "GET", f"/automation/follow_orders?page={page}&size=20", "follower-key"
            )
            tasks += chunk
            if len(chunk) < 20:
                break
            page += 1
        return {
            "accounts": await plain(http, base, "GET", "/admin/accounts"),
            "books": books,
            "open": open_orders,
            "tasks": tasks,
        }

    def _state_equals_replay(self, served: dict[str, Any]) -> None:
        engine = self.replay.engine
        for account in served["accounts"]:
            for wallet in account["wallets"]:
                replayed = {
                    c: {
                        "free": format_trimmed(f, LEDGER_DECIMALS),
                        "held": format_trimmed(h, LEDGER_DECIMALS),
                    }
                    for c, (f, h) in sorted(engine.balances_of(wallet["id"]).items())
                }
                assert wallet["balances"] == replayed, (account["name"], wallet["id"])
        assert {a["id"] for a in served["accounts"]} == set(engine.accounts)
        for symbol, market in self.markets.items():
            book = served["books"][symbol]
            assert book["code"] == 0, book
            bids, asks = engine.book_levels(symbol, BOOK_LIMIT)
            served_bids = [(Decimal(str(p)), Decimal(str(q))) for p, q in book["bids"]]
            served_asks = [(Decimal(str(p)), Decimal(str(q))) for p, q in book["asks"]]
            assert served_bids == _decimal_levels(market, bids), symbol
            assert served_asks == _decimal_levels(market, list(reversed(asks))), symbol
        for key, reply in served["open"].items():
            account = engine.account_by_key[key]
            assert reply["code"] == 0
            assert {int(o["order_id"]) for o in reply["data"]} == {
                o.id for o in engine.open_orders_of(account.id)
            }, key

    def _conservation(self, accounts: list[dict[str, Any]]) -> None:
        ledger = self.replay.engine.ledger
        totals: Counter[str] = Counter()
        for account in accounts:
            for wallet in account["wallets"]:
                for currency, balance in wallet["balances"].items():
                    totals[currency] += _ledger(balance["free"]) + _ledger(balance["held"])
        for currency in set(totals) | set(ledger.deposits):
            assert totals[currency] + ledger.fees.get(currency, 0) == ledger.deposits.get(currency, 0), (
                currency
            )

    def _published_is_durable(self) -> None:
        trades = self.replay.trades
        for trade_id, (symbol, price, amount) in self.told.dfx_trades.items():
            trade = trades.get(trade_id)
            assert trade is not None, f"trade {trade_id} was pushed but is not in the journal"
            market = self.markets[symbol]
            assert (
                trade.symbol,
                Decimal(market.format_price(trade.price)),
                Decimal(market.format_amount(trade.amount)),
            ) == (symbol, price, amount), trade_id
        replayed = Counter(
            (
                t.symbol,
                Decimal(self.markets[t.symbol].format_price(t.price)),
                Decimal(self.markets[t.symbol].format_amount(t.amount)),
                t.ts,
            )
            for t in trades.values()
        )
        missing = self.told.iw_trades - replayed
        assert not missing, f"Infoway pushed trades the journal does not have: {list(missing)[:3]}"
        unknown = self.told.dfx_orders - self.replay.order_ids
        assert not unknown, f"orders pushed but not journaled: {sorted(unknown)[:5]}"

    async def _acknowledged_orders(self, http: aiohttp.ClientSession) -> None:
        by_key: dict[str, list[str]] = {}
        for order_id, (key, _) in self.told.orders.items():
            by_key.setdefault(key, []).append(order_id)
        engine = self.replay.engine
        for key, ids in by_key.items():
            for i in range(0, len(ids), 20):
                chunk = ids[i : i + 20]
                reply = await dfx(
                    http, self.server.base_url, "GET", "/v3/spot/order", key, {"order_id": ",".join(chunk)}
                )
                assert reply["code"] == 0, reply
                found = {str(row["order_id"]): row for row in reply["data"]}
                for order_id in chunk:
                    assert order_id in found, f"acknowledged order {order_id} ({key}) is gone"
                    row, (_, params) = found[order_id], self.told.orders[order_id]
                    assert (row["symbol"], row["type"]) == (params["symbol"], params["type"]), order_id
                    if "price" in params:
                        assert Decimal(str(row["price"])) == Decimal(params["price"]), order_id
                        assert Decimal(str(row["amount"])) == Decimal(params["amount"]), order_id
                    is_open = int(order_id) in engine.orders
                    assert (row["status"] in (0, 1)) == is_open, (order_id, row["status"])
                    if order_id in self.told.cancels:
                        assert row["status"] in (3, 4), f"acknowledged cancel of {order_id} was lost"

    def _acknowledged_tasks(self, tasks: list[dict[str, Any]]) -> None:
        served = {t["id"]: t["enabled"] for t in tasks}
        told = self.told
        for task_id, enabled in told.tasks.items():
            assert task_id in served, f"acknowledged task {task_id} is gone"
            if told.task_in_flight is not None and told.task_in_flight[0] == task_id:
                assert served[task_id] in (enabled, told.task_in_flight[1])
                told.tasks[task_id] = served[task_id]  # whichever it is, it is durable now
            else:
                assert served[task_id] == enabled, f"acknowledged change of task {task_id} was lost"
        told.task_in_flight = None


def _decimal_levels(market: Market, levels: list[tuple[int, int]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(market.format_price(p)), Decimal(market.format_amount(q))) for p, q in levels]


def _ledger(text: str) -> int:
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (
        abs(int(whole or "0")) * 10**LEDGER_DECIMALS
        + int((frac + "0" * LEDGER_DECIMALS)[:LEDGER_DECIMALS] or 0)
    )


# --------------------------------------------------------------------------------------------
# The loop


def kill_while_recovering(server: SandexServer, delay: float) -> None:
    """Start the server and SIGKILL it after `delay` seconds, whatever it is doing by then
    (recovering, writing a snapshot, funding the simulator...)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandex.cli",
            "serve",
            "--config",
            str(server.config_path),
            "--data-dir",
            str(server.data_dir),
            "--port",
            str(server.port),
        ],
        stdout=open(server.log_path, "ab"),  # noqa: SIM115 (the server process owns it)
        stderr=subprocess.STDOUT,
        cwd=server.workdir,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(10)


async def run(
    cycles: int, seed: int, workdir: Path, log: Callable[[str], None] = print
) -> list[dict[str, int]]:
    rng = random.Random(seed)
    text = config_text(seed)
    config = parse_config(text)
    server = SandexServer(workdir, text)
    replay = Replay(config, server.data_dir / "journal.sqlite")
    told = Told()
    checker = Checker(server, config, told, replay)
    history: list[dict[str, int]] = []
    server.start()
    try:
        async with aiohttp.ClientSession() as http:
            wallets = {
                key: (await dbot(http, server.base_url, "GET", "/account/wallets", key))[0]["id"]
                for key in ("leader-key", "follower-key")
            }
            for cycle in range(cycles):
                started = time.monotonic()
                stats = await checker.check(http)
                await plain(http, server.base_url, "POST", "/admin/faults/chaos-hold/disable")
                dead = asyncio.Event()
                load = Load(server.base_url, server.ws_url(""), told, random.Random(rng.random()), wallets)
                running = asyncio.create_task(load.run(dead))
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                server.kill()  # SIGKILL, mid-load
                dead.set()
                await running
                if cycle % 5 == 4:
                    kill_while_recovering(server, rng.uniform(0.05, 0.8))
                server.start()
                stats["cycle"] = cycle + 1
                stats["seconds_ms"] = int((time.monotonic() - started) * 1000)
                history.append(stats)
                log(f"chaos cycle {cycle + 1}/{cycles}: {stats}")
            history.append(await checker.check(http))  # the last restart is checked too
            log(f"chaos final check: {history[-1]}")
    except BaseException:
        log(f"chaos run failed (seed {seed}); server log: {server.log_path}")
        raise
    finally:
        server.stop()
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sandex-chaos-"))
    print(f"chaos: {args.cycles} cycles, seed {args.seed}, workdir {workdir}")
    started = time.monotonic()
    history = asyncio.run(run(args.cycles, args.seed, workdir))
    final = history[-1]
    print(
        f"chaos: PASSED {args.cycles} kill/restart cycles in {time.monotonic() - started:.0f}s: "
        f"{final['seq']} journaled commands, {final['orders']} acknowledged orders, "
        f"{final['cancels']} cancels, {final['task_changes']} task changes, "
        f"{final['trades_seen'] + final['iw_trades_seen']} pushed trades checked"
    )


if __name__ == "__main__":
    main()
