"""A client's taker order takes the replayed liquidity it crosses.

In an engine with the replay plugin (no server), on a hand-made recording whose arithmetic is
worked out by hand: the prices and amounts of each fill, fees, holds, the replay account's
balances, the consumed size until the recording next updates the level, queue places, snapshots
and determinism. Then end to end: a real `sandex serve --replay btcusdt` and ccxt over sockets,
against an independent reading of the bundled sample."""

from __future__ import annotations

import hashlib
import signal
import time
from decimal import Decimal
from pathlib import Path

import ccxt
import msgspec

from sandex.core.commands import CreateAccount, Deposit, PlaceOrder
from sandex.core.engine import Engine
from sandex.core.events import Event, OrderEvent, ReplayDepthEvent, TradeEvent
from sandex.marketdata.service import MarketData
from sandex.replay import Recording, bundled
from sandex.replay.commands import ReplayAdvance, ReplayLoad
from sandex.replay.plugin import ReplayPlugin
from tests.replay.replay_support import MARKETS, NaiveBook, admin, depth, play, snapshot, trade, write
from tests.replay.test_replay_e2e import exchange, scaled
from tests.support.server import SandexServer

WALL = 1_800_000_000_000
BTC = 1_000_000  # amount scale
USD = 100  # price scale
L_BTC = 10**12  # one amount unit in ledger scale (18 decimals)
L_VALUE = 10**10  # one price x amount unit in ledger scale
FEE = 1_000  # ppm: the test market's 0.1 %, maker and taker
MARKET = MARKETS["BTC_USDT"]


def recording(tmp_path: Path) -> Recording:
    lines = [
        snapshot(10, bids=[("100.00", "2"), ("90.00", "1")], asks=[("101.00", "3"), ("102.00", "1")]),
        depth(1000, 10, 11, asks=[("105.00", "2")]),
        depth(2000, 12, 12, asks=[("102.00", "4")]),  # the level at 102 only
        trade(2500, 1, "101.00", "0.5", False),  # a buy of 0.5 at 101: no depth change
        depth(3000, 13, 13, asks=[("101.00", "2.5")]),  # the level at 101 only
    ]
    return play([write(tmp_path / "tape.gz", lines)], tmp_path / "data")


