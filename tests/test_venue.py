"""The venue pipeline: journal first, apply in order, publish after durability, recover."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest

from sandex.config import parse_config
from sandex.core.commands import PlaceOrder
from sandex.core.events import OrderEvent, TradeEvent
from sandex.store.group_commit import JournalUnavailable
from sandex.venue import Venue
from tests.support.server import BASE_CONFIG, SandexServer

CONFIG = """
[server]
data_dir = "{data}"
[simulator]
enabled = false
[journal]
snapshot_every = {snap}
[[markets]]
symbol = "BTC_USDT"
price_precision = 2
amount_precision = 4
min_amount = "0.0001"
min_value = "1"
maker_fee = "0.001"
taker_fee = "0.001"
[[accounts]]
name = "alice"
api_key = "alice-key"
secret = "alice-secret"
balances = {{ USDT = "1000000", BTC = "10" }}
[[accounts]]
name = "bob"
api_key = "bob-key"
secret = "bob-secret"
balances = {{ USDT = "1000000", BTC = "10" }}
"""


def make_config(tmp_path: Path, snap: int = 100000, sync: str | None = None):
    text = CONFIG.format(data=tmp_path / "data", snap=snap)
    if sync:
        text = text.replace("[journal]", f'[journal]\nsync = "{sync}"')
    return parse_config(text)


async def burst(venue: Venue, n: int) -> list:
    alice = venue.engine.account_by_key["alice-key"].id
    bob = venue.engine.account_by_key["bob-key"].id
    futures = []
    for i in range(n):
        account, side = (alice, "sell") if i % 2 else (bob, "buy")
        futures.append(
            venue.submit(PlaceOrder(account, "BTC_USDT", side, price=100000 + (i % 7), amount=100 + i % 5))
        )
    return await asyncio.gather(*futures)


async def test_commands_apply_in_submit_order_and_publish_after_commit(tmp_path: Path) -> None:
    venue = Venue(make_config(tmp_path))
    published: list = []
    venue.listeners.append(lambda events, update: published.extend(events))
    await venue.open()
    results = await burst(venue, 500)
    order_ids = [
        next(
            e.order_id for e in r if isinstance(e, OrderEvent) and e.source == "api" and e.reason == "placed"
        )
        for r in results
    ]
    assert order_ids == sorted(order_ids)  # applied in the order submitted
    assert venue.committer is not None and venue.committer.batches < 500  # group commit batched
    assert any(isinstance(e, TradeEvent) for e in published)
    seqs = [e.seq for e in published]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    await venue.close()


async def test_only_clients_commands_count_as_in_flight(tmp_path: Path) -> None:
    # The market data pacing protects clients' acks; the simulated market's orders do not count.
    venue = Venue(make_config(tmp_path))
    await venue.open()
    alice = venue.engine.account_by_key["alice-key"].id
    assert not venue.has_client_commands_in_flight()
    internal = venue.submit(PlaceOrder(alice, "BTC_USDT", "buy", price=100000, amount=100), internal=True)
    assert not venue.has_client_commands_in_flight()
    client = venue.submit(PlaceOrder(alice, "BTC_USDT", "buy", price=100000, amount=100))
    assert venue.has_client_commands_in_flight()
    await asyncio.gather(internal, client)
    assert not venue.has_client_commands_in_flight()  # acknowledged: no longer in flight
    await venue.close()


async def test_each_client_command_reports_its_ack_time(tmp_path: Path) -> None:
    venue = Venue(make_config(tmp_path))
    acks: list[float] = []
    venue.on_ack = acks.append
    await venue.open()
    alice = venue.engine.account_by_key["alice-key"].id
    order = PlaceOrder(alice, "BTC_USDT", "buy", price=100000, amount=100)
    await asyncio.gather(
        *(venue.submit(order) for _ in range(3)), *(venue.submit(order, internal=True) for _ in range(2))
    )
    assert len(acks) == 3  # the clients' commands only
    assert all(0 < seconds < 5 for seconds in acks)
    await venue.close()


async def test_restart_recovers_identical_state_with_and_without_snapshot(tmp_path: Path) -> None:
    for snap in (100000, 37):
        data = tmp_path / f"snap{snap}"
        data.mkdir()
        venue = Venue(make_config(data, snap=snap))
        await venue.open()
        await burst(venue, 300)
        state = venue.engine.to_state()
        book = venue.marketdata.top("BTC_USDT", 30)
        trades = venue.accountdata.trades(venue.engine.account_by_key["alice-key"].id)
        await venue.close()

        again = Venue(make_config(data, snap=snap))
        await again.open()
        assert again.engine.to_state() == state
        assert again.marketdata.top("BTC_USDT", 30) == book
        assert again.accountdata.trades(again.engine.account_by_key["alice-key"].id) == trades
        await again.close()


async def test_disk_full_refuses_without_applying_then_resumes(tmp_path: Path) -> None:
    venue = Venue(make_config(tmp_path))
    await venue.open()
    assert venue.journal is not None and venue.committer is not None
    before = venue.engine.to_state()
    venue.journal.set_max_page_count(1)  # SQLite now answers SQLITE_FULL for new pages
    with pytest.raises(JournalUnavailable):
        await burst(venue, 2000)
    assert venue.order_entry_error is not None
    # Nothing of the refused commands reached the engine.
    assert venue.engine.to_state() == before
    venue.journal.set_max_page_count(None)
    for _ in range(100):
        if venue.order_entry_error is None:
            break
        await asyncio.sleep(0.1)
    assert venue.order_entry_error is None
    await burst(venue, 10)
    await venue.close()


async def test_in_memory_mode_applies_at_once(tmp_path: Path) -> None:
    venue = Venue(make_config(tmp_path, sync="off"))
    await venue.open()
    results = await burst(venue, 50)
    assert len(results) == 50 and venue.journal is None
    await venue.close()


async def test_crash_after_periodic_snapshots_recovers_views_consistently(tmp_path: Path) -> None:
    """Periodic snapshots must capture the engine and the views derived from its events at the
    same journal seq (a snapshot taken mid-batch once left account data behind the engine)."""
    venue = Venue(make_config(tmp_path, snap=37))
    await venue.open()
    for _ in range(4):
        await burst(venue, 150)
    if venue._snapshot_task is not None:
        await venue._snapshot_task
    assert venue.snapshots is not None and venue.snapshots.seqs()
    alice = venue.engine.account_by_key["alice-key"].id
    expected = (
        venue.engine.to_state(),
        venue.marketdata.top("BTC_USDT", 30),
        venue.accountdata.open_orders(alice),
        venue.accountdata.closed_orders(alice),
        venue.accountdata.trades(alice),
    )
    # Crash: no final snapshot, just let go of the files.
    assert venue.committer is not None and venue.journal is not None and venue.datadir is not None
    await venue.committer.close()
    venue.journal.close()
    venue.datadir.release()

    again = Venue(make_config(tmp_path, snap=37))
    await again.open()
    got = (
        again.engine.to_state(),
        again.marketdata.top("BTC_USDT", 30),
        again.accountdata.open_orders(alice),
        again.accountdata.closed_orders(alice),
        again.accountdata.trades(alice),
    )
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert sorted(o.order_id for o in got[2]) == sorted(o.order_id for o in expected[2])
    assert [o.order_id for o in got[3]] == [o.order_id for o in expected[3]]
    assert got[4] == expected[4]
    await again.close()


async def test_a_fill_charges_the_accounts_configured_fee(tmp_path: Path) -> None:
    """[[accounts]] maker_fee / taker_fee replace the market's rates for that account."""
    text = CONFIG.format(data=tmp_path / "data", snap=100000).replace(
        'secret = "alice-secret"\n', 'secret = "alice-secret"\nmaker_fee = "0.0005"\ntaker_fee = "0.003"\n'
    )
    config = parse_config(text)
    venue = Venue(config)
    await venue.open()
    alice = venue.engine.account_by_key["alice-key"].id
    bob = venue.engine.account_by_key["bob-key"].id
    assert venue.fee_rates(alice, "BTC_USDT") == ("0.0005", "0.003")
    assert venue.fee_rates(bob, "BTC_USDT") == ("0.001", "0.001")  # the market's
    await venue.execute(PlaceOrder(bob, "BTC_USDT", "sell", price=100000, amount=10000))  # 1 BTC at 1000
    events = await venue.execute(PlaceOrder(alice, "BTC_USDT", "buy", price=100000, amount=10000))
    (trade,) = [e for e in events if isinstance(e, TradeEvent)]
    one = 10**18
    assert trade.taker_fee == one * 3 // 1000  # alice's 0.3 % of the 1 BTC she received
    assert trade.maker_fee == 1000 * one // 1000  # bob's 0.1 % of the 1000 USDT he received
    await venue.execute(PlaceOrder(alice, "BTC_USDT", "sell", price=100000, amount=10000))
    events = await venue.execute(PlaceOrder(bob, "BTC_USDT", "buy", price=100000, amount=10000))
    (trade,) = [e for e in events if isinstance(e, TradeEvent)]
    assert trade.maker_fee == 1000 * one * 5 // 10000  # alice's 0.05 % as maker
    await venue.close()
    # Kept across a restart, and not journaled again when unchanged.
    venue = Venue(config)
    await venue.open()
    assert venue.fee_rates(alice, "BTC_USDT") == ("0.0005", "0.003")
    seq = venue.applied_seq
    await venue.close()
    venue = Venue(config)
    await venue.open()
    assert venue.applied_seq == seq
    await venue.close()


