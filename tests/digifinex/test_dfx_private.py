"""Private channels: each account gets exactly its own order, balance and order_algo pushes.

Alice and bob each sign in on their own socket and subscribe to everything private. Both trade
at random over REST — against each other, against the simulator, with trigger orders firing —
and each socket's pushes must be exactly the account's own events, in order: every order event
of the account (and only those), every balance change of its default wallet (and only those).
The expected sequences come from a listener on the venue itself (the server runs in-process).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from sandex.core.commands import PlaceTrigger
from sandex.core.events import BalanceEvent, Event, OrderEvent, TriggerEvent
from sandex.core.numbers import LEDGER_DECIMALS, format_trimmed
from sandex.protocols.digifinex import order_fields
from tests.digifinex.dfx_support import (
    ALICE,
    BOB,
    AsyncWs,
    InProcess,
    arest,
    in_process,
    with_sections,
    ws_client,
)
from tests.digifinex.test_dfx_seed import seed_pushes

SYMBOLS = ("BTC_USDT", "ETH_USDT")


class Collector:
    """Reads one socket in the background, keeping every push item by method."""

    def __init__(self, ws: AsyncWs) -> None:
        self.ws = ws
        self.items: dict[str, list[dict[str, Any]]] = {
            "order.update": [],
            "balance.update": [],
            "order_algo.update": [],
        }
        self.last = time.monotonic()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            frame = await self.ws.recv(timeout=60)
            assert frame["id"] is None, frame
            self.items[frame["method"]].extend(frame["params"])
            self.last = time.monotonic()

    async def drain(self) -> None:
        while time.monotonic() - self.last < 0.6 and not self.task.done():
            await asyncio.sleep(0.1)
        if self.task.done():
            self.task.result()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def expected_pushes(
    venue: InProcess, events: list[Event], account_id: int
) -> dict[tuple[str, str], list[tuple]]:
    """What the account must see, per topic (channel, symbol or currency), from the venue's own
    events. Order is guaranteed within a topic (one push per topic per batch keeps event order),
    not across topics."""
    engine = venue.ctx.venue.engine
    default_wallet = engine.accounts[account_id].wallets[0]
    out: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for e in events:
        if isinstance(e, OrderEvent) and e.account_id == account_id:
            filled = format_trimmed(e.filled, engine.markets[e.symbol].amount_precision)
            out[("order.update", e.symbol)].append(
                (str(e.order_id), order_fields.order_status(e), filled, e.ts)
            )
        elif isinstance(e, BalanceEvent) and e.account_id == account_id and e.wallet_id == default_wallet:
            out[("balance.update", e.currency)].append(
                (format_trimmed(e.free, LEDGER_DECIMALS), format_trimmed(e.held, LEDGER_DECIMALS))
            )
        elif isinstance(e, TriggerEvent) and e.account_id == account_id:
            out[("order_algo.update", e.symbol)].append(
                (str(e.trigger_id), order_fields.algo_status(e), e.ts)
            )
    return dict(out)


def received(collector: Collector) -> dict[tuple[str, str], list[tuple]]:
    out: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for i in collector.items["order.update"]:
        out[("order.update", i["symbol"])].append((i["id"], i["status"], i["filled"], i["timestamp"]))
    for i in collector.items["balance.update"]:
        out[("balance.update", i["currency"])].append((i["free"], i["used"]))
    for i in collector.items["order_algo.update"]:
        out[("order_algo.update", i["symbol"])].append((i["id"], i["status"], i["timestamp"]))
    return dict(out)


async def random_trading(
    venue: InProcess, session: aiohttp.ClientSession, rng: random.Random, orders: int
) -> dict[str, set[str]]:
    """Random REST orders from both accounts around the current price, plus trigger orders."""
    ids: dict[str, set[str]] = {"alice": set(), "bob": set()}
    md = venue.ctx.venue.marketdata
    engine = venue.ctx.venue.engine
    for _ in range(orders):
        name, creds = rng.choice((("alice", ALICE), ("bob", BOB)))
        symbol = rng.choice(SYMBOLS)
        market = engine.markets[symbol]
        bids, asks = md.top(symbol, 1)
        mid = (bids[0][0] + asks[0][0]) // 2 if bids and asks else market.initial_price
        roll = rng.random()
        if roll < 0.15 and ids[name]:
            await arest(
                session,
                venue.base_url,
                "POST",
                "/v3/spot/order/cancel",
                {"order_id": rng.choice(sorted(ids[name]))},
                creds,
            )
            continue
        if roll < 0.25:
            params = {"symbol": symbol, "type": "buy_market", "amount": "25"}
        elif roll < 0.35:
            params = {"symbol": symbol, "type": "sell_market", "amount": "0.01"}
        elif roll < 0.42:
            account = engine.account_by_key[creds[0]]
            side = rng.choice(("buy", "sell"))
            step = max(1, mid // 2000) * rng.randint(1, 3)
            events = await venue.ctx.venue.execute(
                PlaceTrigger(
                    account.id,
                    symbol,
                    side,
                    mid + step if side == "buy" else mid - step,
                    "up" if side == "buy" else "down",
                    kind="limit",
                    price=mid + 2 * step if side == "buy" else mid - 2 * step,
                    amount=market.parse_amount("0.01"),
                )
            )
            assert any(isinstance(e, TriggerEvent) for e in events)
            continue
        else:
            side = rng.choice(("buy", "sell"))
            offset = max(1, mid // 5000) * rng.randint(-5, 5)
            params = {
                "symbol": symbol,
                "type": side,
                "price": market.format_price(mid + offset),
                "amount": "0.02",
            }
        reply = await arest(session, venue.base_url, "POST", "/v3/spot/order/new", params, creds)
        assert reply["code"] == 0, reply
        ids[name].add(reply["order_id"])
    return ids


async def test_each_account_gets_exactly_its_own_private_pushes(tmp_path: Path) -> None:
    config = with_sections(
        '[journal]\nsync = "normal"\n',
        simulator="enabled = true\norders_per_second = 60\nlevels = 8\nseed = 3",
    )
    async with in_process(tmp_path, config) as venue:
        events: list[Event] = []
        venue.ctx.venue.listeners.append(lambda batch, update: events.extend(batch))
        engine = venue.ctx.venue.engine
        async with (
            ws_client(venue.ws_url) as alice_ws,
            ws_client(venue.ws_url) as bob_ws,
            aiohttp.ClientSession() as session,
        ):
            for ws, creds in ((alice_ws, ALICE), (bob_ws, BOB)):
                await ws.auth(creds)
                for channel in ("order", "balance", "order_algo"):
                    assert (await ws.call(f"{channel}.subscribe", []))["result"] == {"status": "success"}
            start = len(events)
            collectors = {"alice": Collector(alice_ws), "bob": Collector(bob_ws)}
            await asyncio.sleep(1.0)  # let the simulator build a book
            ids = await random_trading(venue, session, random.Random(17), 600)
            await venue.stop_simulator()
            for collector in collectors.values():
                await collector.drain()
        for name, creds in (("alice", ALICE), ("bob", BOB)):
            account_id = engine.account_by_key[creds[0]].id
            expected = expected_pushes(venue, events[start:], account_id)
            got = received(collectors[name])
            assert set(got) == set(expected), name
            for key in expected:
                assert got[key] == expected[key], f"{name} {key}"
            other = "bob" if name == "alice" else "alice"
            order_items = [
                item for (method, _), items in got.items() if method == "order.update" for item in items
            ]
            seen_orders = {item[0] for item in order_items}
            assert ids[name] <= seen_orders and not seen_orders & ids[other]
            # Enough happened for the comparison to mean something: fills, and fired triggers.
            assert {order_fields.FILLED, order_fields.UNFILLED} <= {item[1] for item in order_items}
            assert sum(len(v) for (method, _), v in got.items() if method == "balance.update") > 50
            algo_items = [
                item for (method, _), items in got.items() if method == "order_algo.update" for item in items
            ]
            assert any(item[1] == 2 for item in algo_items), "no trigger fired"
            fired_orders = seen_orders - ids[name]
            assert fired_orders, "orders placed by fired triggers must reach their owner too"
            # The last balance pushed per currency is what REST reports now.
            async with aiohttp.ClientSession() as session:
                assets = await arest(session, venue.base_url, "GET", "/v3/spot/assets", None, creds)
            last = {item["currency"]: item for item in collectors[name].items["balance.update"]}
            for row in assets["list"]:
                if row["currency"] in last:
                    assert Decimal(last[row["currency"]]["free"]) == row["free"]
                    assert Decimal(last[row["currency"]]["total"]) == row["total"]


async def test_signing_in_as_another_account_drops_the_first_accounts_channels(tmp_path: Path) -> None:
    async with (
        in_process(tmp_path, with_sections("")) as venue,
        ws_client(venue.ws_url) as ws,
        aiohttp.ClientSession() as session,
    ):
        await ws.auth(ALICE)
        await ws.call("order.subscribe", ["BTC_USDT"])
        await ws.call("balance.subscribe", ["USDT"])
        await ws.auth(BOB)
        order = {"symbol": "BTC_USDT", "type": "buy", "price": "60000", "amount": "0.01"}
        await arest(session, venue.base_url, "POST", "/v3/spot/order/new", order, ALICE)
        # No push for alice's order: the next frame is the reply to this ping.
        assert (await ws.call("server.ping"))["result"] == "pong"
        await ws.call("order.subscribe", ["BTC_USDT"])
        reply = await arest(session, venue.base_url, "POST", "/v3/spot/order/new", order, BOB)
        push = await ws.recv()
        assert push["method"] == "order.update" and push["params"][0]["id"] == reply["order_id"]


async def test_order_algo_pushes_follow_a_trigger_order(tmp_path: Path) -> None:
    async with in_process(tmp_path, with_sections("")) as venue:
        engine = venue.ctx.venue.engine
        market = engine.markets["BTC_USDT"]
        alice_id = engine.account_by_key[ALICE[0]].id
        async with (
            ws_client(venue.ws_url) as ws,
            ws_client(venue.ws_url) as bob_ws,
            aiohttp.ClientSession() as session,
        ):
            await ws.auth(ALICE)
            await ws.call("order_algo.subscribe", ["btc_usdt"])  # symbols are case-insensitive
            await ws.call("order.subscribe", ["BTC_USDT"])
            await bob_ws.auth(BOB)
            await bob_ws.call("order_algo.subscribe", [])
            await bob_ws.call("order.subscribe", [])
            bob_collector = Collector(bob_ws)

            await venue.ctx.venue.execute(
                PlaceTrigger(
                    alice_id,
                    "BTC_USDT",
                    "buy",
                    market.parse_price("65100"),
                    "up",
                    kind="limit",
                    price=market.parse_price("65200"),
                    amount=market.parse_amount("0.01"),
                )
            )
            waiting = (await ws.recv())["params"][0]
            example = seed_pushes()["order_algo.update"]["params"][0]
            assert set(waiting) == set(example)
            assert waiting["status"] == 0 and waiting["symbol"] == "BTC_USDT" and waiting["side"] == "buy"
            assert (waiting["trigger_price"], waiting["algo_price"], waiting["amount"]) == (
                "65100",
                "65200",
                "0.01",
            )
            assert waiting["mode"] == 1 and isinstance(waiting["timestamp"], int)

            # Bob offers at 65100 and alice lifts it: the last price reaches the trigger.
            await arest(
                session,
                venue.base_url,
                "POST",
                "/v3/spot/order/new",
                {"symbol": "BTC_USDT", "type": "sell", "price": "65100", "amount": "0.5"},
                BOB,
            )
            await arest(
                session,
                venue.base_url,
                "POST",
                "/v3/spot/order/new",
                {"symbol": "BTC_USDT", "type": "buy", "price": "65100", "amount": "0.01"},
                ALICE,
            )
            # One batch: alice's buy fills, the trigger fires, its order fills against bob's rest.
            seen: list[dict[str, Any]] = [await ws.recv(), await ws.recv()]
            assert sorted(p["method"] for p in seen) == ["order.update", "order_algo.update"]
            algo = [p["params"][0] for p in seen if p["method"] == "order_algo.update"]
            assert algo[-1]["id"] == waiting["id"] and algo[-1]["status"] == 2
            orders = [item for p in seen if p["method"] == "order.update" for item in p["params"]]
            assert len({o["id"] for o in orders}) == 2  # alice's own buy, and the trigger's order
            assert [o["status"] for o in orders] == [2, 2] and orders[1]["price"] == "65200"
            assert (await ws.call("server.ping"))["result"] == "pong"  # nothing else was pushed
            await bob_collector.drain()
            assert bob_collector.items["order_algo.update"] == []
            assert {o["id"] for o in bob_collector.items["order.update"]}.isdisjoint(
                {o["id"] for o in orders}
            )