class Venue:
    """An engine with the replay plugin (loaded, at 1000 ms) and funded clients; every event
    kept, and market data fed with them."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.plugin = ReplayPlugin(rec)
        self.engine = Engine([MARKET], plugins=[self.plugin])
        self.md = MarketData([MARKET])
        self.events: list[Event] = []
        assert rec.start_ms is not None
        self.apply(ReplayLoad(rec.digest, rec.start_ms, 1.0, "paused"))
        self.alice = self.client("alice")
        self.bob = self.client("bob")
        self.to(1000)

    def apply(self, command: object) -> list[Event]:
        events = self.engine.apply(command, WALL)  # type: ignore[arg-type]
        self.events += events
        self.md.apply(events)
        return events

    def client(self, name: str) -> int:
        self.apply(CreateAccount(name, f"{name}-key", "s"))
        account = next(a for a in self.engine.accounts.values() if a.name == name)
        self.apply(Deposit(account.wallets[0], "USDT", 10_000 * L_VALUE * USD * BTC))
        self.apply(Deposit(account.wallets[0], "BTC", 10 * BTC * L_BTC))
        return account.id

    def to(self, time_ms: int) -> list[Event]:
        return self.apply(ReplayAdvance(list(self.rec.position_at(time_ms)), time_ms))

    def place(self, account: int, side: str, **fields: object) -> list[Event]:
        return self.apply(PlaceOrder(account, "BTC_USDT", side, **fields))  # type: ignore[arg-type]

    def wallet(self, account: int) -> str:
        return self.engine.accounts[account].wallets[0]

    def balance(self, account: int, currency: str) -> tuple[int, int]:
        ledger = self.engine.ledger
        wallet = self.wallet(account)
        return ledger.free(wallet, currency), ledger.held(wallet, currency)

    @property
    def replay_account(self) -> int:
        return self.plugin.fills.account_id

    def replayed_asks(self) -> list[tuple[int, int]]:
        return sorted(self.plugin.fills.books["BTC_USDT"][1].items())

    def published_asks(self) -> list[tuple[int, int]]:
        return self.md.top("BTC_USDT", 20)[1]


def fills(events: list[Event], taker: int) -> list[tuple[int, int]]:
    return [(e.price, e.amount) for e in events if isinstance(e, TradeEvent) and e.taker_account_id == taker]


def depth_events(events: list[Event]) -> list[ReplayDepthEvent]:
    return [e for e in events if isinstance(e, ReplayDepthEvent)]


def taker_fee(amount: int) -> int:
    return amount * L_BTC * FEE // 1_000_000


def test_a_market_buy_takes_the_replayed_asks_best_first(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    assert venue.replayed_asks() == [(101 * USD, 3 * BTC), (102 * USD, BTC), (105 * USD, 2 * BTC)]
    before = venue.balance(venue.alice, "USDT")[0], venue.balance(venue.alice, "BTC")[0]
    cost = (101 * 3 + 102 // 2) * USD * BTC * L_VALUE  # 3 at 101 and 0.5 at 102: 354 USDT
    events = venue.place(venue.alice, "buy", kind="market", quote_amount=cost)
    assert fills(events, venue.alice) == [(101 * USD, 3 * BTC), (102 * USD, BTC // 2)]
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert all(t.maker_account_id == venue.replay_account and t.taker_side == "buy" for t in trades)
    assert [t.taker_fee for t in trades] == [taker_fee(3 * BTC), taker_fee(BTC // 2)]
    (order,) = [e for e in events if isinstance(e, OrderEvent) and e.account_id == venue.alice]
    assert (order.status, order.filled, order.filled_value) == ("filled", 7 * BTC // 2, cost // L_VALUE)
    # The client paid exactly the cost, received the base less the taker fee, holds nothing.
    assert venue.balance(venue.alice, "USDT") == (before[0] - cost, 0)
    assert venue.balance(venue.alice, "BTC") == (
        before[1] + 7 * BTC // 2 * L_BTC - taker_fee(7 * BTC // 2),
        0,
    )
    # The replay account was funded with exactly what it sold: no base left, nothing resting.
    assert venue.balance(venue.replay_account, "BTC") == (0, 0)
    assert venue.balance(venue.replay_account, "USDT") == (cost - cost * FEE // 1_000_000, 0)
    assert not venue.engine.orders
    # Consumed: the replayed sizes and the published depth show what is left.
    assert [(e.bids, e.asks) for e in depth_events(events)] == [([], [(101 * USD, 0), (102 * USD, BTC // 2)])]
    assert venue.replayed_asks() == [(102 * USD, BTC // 2), (105 * USD, 2 * BTC)]
    assert venue.published_asks() == venue.replayed_asks()


def test_consumed_liquidity_stays_consumed_until_the_recording_updates_its_level(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    venue.place(venue.alice, "buy", price=102 * USD, amount=7 * BTC // 2)  # 3 at 101, 0.5 at 102
    assert venue.published_asks() == [(102 * USD, BTC // 2), (105 * USD, 2 * BTC)]
    # A second taker sees what is left, not the recording's sizes.
    events = venue.place(venue.bob, "buy", price=105 * USD, amount=BTC)
    assert fills(events, venue.bob) == [(102 * USD, BTC // 2), (105 * USD, BTC // 2)]
    assert venue.published_asks() == [(105 * USD, 3 * BTC // 2)]
    venue.to(1500)  # no record of these levels: still consumed
    assert venue.published_asks() == [(105 * USD, 3 * BTC // 2)]
    venue.to(2000)  # the recording sets 102 again; 101 and 105 stay as taken
    assert venue.published_asks() == [(102 * USD, 4 * BTC), (105 * USD, 3 * BTC // 2)]
    venue.to(2600)  # a recorded trade at 101 changes no size
    assert venue.published_asks() == [(102 * USD, 4 * BTC), (105 * USD, 3 * BTC // 2)]
    venue.to(3000)
    assert venue.published_asks() == [
        (101 * USD, 5 * BTC // 2),
        (102 * USD, 4 * BTC),
        (105 * USD, 3 * BTC // 2),
    ]
    assert venue.replayed_asks() == venue.published_asks()


def test_a_crossing_limit_buy_takes_up_to_its_price_and_rests_the_rest(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    free = venue.balance(venue.alice, "USDT")[0]
    events = venue.place(venue.alice, "buy", price=102 * USD, amount=5 * BTC)
    assert fills(events, venue.alice) == [(101 * USD, 3 * BTC), (102 * USD, BTC)]
    (order,) = [e for e in events if isinstance(e, OrderEvent) and e.account_id == venue.alice]
    assert (order.status, order.filled, order.resting) == ("partial", 4 * BTC, BTC)
    # Paid 101 x 3 + 102 x 1 (the price improvement at 101 goes back), 102 x 1 still held.
    paid = (101 * 3 + 102) * USD * BTC * L_VALUE
    held = 102 * USD * BTC * L_VALUE
    assert venue.balance(venue.alice, "USDT") == (free - paid - held, held)
    # Both levels it crossed are gone; its rest is a bid at 102, above every replayed ask left.
    assert venue.replayed_asks() == [(105 * USD, 2 * BTC)]
    bids, asks = venue.md.top("BTC_USDT", 5)
    assert bids[0] == (102 * USD, BTC) and asks == [(105 * USD, 2 * BTC)]
    assert [o.account_id for o in venue.engine.orders.values()] == [venue.alice]


def test_a_limit_that_does_not_reach_the_replayed_asks_does_not_take(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    free = venue.balance(venue.alice, "USDT")[0]
    events = venue.place(venue.alice, "buy", price=10050, amount=BTC)
    assert fills(events, venue.alice) == [] and depth_events(events) == []
    assert venue.replayed_asks() == [(101 * USD, 3 * BTC), (102 * USD, BTC), (105 * USD, 2 * BTC)]
    assert venue.balance(venue.alice, "USDT") == (free - 10050 * BTC * L_VALUE, 10050 * BTC * L_VALUE)
    assert venue.plugin.fills.account_id == 0  # the replay's account was never needed


def test_a_post_only_order_crossing_the_replayed_book_is_cancelled_unfilled(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    asks = venue.replayed_asks()
    usdt = venue.balance(venue.alice, "USDT")
    events = venue.place(venue.alice, "buy", price=101 * USD, amount=BTC, tif="post_only")
    (order,) = [e for e in events if isinstance(e, OrderEvent)]
    assert (order.status, order.reason, order.filled) == ("cancelled", "post_only", 0)
    assert not fills(events, venue.alice) and not depth_events(events)
    assert venue.replayed_asks() == asks and venue.balance(venue.alice, "USDT") == usdt
    # Below the replayed asks it rests, as anywhere.
    events = venue.place(venue.alice, "buy", price=100 * USD, amount=BTC, tif="post_only")
    (order,) = [e for e in events if isinstance(e, OrderEvent)]
    assert (order.status, order.reason) == ("open", "placed")


def test_a_market_sell_takes_the_replayed_bids(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    free = venue.balance(venue.alice, "USDT")[0]
    events = venue.place(venue.alice, "sell", kind="market", amount=5 * BTC // 2)
    assert fills(events, venue.alice) == [(100 * USD, 2 * BTC), (90 * USD, BTC // 2)]
    value = (200 + 45) * USD * BTC * L_VALUE
    assert venue.balance(venue.alice, "USDT") == (free + value - value * FEE // 1_000_000, 0)
    assert venue.balance(venue.replay_account, "USDT") == (0, 0)  # funded with what it paid
    assert venue.md.top("BTC_USDT", 5)[0] == [(90 * USD, BTC // 2)]


def test_a_better_client_ask_fills_first_and_the_unused_offer_is_withdrawn(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    venue.place(venue.bob, "sell", price=10050, amount=BTC)
    events = venue.place(venue.alice, "buy", price=101 * USD, amount=BTC)
    assert fills(events, venue.alice) == [(10050, BTC)]
    offers = [e for e in events if isinstance(e, OrderEvent) and e.account_id == venue.replay_account]
    assert [(e.status, e.reason) for e in offers] == [("open", "placed"), ("cancelled", "cancelled")]
    assert depth_events(events) == []
    assert venue.balance(venue.replay_account, "BTC") == (0, 0)
    assert venue.replayed_asks()[0] == (101 * USD, 3 * BTC)
    assert not venue.engine.orders


def test_replayed_liquidity_comes_before_client_asks_at_its_price(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    venue.place(venue.bob, "sell", price=101 * USD, amount=BTC)
    venue.to(1200)  # the queue model places bob's ask behind the 3 replayed
    (bob_order,) = venue.engine.orders.values()
    assert venue.plugin.fills.ahead == {bob_order.id: 3 * BTC}
    events = venue.place(venue.alice, "buy", price=101 * USD, amount=2 * BTC)
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert [(t.maker_account_id, t.amount) for t in trades] == [(venue.replay_account, 2 * BTC)]
    assert venue.plugin.fills.ahead == {bob_order.id: BTC}  # 2 of the 3 ahead of it were taken
    assert venue.published_asks()[0] == (101 * USD, 2 * BTC)  # 1 replayed + bob's 1
    # A recorded buy of 0.5 at 101 (at 2500): 1 ahead, so bob is not filled; the level update at
    # 3000 shows 2.5 replayed, more than is ahead of bob: still 0.5 ahead.
    venue.to(3000)
    assert venue.plugin.fills.ahead == {bob_order.id: BTC // 2}
    # Taking past the replayed size reaches bob's ask.
    events = venue.place(venue.alice, "buy", price=101 * USD, amount=3 * BTC)
    trades = [e for e in events if isinstance(e, TradeEvent)]
    assert [(t.maker_account_id, t.amount) for t in trades] == [
        (venue.replay_account, 5 * BTC // 2),
        (venue.bob, BTC // 2),
    ]


def test_the_consumed_book_survives_a_snapshot(tmp_path: Path) -> None:
    venue = Venue(recording(tmp_path))
    venue.place(venue.alice, "buy", kind="market", quote_amount=202 * USD * BTC * L_VALUE)  # 2 at 101
    state = venue.engine.to_state()
    restored_plugin = ReplayPlugin(venue.rec)
    restored = Engine([MARKET], plugins=[restored_plugin])
    restored.from_state(state)
    assert sorted(restored_plugin.fills.books["BTC_USDT"][1].items())[0] == (101 * USD, BTC)
    md = MarketData.from_state(venue.md.to_state(), [MARKET])
    assert md.top("BTC_USDT", 1)[1] == [(101 * USD, BTC)]
    # The restored engine goes on as the running one does.
    at = list(venue.rec.position_at(3000))
    assert digest(restored.apply(ReplayAdvance(at, 3000), WALL)) == digest(venue.to(3000))


def digest(events: list[Event]) -> str:
    return hashlib.sha256(b"".join(msgspec.json.encode(e) for e in events)).hexdigest()


def session(tmp_path: Path, steps: list[int]) -> str:
    """Replay to 2000 in `steps`, take, replay to 3500: the event stream's digest."""
    venue = Venue(recording(tmp_path))
    for at in steps:
        venue.to(at)
    venue.place(venue.alice, "buy", kind="market", quote_amount=400 * USD * BTC * L_VALUE)
    venue.place(venue.bob, "sell", price=95 * USD, amount=3 * BTC)
    venue.to(3500)
    return digest(venue.events)


