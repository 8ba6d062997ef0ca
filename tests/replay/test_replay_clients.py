"""A real `sandex serve --replay btcusdt` with the dialects' own clients over real sockets:
Infoway's official SDK sees the recording's trades and 1-minute klines (worked out here from the
gz file, independently of the importer); a DBot copy task copies a venue wallet trading on the
replayed market (filled by the tape and by another client) while it plays; a client's resting
orders, balances and holds survive SIGTERM and SIGKILL restarts in the middle of a replay; and
clients' trades there are published on the recording's clock (their klines and 24 h ticker stay
the recording's), as are ccxt's candles."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest

from infoway import InfowayClient, InfowayWebSocket, KlineType
from sandex.replay import bundled
from tests.dbot.dbot_harness import DbotWs, rest, task_body
from tests.replay.replay_support import NaiveBook, admin
from tests.support.server import BASE_CONFIG, SandexServer

PRICE, SIZE = Decimal(100), Decimal(1_000_000)  # BTC_USDT: cents, micro-BTC
VALUE = PRICE * SIZE
MINUTE_MS = 60_000
REPLAY = ("--replay", "btcusdt", "--paused")

#: Two more accounts for copy trading: the followed wallet and its follower (bob makes markets).
COPY_CONFIG = (
    BASE_CONFIG
    + """[[accounts]]
name = "leader"
api_key = "leader-key"
secret = "leader-secret"
balances = { USDT = "1000000", BTC = "10" }
[[accounts]]
name = "follower"
api_key = "follower-key"
secret = "follower-secret"
balances = { USDT = "100000" }
"""
)

Bar = tuple[int, int, int, int, int, int]  # open_ms, open, high, low, close, volume


@pytest.fixture(scope="module")
def naive() -> NaiveBook:
    return NaiveBook(bundled("btcusdt"))


def dfx(server: SandexServer, key: str | None = None) -> ccxt.digifinex:
    options: dict[str, Any] = {"enableRateLimit": False}
    if key is not None:
        options |= {"apiKey": f"{key}-key", "secret": f"{key}-secret"}
    client = ccxt.digifinex(options)
    client.urls["api"]["rest"] = server.base_url
    return client


def cents(value: float | str) -> int:
    return int(Decimal(str(value)) * PRICE)


def micros(value: float | str) -> int:
    return int(Decimal(str(value)) * SIZE)


def minute_bars(trades: list[tuple[int, int, int, str, int]], until_ms: int) -> dict[int, Bar]:
    """1-minute klines of the recorded trades up to `until_ms`, on the recording's exchange time:
    open and close the minute's first and last trade in the recording's order."""
    bars: dict[int, Bar] = {}
    for ms, price, amount, _side, _id in trades:
        if ms > until_ms:
            break
        start = ms // MINUTE_MS * MINUTE_MS
        bar = bars.get(start)
        if bar is None:
            bars[start] = (start, price, price, price, price, amount)
        else:
            _, open_, high, low, _, volume = bar
            bars[start] = (start, open_, max(high, price), min(low, price), price, volume + amount)
    return bars


def quote_volumes(trades: list[tuple[int, int, int, str, int]], until_ms: int) -> dict[int, int]:
    """Each minute's turnover, price x amount summed exactly (value scale: 8 places)."""
    out: dict[int, int] = {}
    for ms, price, amount, _side, _id in trades:
        if ms > until_ms:
            break
        start = ms // MINUTE_MS * MINUTE_MS
        out[start] = out.get(start, 0) + price * amount
    return out


def infoway_bar(data: dict[str, Any]) -> tuple[Bar, int]:
    """(bar, quote volume) of a 10008 push or a REST kline row; `t` is the start in seconds."""
    bar = (
        int(data["t"]) * 1000,
        cents(data["o"]),
        cents(data["h"]),
        cents(data["l"]),
        cents(data["c"]),
        micros(data["v"]),
    )
    return bar, int(Decimal(data["vw"]) * VALUE)


async def wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# -- Infoway ------------------------------------------------------------------------------------


