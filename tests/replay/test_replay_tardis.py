"""Tardis.dev CSV datasets: incremental_book_L2, trades, book_snapshot_N, merged by time."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandex.replay import BookUpdate, RecordingError, Trade
from tests.replay.replay_support import play, write

INCREMENTAL = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"


def snapshot_header(depth: int) -> str:
    columns = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for level in range(depth):
        columns += [
            f"asks[{level}].price",
            f"asks[{level}].amount",
            f"bids[{level}].price",
            f"bids[{level}].amount",
        ]
    return ",".join(columns)


def book_file(path: Path) -> Path:
    return write(
        path,
        [
            INCREMENTAL,
            "binance,BTCUSDT,1000000,1000100,false,bid,98.00,1",  # before the first snapshot: skipped
            "binance,BTCUSDT,1000000,1000200,true,bid,99.00,3",
            "binance,BTCUSDT,1000000,1000200,true,ask,110.00,5",
            "binance,BTCUSDT,1000000,1000200,true,bid,100.00,4",
            "binance,BTCUSDT,1500500,1500900,false,bid,100.00,0",
            "binance,BTCUSDT,1500500,1500900,false,ask,111.00,1.5",
            "binance,BTCUSDT,1600000,1600100,false,ask,110.00,2",
            "binance,BTCUSDT,2000000,2000100,true,bid,90.00,1",  # a new snapshot: the book resets
            "binance,BTCUSDT,2000000,2000100,true,ask,95.00,1",
            "binance,BTCUSDT,2100000,2100100,false,bid,91.00,2",
        ],
    )


@pytest.mark.parametrize("name", ["book.csv", "book.csv.gz"])
def test_incremental_book_l2_groups_messages_and_snapshots_reset(tmp_path: Path, name: str) -> None:
    recording = play([book_file(tmp_path / name)], tmp_path / "data")
    records = list(recording.records())
    assert all(isinstance(r, BookUpdate) for r in records)
    shape = [(r.time_us, r.reset, len(r.levels)) for r in records if isinstance(r, BookUpdate)]
    assert shape == [
        (1000000, True, 3),
        (1500500, False, 2),
        (1600000, False, 1),
        (2000000, True, 2),
        (2100000, False, 1),
    ]
    assert recording.sources[0].dropped_rows == 1
    assert recording.book_at(999)["BTC_USDT"].bids == ()
    assert recording.book_at(1000)["BTC_USDT"].bids == ((10000, 4_000000), (9900, 3_000000))
    book = recording.book_at(1600)["BTC_USDT"]
    assert book.bids == ((9900, 3_000000),)
    assert book.asks == ((11000, 2_000000), (11100, 1_500000))
    book = recording.book_at(2100)["BTC_USDT"]
    assert book.bids == ((9100, 2_000000), (9000, 1_000000))
    assert book.asks == ((9500, 1_000000),)


def test_trades_map_the_taker_side_and_keep_numeric_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path / "trades.csv.gz",
        [
            TRADES,
            "binance,BTCUSDT,1000123,1000200,17,buy,100.5,0.25",
            "binance,BTCUSDT,1000124,1000200,abc-1,sell,100.4,1",
            "binance,BTCUSDT,1000125,1000200,,unknown,100.4,2",
        ],
    )
    assert list(play([path], tmp_path / "data").records()) == [
        Trade("BTC_USDT", 1000, 1000123, 10050, 250000, "buy", 17),
        Trade("BTC_USDT", 1000, 1000124, 10040, 1_000000, "sell", 0),
        Trade("BTC_USDT", 1000, 1000125, 10040, 2_000000, None, 0),
    ]


def test_book_snapshot_rows_are_resets_of_their_levels(tmp_path: Path) -> None:
    path = write(
        tmp_path / "snap.csv",
        [
            snapshot_header(3),
            "binance,BTCUSDT,1000000,1000100,110.00,1,100.00,2,111.00,3,99.00,4,,,,",
            "binance,BTCUSDT,2000000,2000100,112.00,1,101.00,2,,,,,,,,",
            "binance,BTCUSDT,3000000,3000100,,,,,,,,,,,,",  # an empty book
        ],
    )
    recording = play([path], tmp_path / "data")
    first = recording.book_at(1000)["BTC_USDT"]
    assert first.bids == ((10000, 2_000000), (9900, 4_000000))
    assert first.asks == ((11000, 1_000000), (11100, 3_000000))
    second = recording.book_at(2000)["BTC_USDT"]
    assert (second.bids, second.asks) == (((10100, 2_000000),), ((11200, 1_000000),))
    assert all(isinstance(r, BookUpdate) and r.reset for r in recording.records())
    assert [len(r.levels) for r in recording.records() if isinstance(r, BookUpdate)] == [4, 2, 0]
    empty = recording.book_at(3000)["BTC_USDT"]
    assert (empty.bids, empty.asks) == ((), ())


def test_files_of_several_data_types_are_merged_by_exchange_time(tmp_path: Path) -> None:
    book = book_file(tmp_path / "book.csv.gz")
    trades = write(
        tmp_path / "trades.csv.gz",
        [
            TRADES,
            "binance,BTCUSDT,999999,1000200,1,buy,110.00,1",
            "binance,BTCUSDT,1500400,1500401,2,sell,100.00,1",
            "binance,BTCUSDT,1500600,1500601,3,sell,99.00,1",
            "binance,BTCUSDT,2100000,2100001,4,buy,95.00,1",
        ],
    )
    recording = play([trades, book], tmp_path / "data")
    kinds = [(r.time_us, type(r).__name__) for r in recording.records()]
    assert kinds == [
        (999999, "Trade"),
        (1000000, "BookUpdate"),
        (1500400, "Trade"),
        (1500500, "BookUpdate"),
        (1500600, "Trade"),
        (1600000, "BookUpdate"),
        (2000000, "BookUpdate"),
        (2100000, "Trade"),  # ties: the earlier file in the list first
        (2100000, "BookUpdate"),
    ]
    # The trades file has no book: the book comes from the book file alone.
    assert recording.book_at(1600) == play([book], tmp_path / "data").book_at(1600)
    assert [t.trade_id for t in recording.trades(after_ms=1000, until_ms=2000)] == [2, 3]


def test_two_files_holding_one_markets_book_at_once_are_refused(tmp_path: Path) -> None:
    book = book_file(tmp_path / "book.csv")
    again = book_file(tmp_path / "again.csv")
    with pytest.raises(RecordingError, match=r"book\.csv and again\.csv both hold BTC_USDT's book"):
        play([book, again], tmp_path / "data")


def test_consecutive_day_files_follow_each_other(tmp_path: Path) -> None:
    day1 = book_file(tmp_path / "day1.csv")
    day2 = write(
        tmp_path / "day2.csv",
        [
            INCREMENTAL,
            "binance,BTCUSDT,3000000,3000100,true,bid,80.00,1",
            "binance,BTCUSDT,3000000,3000100,true,ask,81.00,1",
        ],
    )
    recording = play([day1, day2], tmp_path / "data")
    assert recording.book_at(2999)["BTC_USDT"].bids == ((9100, 2_000000), (9000, 1_000000))
    assert recording.book_at(3000)["BTC_USDT"].bids == ((8000, 1_000000),)


def test_a_book_stamped_backwards_keeps_the_files_order(tmp_path: Path) -> None:
    path = write(
        tmp_path / "book.csv",
        [
            INCREMENTAL,
            "binance,BTCUSDT,1000000,1000000,true,bid,99.00,3",
            "binance,BTCUSDT,1200000,1200100,false,bid,99.00,1",
            "binance,BTCUSDT,1100000,1200200,false,bid,99.00,2",  # stamped before its predecessor
        ],
    )
    recording = play([path], tmp_path / "data")
    assert [r.time_us for r in recording.records()] == [1000000, 1200000, 1200000]
    assert recording.book_at(1200)["BTC_USDT"].bids == ((9900, 2_000000),)  # the file's last word


def test_interleaved_markets_keep_their_own_snapshots_and_messages(tmp_path: Path) -> None:
    path = write(
        tmp_path / "two.csv.gz",
        [
            INCREMENTAL,
            "binance,BTCUSDT,1000000,1000000,true,bid,99.00,3",
            "binance,ETHUSDT,1000000,1000001,true,bid,9.00,3",
            "binance,BTCUSDT,1000000,1000002,true,ask,100.00,1",  # still BTCUSDT's snapshot
            "binance,ETHUSDT,1000500,1000600,false,ask,10.00,1",
            "binance,BTCUSDT,1000700,1000800,false,bid,98.00,1",
        ],
    )
    recording = play([path], tmp_path / "data", symbols={"BTCUSDT": "BTC_USDT", "ETHUSDT": "ETH_USDT"})
    books = recording.book_at(1000)
    assert (books["BTC_USDT"].bids, books["BTC_USDT"].asks) == (
        ((9900, 3_000000), (9800, 1_000000)),
        ((10000, 1_000000),),
    )
    assert (books["ETH_USDT"].bids, books["ETH_USDT"].asks) == (((900, 30000),), ((1000, 10000),))
    resets = [(r.symbol, len(r.levels)) for r in recording.records() if isinstance(r, BookUpdate) and r.reset]
    assert sorted(resets) == [("BTC_USDT", 2), ("ETH_USDT", 1)]