def test_the_same_commands_give_the_same_events_whatever_the_replay_steps(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    fine = session(tmp_path / "a", [1100, 1200, 1500, 1800, 2000])
    again = session(tmp_path / "b", [1100, 1200, 1500, 1800, 2000])
    coarse = session(tmp_path / "c", [2000])
    assert fine == again == coarse


# ---------------------------------------------------------------------- end to end, real sockets
def test_ccxt_buys_take_the_recorded_asks_and_the_book_shows_them_consumed(tmp_path: Path) -> None:
    """A real `sandex serve --replay btcusdt`, paused at a sought time: ccxt's limit buy fills at
    the recorded asks level by level (read independently from the raw file), a market buy by
    cost takes what is left, and ccxt's order book shows the levels reduced."""
    naive = NaiveBook(bundled("btcusdt"))
    with SandexServer(tmp_path, extra_args=("--replay", "btcusdt", "--paused")) as server:
        target = admin(server, "")["start_ms"] + 60_000
        admin(server, "/seek", {"time": target})
        asks = naive.book_at(target)[1]
        (p1, s1), (p2, s2) = asks[0], asks[1]
        take = s2 // 2
        assert take >= 100, "the second level is big enough to take part of it"
        alice = ccxt.digifinex({"apiKey": "alice-key", "secret": "alice-secret", "enableRateLimit": False})
        alice.urls["api"]["rest"] = server.base_url
        amount = Decimal(s1 + take) / 1_000_000
        placed = alice.create_order("BTC/USDT", "limit", "buy", float(amount), p2 / 100)
        order = alice.fetch_order(placed["id"], "BTC/USDT")
        assert (order["status"], Decimal(str(order["filled"]))) == ("closed", amount)
        mine = alice.fetch_my_trades("BTC/USDT")
        got = [
            (round(Decimal(str(t["price"])) * 100), round(Decimal(str(t["amount"])) * 1_000_000))
            for t in mine
        ]
        assert sorted(got) == [(p1, s1), (p2, take)]
        assert {t["takerOrMaker"] for t in mine} == {"taker"}
        consumed = [(p2, s2 - take), *asks[2:]]
        assert scaled(exchange(server).fetch_order_book("BTC/USDT", 20)["asks"]) == consumed[:20]
        # A market buy of 50 USDT: units at the best price left, as many as the budget buys.
        budget = 50 * 10**18
        expected: list[tuple[int, int]] = []
        for price, size in consumed:
            quantity = min(size, budget // (price * 10**10))
            if quantity:
                expected.append((price, quantity))
            budget -= quantity * price * 10**10
            if quantity < size:
                break
        before = {t["id"] for t in mine}
        alice.create_market_buy_order_with_cost("BTC/USDT", 50)
        new = [t for t in alice.fetch_my_trades("BTC/USDT") if t["id"] not in before]
        got = [
            (round(Decimal(str(t["price"])) * 100), round(Decimal(str(t["amount"])) * 1_000_000)) for t in new
        ]
        assert sorted(got) == expected
        after = {**dict(asks), p1: 0, p2: s2 - take}
        for price, quantity in expected:
            after[price] -= quantity
        left = [(p, s) for p, s in sorted(after.items()) if s]
        assert scaled(exchange(server).fetch_order_book("BTC/USDT", 20)["asks"]) == left[:20]
        # A crash (the journal replayed) and a clean restart (the snapshot) keep the consumed book.
        server.kill()
        server.start()
        assert scaled(exchange(server).fetch_order_book("BTC/USDT", 20)["asks"]) == left[:20]
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(20)
        server.start()
        assert scaled(exchange(server).fetch_order_book("BTC/USDT", 20)["asks"]) == left[:20]
        # Play on until the recording next updates the second level: every level the recording
        # updated meanwhile is the recording's again, the others stay consumed.
        updated_at = next(
            when
            for when, kind, (_, ask_levels) in naive.events  # type: ignore[misc]
            if when > target and any(round(Decimal(p) * 100) == p2 for p, _ in ask_levels)
        )
        admin(server, "/speed", {"speed": 10})
        admin(server, "/resume", {})
        deadline = time.monotonic() + 60
        while admin(server, "")["time_ms"] < updated_at and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped = admin(server, "/pause", {})["time_ms"]
        assert stopped >= updated_at
        touched: set[int] = set()
        for when, kind, (_, ask_levels) in naive.events:  # type: ignore[misc]
            if target < when <= stopped:
                assert kind == "diff"
                touched.update(round(Decimal(p) * 100) for p, _ in ask_levels)
        expected_asks = dict(naive.book_at(stopped)[1])
        for price, size in after.items():
            if price not in touched and size != dict(asks).get(price):
                if size:
                    expected_asks[price] = size
                else:
                    expected_asks.pop(price, None)
        assert p2 in touched
        book = exchange(server).fetch_order_book("BTC/USDT", 20)
        assert scaled(book["asks"]) == sorted(expected_asks.items())[:20]