async def test_infoway_sdk_trades_and_klines_equal_the_recording(tmp_path: Path, naive: NaiveBook) -> None:
    """Seek into the middle of a minute, play 95 s of recording at 30x (a bar's final state is
    pushed when the next one opens, however fast they go), pause: every recorded
    trade arrives once, in order, and every bar — pushed or answered by REST — is the minute's
    open/high/low/close/volume worked out from the file, the bar the seek landed in included (its
    trades before the seek come from the rebuilt history)."""
    with SandexServer(tmp_path, extra_args=REPLAY) as server:
        start = admin(server, "")["start_ms"]
        first_minute = start // MINUTE_MS * MINUTE_MS
        target = first_minute + 2 * MINUTE_MS - 30_000  # half way through the second minute
        assert admin(server, "/seek", {"time": target})["time_ms"] == target

        trades: list[dict[str, Any]] = []
        klines: list[dict[str, Any]] = []
        acks: set[int] = set()

        async def on_trade(data: dict[str, Any]) -> None:
            trades.append(data)

        async def on_kline(data: dict[str, Any]) -> None:
            klines.append(data)

        def on_frame(text: str) -> None:
            code = json.loads(text).get("code")
            if code in (10001, 10007):
                acks.add(code)

        ws = InfowayWebSocket(api_key="alice-key", business="crypto", base_url=server.ws_url("/ws"))
        ws.on_trade, ws.on_kline, ws.on_frame = on_trade, on_kline, on_frame
        running = asyncio.create_task(ws.connect())
        try:
            await ws.subscribe_trade("BTCUSDT")
            await ws.subscribe_kline("BTCUSDT", KlineType.MIN_1)
            await wait_for(lambda: acks == {10001, 10007}, "the subscriptions' acks")
            await asyncio.to_thread(admin, server, "/speed", {"speed": 30})
            await asyncio.to_thread(admin, server, "/resume", {})
            await asyncio.sleep(95 / 30)
            stopped = (await asyncio.to_thread(admin, server, "/pause", {}))["time_ms"]
            expected_trades = [t for t in naive.trades if target < t[0] <= stopped]
            await wait_for(lambda: len(trades) >= len(expected_trades), "every recorded trade")
            bars = minute_bars(naive.trades, stopped)
            turnover = quote_volumes(naive.trades, stopped)
            current = stopped // MINUTE_MS * MINUTE_MS

            def last_push(minute: int) -> tuple[Bar, int] | None:
                pushed = [infoway_bar(k) for k in klines if int(k["t"]) * 1000 == minute]
                return pushed[-1] if pushed else None

            # The open bar's final state is pushed within a second of the pause.
            await wait_for(lambda: last_push(current) == (bars[current], turnover[current]), "the open bar")
        finally:
            await ws.close()
            await asyncio.wait_for(running, 10)

        assert len(expected_trades) > 1000, "the window holds the recording's busiest minutes"
        got = [(t["t"], cents(t["p"]), micros(t["v"]), {1: "buy", 2: "sell"}[t["td"]]) for t in trades]
        assert got == [(ms, p, a, side) for ms, p, a, side, _ in expected_trades]
        assert all(int(Decimal(t["vw"]) * VALUE) == cents(t["p"]) * micros(t["v"]) for t in trades)

        # Every minute played through the end, the seek's included, and the open one.
        played = [m for m in sorted(bars) if m >= target // MINUTE_MS * MINUTE_MS]
        assert len(played) >= 3 and played[-1] == current
        assert {m: last_push(m) for m in played} == {m: (bars[m], turnover[m]) for m in played}
        # A pushed bar is never ahead of the recording: each is a prefix of its minute's trades.
        for kline in klines:
            bar, _ = infoway_bar(kline)
            assert bar[0] in bars and bar[1] == bars[bar[0]][1] and bar[5] <= bars[bar[0]][5]

        # REST, through the SDK: the whole history so far, newest first, the recording's bars.
        with InfowayClient(api_key="alice-key", base_url=server.base_url, max_retries=1) as client:
            [row] = await asyncio.to_thread(client.crypto.get_kline, "BTCUSDT", KlineType.MIN_1, 500)
        answered = [infoway_bar(c) for c in row["respList"]]
        assert answered == [(bars[m], turnover[m]) for m in sorted(bars, reverse=True)]
        assert sorted(bars)[0] == first_minute, "the minute before the seek is there too"


# -- DBot copy trading --------------------------------------------------------------------------


async def test_a_dbot_copy_task_follows_a_wallet_trading_on_the_replayed_market(
    tmp_path: Path, naive: NaiveBook
) -> None:
    """The leader trades on the replayed market through DigiFinex (ccxt): paused, a buy taking
    the recorded best ask and then bob's ask behind it; playing, a bid at the recorded best bid,
    filled by the tape; a market sell into the recorded bids. The follower's task, made through
    DBot's WebSocket, copies each one as it happens, before and after a SIGKILL mid-replay: the
    first copy buys from bob (the recorded level is consumed), the others take the recording.

    bob also quotes far from the market (where the tape never prints): a copy's liquidity and
    slippage checks see the recorded book and clients' quotes together, and take the better."""
    with SandexServer(tmp_path, COPY_CONFIG, extra_args=REPLAY) as server:
        start = admin(server, "")["start_ms"]
        target = start + 60_000
        admin(server, "/seek", {"time": target})
        bids, asks = naive.book_at(target)
        (best_bid, _), (best_ask, ask_size) = bids[0], asks[0]
        later = [t for t in naive.trades if t[0] > target]
        far_ask, far_bid = max(t[1] for t in later) + 5_000, min(t[1] for t in later) - 5_000

        leader, mm = dfx(server, "leader"), dfx(server, "bob")
        for client in (leader, mm):
            await asyncio.to_thread(client.load_markets)
        joined = await asyncio.to_thread(mm.create_order, "BTC/USDT", "limit", "sell", 1, best_ask / 100)
        await asyncio.to_thread(mm.create_order, "BTC/USDT", "limit", "sell", 1, far_ask / 100)
        await asyncio.to_thread(mm.create_order, "BTC/USDT", "limit", "buy", 1, far_bid / 100)
        status, wallets = await rest(server.base_url, "GET", "/account/wallets", "leader-key")
        assert status == 200 and not wallets["err"]
        leader_wallet = wallets["res"][0]["id"]

        follower = await DbotWs.connect(server.ws_url("/trade/ws"), "follower-key", subscribe=[])
        try:
            created = await follower.call(
                "createOrUpdateFollowOrder",
                task_body(
                    "follow the leader through the replay",
                    [leader_wallet],
                    buy={"maxBuyAmountUI": "1000", "maxSlippage": 0.05},
                    sell={"mode": "only_copy", "sellAmountType": "all"},
                ),
            )
            task_id = created["id"]

            # 1. Paused: the leader takes the recorded best ask and 0.02 of bob's ask behind it
            # (one fill, copied once); the copy buys from bob, the recorded level being consumed.
            amount = Decimal(ask_size) / SIZE + Decimal("0.02")
            await asyncio.to_thread(leader.create_order, "BTC/USDT", "limit", "buy", amount, best_ask / 100)
            first = await follower.push()
            assert (first["state"], first["source"], first["type"]) == ("done", "follow_order", "buy")
            assert first["priceUsd"] == Decimal(best_ask) / 100
            bought = 1000 * 100 * 10**6 // best_ask  # micro-BTC 1,000 USDT buys at the best ask
            assert first["send"]["amount"] == str(bought * best_ask * 10**10)
            leader_fills = await asyncio.to_thread(leader.fetch_my_trades, "BTC/USDT")
            assert sorted((micros(t["amount"]), t["price"]) for t in leader_fills) == [
                (20_000, best_ask / 100),
                (ask_size, best_ask / 100),
            ]
            assert first["id"] == f"{task_id}_{min(int(t['id']) for t in leader_fills)}"
            bob_order = await asyncio.to_thread(mm.fetch_order, joined["id"], "BTC/USDT")
            assert micros(bob_order["filled"]) == 20_000 + bought
            await asyncio.to_thread(mm.cancel_order, joined["id"], "BTC/USDT")

            # 2. Filled by the tape: the recorded sell through the leader's bid, about 1 s of
            # recording after the replay resumes (the bid is there before, whatever the load).
            resting = await asyncio.to_thread(
                leader.create_order, "BTC/USDT", "limit", "buy", 0.01, best_bid / 100
            )
            await asyncio.to_thread(admin, server, "/speed", {"speed": 5})
            await asyncio.to_thread(admin, server, "/resume", {})
            second = await follower.push(timeout=10)
            assert admin(server, "")["state"] == "playing"
            order = await asyncio.to_thread(leader.fetch_order, resting["id"], "BTC/USDT")
            assert (order["status"], order["filled"], order["average"]) == ("closed", 0.01, best_bid / 100)
            fill = next(
                t
                for t in await asyncio.to_thread(leader.fetch_my_trades, "BTC/USDT")
                if t["order"] == resting["id"]
            )
            assert fill["takerOrMaker"] == "maker"
            assert second["id"] == f"{task_id}_{fill['id']}"
            assert (second["state"], second["type"]) == ("done", "buy")
            # It took the recorded asks, not bob's far quote (untouched).
            assert second["priceUsd"] < Decimal(far_ask) / 100
            assert 999 * 10**18 < int(second["send"]["amount"]) <= 1000 * 10**18

            # A crash in the middle of the replay: the task, and the replay playing, survive it.
            await follower.close()
            await asyncio.to_thread(restart, server, signal.SIGKILL)
            assert admin(server, "")["state"] == "playing"
            follower = await DbotWs.connect(server.ws_url("/trade/ws"), "follower-key", subscribe=[])
            [task] = await follower.call("listFollowOrders", {"page": 0, "size": 20})
            assert (task["id"], task["enabled"], task["targetIds"]) == (task_id, True, [leader_wallet])

            # 3. The leader sells at market into the recorded bids: the copy sells all it holds.
            held = (await asyncio.to_thread(dfx(server, "follower").fetch_balance))["BTC"]
            await asyncio.to_thread(leader.create_order, "BTC/USDT", "market", "sell", 0.03)
            sold = await follower.push()
            assert (sold["state"], sold["type"], sold["source"]) == ("done", "sell", "follow_order")
            assert sold["priceUsd"] > Decimal(far_bid) / 100
            assert int(sold["send"]["amount"]) == micros(held["free"]) * 10**12
            await follower.no_push()
            assert admin(server, "")["state"] == "playing", "2 and 3 while the market replays"
            quotes = await asyncio.to_thread(mm.fetch_open_orders, "BTC/USDT")
            assert sorted((o["price"], o["remaining"]) for o in quotes) == [
                (far_bid / 100, 1),
                (far_ask / 100, 1),
            ]
        finally:
            await follower.close()
            admin(server, "/pause", {})


async def test_a_copy_takes_the_replayed_book_with_no_client_quotes(tmp_path: Path, naive: NaiveBook) -> None:
    """The leader's bid filled by the tape, copied with only the recording on the other side: the
    copy's market buy takes the recorded asks, as a DBot swap or a ccxt market order does (its
    liquidity and slippage checks read `Engine.liquidity`, the recorded book included: they read
    clients' orders only and failed it with E_NO_LIQUIDITY)."""
    with SandexServer(tmp_path, COPY_CONFIG, extra_args=REPLAY) as server:
        start = admin(server, "")["start_ms"]
        target = start + 60_000
        admin(server, "/seek", {"time": target})
        best_bid = naive.book_at(target)[0][0][0]
        leader = dfx(server, "leader")
        await asyncio.to_thread(leader.load_markets)
        status, wallets = await rest(server.base_url, "GET", "/account/wallets", "leader-key")
        assert status == 200 and not wallets["err"]
        follower = await DbotWs.connect(server.ws_url("/trade/ws"), "follower-key", subscribe=[])
        try:
            await follower.call(
                "createOrUpdateFollowOrder",
                task_body("follow", [wallets["res"][0]["id"]], sell={"mode": "only_copy"}),
            )
            await asyncio.to_thread(leader.create_order, "BTC/USDT", "limit", "buy", 0.01, best_bid / 100)
            await asyncio.to_thread(admin, server, "/speed", {"speed": 5})
            await asyncio.to_thread(admin, server, "/resume", {})
            copied = await follower.push(timeout=10)
            assert (copied["state"], copied.get("errorCode")) == ("done", None), copied.get("errorMessage")
        finally:
            await follower.close()
            admin(server, "/pause", {})


# -- restarts with client orders ------------------------------------------------------------------


def with_orders(
    book: tuple[list[tuple[int, int]], list[tuple[int, int]]], orders: list[dict[str, Any]]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The recorded book with clients' open orders added at their levels: what a replayed market
    publishes."""
    bids, asks = dict(book[0]), dict(book[1])
    for order in orders:
        side = bids if order["side"] == "buy" else asks
        price = cents(order["price"])
        side[price] = side.get(price, 0) + micros(order["remaining"])
    return sorted(bids.items(), reverse=True), sorted(asks.items())


def published(server: SandexServer, depth: int = 150) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    book = dfx(server).fetch_order_book("BTC/USDT", depth)
    return [(cents(p), micros(a)) for p, a, *_ in book["bids"]], [
        (cents(p), micros(a)) for p, a, *_ in book["asks"]
    ]


def holdings(client: ccxt.digifinex) -> dict[str, tuple[Decimal, Decimal]]:
    balance = client.fetch_balance()
    return {c: (Decimal(str(balance[c]["free"])), Decimal(str(balance[c]["used"]))) for c in ("USDT", "BTC")}


def open_orders(client: ccxt.digifinex) -> list[tuple[str, str, float, float, float]]:
    return sorted(
        (o["id"], o["side"], o["price"], o["amount"], o["remaining"])
        for o in client.fetch_open_orders("BTC/USDT")
    )


def restart(server: SandexServer, how: signal.Signals) -> None:
    assert server.process is not None
    server.process.send_signal(how)
    server.process.wait(20)
    server.start()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_restart_while_playing_keeps_client_orders_holds_and_the_replay(
    tmp_path: Path, naive: NaiveBook, how: signal.Signals
) -> None:
    """Mid-replay, playing at 2x, with alice's orders on the replayed market: a bid and an ask
    beyond every price the tape prints in the next 30 s (so they rest), a bid at the recorded best
    bid (which a recorded sell prints through 8 s later), and an order acknowledged just before the
    signal. After the restart the replay plays on from where it was journaled, every
    acknowledged order is there with its hold, the published book is the recording's plus those
    orders, and the tape fills the best-bid order after the restart at its price."""
    with SandexServer(tmp_path, extra_args=REPLAY) as server:
        start = admin(server, "")["start_ms"]
        target = start + 120_000
        admin(server, "/seek", {"time": target})
        admin(server, "/speed", {"speed": 2})
        best_bid = naive.book_at(target)[0][0][0]
        window = [t for t in naive.trades if target < t[0] <= target + 30_000]
        far_bid, far_ask = min(t[1] for t in window) - 1, max(t[1] for t in window) + 1
        through = next(t for t in window if t[1] < best_bid)
        assert 5_000 < through[0] - target < 20_000

        alice = dfx(server, "alice")
        alice.load_markets()
        alice.create_order("BTC/USDT", "limit", "buy", 0.5, far_bid / 100)
        alice.create_order("BTC/USDT", "limit", "sell", 0.25, far_ask / 100)
        near = alice.create_order("BTC/USDT", "limit", "buy", 0.002, best_bid / 100)
        admin(server, "/resume", {})
        # 1.2 s of recording: the print through the best bid is 7 s of recording (3.5 s) away, time
        # for the checks on both sides of the restart before it comes.
        time.sleep(0.6)
        before = admin(server, "")
        orders, held = open_orders(alice), holdings(alice)
        assert before["state"] == "playing" and len(orders) == 3
        # The signal follows this order's acknowledgement at once.
        last = alice.create_order("BTC/USDT", "limit", "sell", 0.125, (far_ask + 100) / 100)
        restart(server, how)

        after = admin(server, "")
        assert (after["state"], after["speed"]) == ("playing", 2.0)
        # The replay resumes at what was journaled: at least the position the status showed
        # before the signal (an advance is durable before it applies), playing on from there.
        assert all(a >= b for a, b in zip(after["position"], before["position"], strict=True))
        assert target < after["time_ms"] < through[0]
        assert open_orders(alice) == sorted(
            [*orders, (last["id"], "sell", (far_ask + 100) / 100, 0.125, 0.125)]
        )
        sold = Decimal("0.125")  # the last order's hold
        held["BTC"] = (held["BTC"][0] - sold, held["BTC"][1] + sold)
        assert holdings(alice) == held

        # Play on past the print through the best bid; then, paused, compare everything.
        deadline = time.monotonic() + 10
        while admin(server, "")["time_ms"] <= through[0] + 500 and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped = admin(server, "/pause", {})["time_ms"]
        assert through[0] < stopped <= target + 30_000
        filled = alice.fetch_order(near["id"], "BTC/USDT")
        assert (filled["status"], filled["filled"], filled["average"]) == ("closed", 0.002, best_bid / 100)
        rest_of_them = alice.fetch_open_orders("BTC/USDT")
        assert sorted(o["id"] for o in rest_of_them) == sorted(
            [last["id"], *(o[0] for o in orders if o[0] != near["id"])]
        )
        assert published(server) == tuple(
            side[:150] for side in with_orders(naive.book_at(stopped), rest_of_them)
        )
        # The fill moved exactly its own amounts: the bid's hold paid, BTC in less the 0.1 % fee.
        cost = Decimal(best_bid) / 100 * Decimal("0.002")
        usdt, btc = holdings(alice)["USDT"], holdings(alice)["BTC"]
        assert usdt == (held["USDT"][0], held["USDT"][1] - cost)
        assert btc == (held["BTC"][0] + Decimal("0.002") * Decimal("0.999"), held["BTC"][1])


# -- client trades on the replayed market's clock -----------------------------------------------


async def test_client_trades_on_a_replayed_market_keep_the_recordings_clock(
    tmp_path: Path, naive: NaiveBook
) -> None:
    """Clients' trades on the replayed market — paused, alice's buy taking the recorded best ask
    and then bob's ask behind it; playing, alice's bid filled by the tape — are venue trades: they
    are published among the recorded prints, stamped with the replayed market's clock (the latest
    record applied), so the tape stays in time order and each lands in the recorded minute it
    happened in: the klines and the 24 h ticker stay the recording's (with those trades added),
    not a bar in today's wall time."""
    from tests.infoway.iw_support import Client

    with SandexServer(tmp_path, extra_args=REPLAY) as server:
        start = admin(server, "")["start_ms"]
        target = start + 120_000
        admin(server, "/seek", {"time": target})
        bids, asks = naive.book_at(target)
        (best_bid, _), (best_ask, ask_size) = bids[0], asks[0]
        window = [t for t in naive.trades if target < t[0] <= target + 30_000]
        through = next(t for t in window if t[1] < best_bid)

        client = await Client.connect(server.ws_url("/ws?business=crypto&apikey=alice-key"))
        try:
            await client.request({"code": 10000, "trace": "t", "data": {"codes": "BTCUSDT"}})
            alice, bob = dfx(server, "alice"), dfx(server, "bob")
            for each in (alice, bob):
                await asyncio.to_thread(each.load_markets)
            await asyncio.to_thread(bob.create_order, "BTC/USDT", "limit", "sell", 0.001234, best_ask / 100)
            taking = Decimal(ask_size) / SIZE + Decimal("0.001234")
            await asyncio.to_thread(alice.create_order, "BTC/USDT", "limit", "buy", taking, best_ask / 100)
            near = await asyncio.to_thread(
                alice.create_order, "BTC/USDT", "limit", "buy", 0.002345, best_bid / 100
            )
            await asyncio.to_thread(admin, server, "/speed", {"speed": 10})
            await asyncio.to_thread(admin, server, "/resume", {})
            deadline = time.monotonic() + 10
            while (await asyncio.to_thread(admin, server, ""))["time_ms"] <= through[0] + 1_000:
                assert time.monotonic() < deadline, "the replay plays"
                await asyncio.sleep(0.05)
            stopped = (await asyncio.to_thread(admin, server, "/pause", {}))["time_ms"]
            recorded = [t for t in naive.trades if target < t[0] <= stopped]
            pushes: list[tuple[int, int, int, str, int]] = []
            while len(pushes) < len(recorded) + 3:
                data = (await client.recv_until(lambda m: m.get("code") == 10002))["data"]
                pushes.append(
                    (data["t"], cents(data["p"]), micros(data["v"]), {1: "buy", 2: "sell"}[data["td"]], 0)
                )
        finally:
            await client.close()
        filled = await asyncio.to_thread(alice.fetch_order, near["id"], "BTC/USDT")
        assert filled["status"] == "closed"

        # The clients' trades, found by price and size; the rest is the recording, one for one.
        taken = [p for p in pushes if p[1:3] == (best_ask, ask_size)]
        cross = [p for p in pushes if p[1:3] == (best_ask, 1_234)]
        fill = [p for p in pushes if p[1:3] == (best_bid, 2_345)]
        assert len(taken) == len(cross) == len(fill) == 1
        assert [p[:4] for p in pushes if p not in taken + cross + fill] == [t[:4] for t in recorded]
        # Each on the replayed market's clock: alice's buy at the sought time (paused there), the
        # fill at the recorded print that filled it.
        assert taken[0][0] == cross[0][0] == target
        assert fill[0][0] in {t[0] for t in recorded if t[0] <= through[0]}
        times = [p[0] for p in pushes]
        assert times == sorted(times) and target <= times[0] and times[-1] <= stopped

        # The klines are the recording's minutes with the two trades in them (REST, the SDK).
        tape = [t for t in naive.trades if t[0] <= target] + pushes
        bars, turnover = minute_bars(tape, stopped), quote_volumes(tape, stopped)
        with InfowayClient(api_key="alice-key", base_url=server.base_url, max_retries=1) as sdk:
            [row] = await asyncio.to_thread(sdk.crypto.get_kline, "BTCUSDT", KlineType.MIN_1, 500)
        assert [infoway_bar(c) for c in row["respList"]] == [
            (bars[m], turnover[m]) for m in sorted(bars, reverse=True)
        ]
        # The 24 h window is the recording's: all of it so far (it is shorter than a day).
        ticker = await asyncio.to_thread(dfx(server).fetch_ticker, "BTC/USDT")
        assert micros(ticker["baseVolume"]) == sum(t[2] for t in tape)
        assert (cents(ticker["high"]), cents(ticker["low"]), cents(ticker["last"])) == (
            max(t[1] for t in tape),
            min(t[1] for t in tape),
            tape[-1][1],
        )


def test_ccxt_candles_of_a_replayed_market_end_at_its_clock(tmp_path: Path, naive: NaiveBook) -> None:
    """DigiFinex's `/v3/kline` without a time range answers the last 100 periods: of a replayed
    market, those up to the recording's clock (not up to today's wall time, where it has none)."""
    with SandexServer(tmp_path, extra_args=REPLAY) as server:
        start = admin(server, "")["start_ms"]
        target = start + 200_000
        admin(server, "/seek", {"time": target})
        candles = dfx(server).fetch_ohlcv("BTC/USDT", "1m")
        bars = minute_bars(naive.trades, target)
        assert len(bars) == 4
        assert [
            (ms, cents(o), cents(h), cents(lo), cents(c), micros(v)) for ms, o, h, lo, c, v in candles
        ] == [bars[m] for m in sorted(bars)]