def test_ccxt_sees_the_accounts_own_fee_charged(tmp_path: Path) -> None:
    """End to end: alice's configured 0.3 % taker fee is what her fill costs, as ccxt reads it."""
    config = BASE_CONFIG.replace(
        'secret = "alice-secret"\n', 'secret = "alice-secret"\ntaker_fee = "0.003"\n'
    )
    with SandexServer(tmp_path, config) as server:
        traders = {}
        for name in ("alice", "bob"):
            exchange = ccxt.digifinex(
                {"apiKey": f"{name}-key", "secret": f"{name}-secret", "enableRateLimit": False}
            )
            exchange.urls["api"]["rest"] = server.base_url
            traders[name] = exchange
        traders["bob"].create_order("BTC/USDT", "limit", "sell", 0.1, 60000)
        traders["alice"].create_order("BTC/USDT", "limit", "buy", 0.1, 60000)
        (alice_trade,) = traders["alice"].fetch_my_trades("BTC/USDT")
        (bob_trade,) = traders["bob"].fetch_my_trades("BTC/USDT")
    assert (alice_trade["fee"]["currency"], Decimal(str(alice_trade["fee"]["cost"]))) == (
        "BTC",
        Decimal("0.0003"),
    )
    # Bob pays the market's maker rate (0.1 % of the 6000 USDT he received).
    assert (bob_trade["fee"]["currency"], Decimal(str(bob_trade["fee"]["cost"]))) == ("USDT", Decimal("6"))
