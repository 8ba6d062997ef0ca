"""Client orders filled by the recorded tape (risk_averse), on hand-made recordings whose queue
arithmetic is worked out by hand; and the queue model's functions alone."""

from __future__ import annotations

from pathlib import Path

from sandex.core.commands import CreateAccount, Deposit, PlaceOrder
from sandex.core.engine import Engine
from sandex.core.events import Event, OrderEvent, TradeEvent
from sandex.replay import Recording
from sandex.replay.commands import ReplayAdvance, ReplayLoad, ReplayQueueModel
from sandex.replay.plugin import ReplayPlugin
from sandex.replay.queue import clamp_to_depth, fill_at_price, prints_through, prob_on_depth
from tests.replay.replay_support import MARKETS, depth, play, snapshot, trade, write

WALL = 1_800_000_000_000
BTC = 1_000_000  # amount scale
USD = 100  # price scale


def test_queue_model_by_hand() -> None:
    assert fill_at_price(ahead=2 * BTC, remaining=BTC, traded=BTC) == (BTC, 0)
    assert fill_at_price(ahead=BTC, remaining=BTC // 2, traded=3 * BTC // 2) == (0, BTC // 2)
    assert fill_at_price(ahead=BTC, remaining=2 * BTC, traded=3 * BTC // 2) == (0, BTC // 2)
    assert clamp_to_depth(2 * BTC, BTC // 2) == BTC // 2
    assert clamp_to_depth(BTC // 2, 2 * BTC) == BTC // 2
    assert prints_through(True, 100 * USD, 9999) and not prints_through(True, 100 * USD, 100 * USD)
    assert prints_through(False, 101 * USD, 10101) and not prints_through(False, 101 * USD, 10099)


def recording(tmp_path: Path, *later: str) -> Recording:
    lines = [
        snapshot(10, bids=[("100.00", "2"), ("90.00", "1")], asks=[("101.00", "3")]),
        depth(1000, 10, 11, bids=[("100.00", "2")]),
        *later,
    ]
    return play([write(tmp_path / "tape.gz", lines)], tmp_path / "data")


class Venue:
    """An engine with the replay plugin and one funded client."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.engine = Engine([MARKETS["BTC_USDT"]], plugins=[ReplayPlugin(rec)])
        assert rec.start_ms is not None
        self.engine.apply(ReplayLoad(rec.digest, rec.start_ms, 1.0, "playing"), WALL)
        self.engine.apply(CreateAccount("alice", "k", "s"), WALL)
        self.client = self.engine.accounts[1]
        self.engine.apply(Deposit(self.client.wallets[0], "USDT", 10**6 * 10**18), WALL)

    def to(self, time_ms: int) -> list[Event]:
        return self.engine.apply(ReplayAdvance(list(self.rec.position_at(time_ms)), time_ms), WALL)

    def bid(self, price: int, amount: int) -> int:
        events = self.engine.apply(
            PlaceOrder(self.client.id, "BTC_USDT", "buy", price=price, amount=amount), WALL
        )
        (order,) = [e for e in events if isinstance(e, OrderEvent)]
        return order.order_id

    def filled(self, order_id: int) -> int:
        order = self.engine.orders.get(order_id)
        if order is not None:
            return order.filled
        return -1  # left the book (filled whole)


def client_trades(events: list[Event], account_id: int) -> list[tuple[int, int]]:
    return [
        (e.price, e.amount) for e in events if isinstance(e, TradeEvent) and e.maker_account_id == account_id
    ]


def test_a_bid_at_the_best_bid_fills_once_the_queue_ahead_has_traded(tmp_path: Path) -> None:
    rec = recording(
        tmp_path,
        trade(2000, 1, "100.00", "1", True),  # a sell of 1 at 100: 2 ahead -> 1 ahead
        trade(3000, 2, "100.00", "1.5", True),  # 1.5 more: 0.5 past the queue -> fills 0.5
    )
    venue = Venue(rec)
    venue.to(1000)
    near = venue.bid(100 * USD, BTC // 2)
    far = venue.bid(90 * USD, BTC)
    venue.to(2500)
    assert venue.filled(near) == 0  # not before the queue model allows
    events = venue.to(3500)
    assert client_trades(events, venue.client.id) == [(100 * USD, BTC // 2)]
    assert venue.filled(near) == -1
    assert venue.filled(far) == 0  # a far bid is untouched
    # The client got its base, less the maker fee; the recorded trades printed as recorded.
    recorded = [e for e in events if isinstance(e, TradeEvent) and e.maker_account_id == 0]
    assert [(e.price, e.amount) for e in recorded] == [(100 * USD, 3 * BTC // 2)]


def test_a_print_through_the_price_fills_the_whole_order(tmp_path: Path) -> None:
    rec = recording(tmp_path, trade(2000, 1, "99.99", "0.01", True))
    venue = Venue(rec)
    venue.to(1000)
    order = venue.bid(100 * USD, BTC)
    events = venue.to(2500)
    assert client_trades(events, venue.client.id) == [(100 * USD, BTC)]
    assert venue.filled(order) == -1
    assert venue.engine.ledger.free(venue.client.wallets[0], "BTC") > 0


def test_a_smaller_recorded_level_moves_the_order_up(tmp_path: Path) -> None:
    rec = recording(
        tmp_path,
        depth(1500, 12, 12, bids=[("100.00", "0.5")]),  # 2 ahead, the level now shows 0.5
        trade(2000, 1, "100.00", "0.75", True),  # 0.25 past the queue
    )
    venue = Venue(rec)
    venue.to(1000)
    order = venue.bid(100 * USD, BTC)
    events = venue.to(2500)
    assert client_trades(events, venue.client.id) == [(100 * USD, BTC // 4)]
    assert venue.filled(order) == BTC // 4


def test_prob_queue_model_by_hand() -> None:
    # 2 ahead, 1 behind, the level falls by 1: p = 1^3 / (1^3 + 2^3) = 1/9 of it behind.
    assert prob_on_depth(2 * BTC, 3 * BTC, 2 * BTC) == 2 * BTC - BTC * 8 // 9  # 1.111112
    # Equal parts ahead and behind: the decrease is split in half.
    assert prob_on_depth(BTC, 2 * BTC, BTC) == BTC // 2
    # Never more ahead than is displayed; an increase moves nothing.
    assert prob_on_depth(BTC, 3 * BTC // 2, 0) == 0
    assert prob_on_depth(BTC, BTC, 3 * BTC) == BTC


def prob_case(tmp_path: Path) -> Recording:
    return recording(
        tmp_path,
        depth(1500, 12, 12, bids=[("100.00", "4")]),  # 2 behind the order now
        depth(1600, 13, 13, bids=[("100.00", "3")]),  # a decrease of 1: prob takes 0.5 off ahead
        trade(2000, 1, "100.00", "1.75", True),
    )


def test_prob_moves_the_queue_by_decreases_where_risk_averse_does_not(tmp_path: Path) -> None:
    fills: dict[str, list[tuple[int, int]]] = {}
    for model in ("risk_averse", "prob"):
        (tmp_path / model).mkdir()
        venue = Venue(prob_case(tmp_path / model))
        venue.engine.apply(ReplayQueueModel(model), WALL)
        venue.to(1000)
        venue.bid(100 * USD, BTC)
        fills[model] = client_trades(venue.to(2500), venue.client.id)
    # risk_averse: 2 ahead - 1.75 traded = 0.25 still ahead. prob: 1.5 - 1.75: 0.25 filled.
    assert fills == {"risk_averse": [], "prob": [(100 * USD, BTC // 4)]}
