"""Import once, reuse after; the stored bytes are deterministic; the format is told by content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.core.markets import make_market
from sandex.replay import BookUpdate, bundled, import_source, rich_progress
from sandex.replay.book import LevelBook
from sandex.replay.records import ASK, BID
from tests.replay.replay_support import MARKETS, SYMBOLS, depth, play, snapshot, trade, write

INCREMENTAL = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"


def small_capture(path: Path, size: str = "1") -> Path:
    return write(path, [snapshot(7, bids=[("99.00", "3")]), depth(1100, 8, 9, bids=[("100.00", size)])])


def test_a_second_import_reuses_the_stored_form(tmp_path: Path) -> None:
    source = small_capture(tmp_path / "a.gz")
    calls: list[tuple[int, int]] = []
    first = import_source(
        source,
        markets=MARKETS,
        symbols=SYMBOLS,
        data_dir=tmp_path / "data",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls and calls[-1] == (source.stat().st_size, source.stat().st_size)
    stored = first.path.stat()
    calls.clear()
    again = import_source(
        source,
        markets=MARKETS,
        symbols=SYMBOLS,
        data_dir=tmp_path / "data",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == []  # not read again
    assert again.path == first.path
    assert (again.path.stat().st_mtime_ns, again.path.stat().st_ino) == (stored.st_mtime_ns, stored.st_ino)
    assert list(again.records()) == list(first.records())


def test_a_changed_source_or_setting_is_imported_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = small_capture(tmp_path / "a.gz")
    first = import_source(source, markets=MARKETS, symbols=SYMBOLS, data_dir=data)
    small_capture(source, size="2")  # same name, other content
    changed = import_source(source, markets=MARKETS, symbols=SYMBOLS, data_dir=data)
    assert changed.path != first.path and changed.sha256 != first.sha256
    assert changed.book_at("BTC_USDT", 1100).bids[0] == (10000, 2_000000)
    other_market = {**MARKETS, "BTC_USDT": make_market("BTC_USDT", 2, 5)}
    rescaled = import_source(source, markets=other_market, symbols=SYMBOLS, data_dir=data)
    assert rescaled.path not in (first.path, changed.path)
    assert rescaled.book_at("BTC_USDT", 1100).bids[0] == (10000, 200000)


def test_a_corrupt_stored_form_is_imported_again(tmp_path: Path) -> None:
    source = small_capture(tmp_path / "a.gz")
    first = import_source(source, markets=MARKETS, symbols=SYMBOLS, data_dir=tmp_path / "data")
    first.path.write_bytes(first.path.read_bytes()[:50])
    again = import_source(source, markets=MARKETS, symbols=SYMBOLS, data_dir=tmp_path / "data")
    assert list(again.records()) == list(first.records())


def test_the_same_input_gives_the_same_stored_bytes(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "binance-spot-btcusdt_20240808.gz"
    copy.parent.mkdir()
    shutil.copyfile(bundled("btcusdt"), copy)
    one = import_source(bundled("btcusdt"), markets=MARKETS, symbols=SYMBOLS, data_dir=tmp_path / "one")
    two = import_source(copy, markets=MARKETS, symbols=SYMBOLS, data_dir=tmp_path / "two")
    assert one.path.name == two.path.name
    assert one.path.read_bytes() == two.path.read_bytes()


def test_the_format_is_told_by_content_not_by_name(tmp_path: Path) -> None:
    capture = small_capture(tmp_path / "trades.csv", size="1")  # a stream capture, plain, misnamed
    tardis = write(
        tmp_path / "capture.gz", [INCREMENTAL, "binance,BTCUSDT,1000,1000,true,bid,1.00,1"], compress=False
    )
    trades = write(tmp_path / "book.csv.gz", ["1,61837.63,0.02,1,1723161255342,True,True"])
    formats = [play([path], tmp_path / "data").sources[0].format for path in (capture, tardis, trades)]
    assert formats == ["binance-stream", "tardis", "binance-trades"]
    assert play([capture], tmp_path / "data", format="binance-stream").sources[0].format == "binance-stream"
    with pytest.raises(ValueError, match="format must be one of"):
        play([capture], tmp_path / "data", format="csv")


def test_an_unknown_market_in_the_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="maps BTCUSDT to BTC_EUR, which is not a market"):
        play([small_capture(tmp_path / "a.gz")], tmp_path / "data", symbols={"BTCUSDT": "BTC_EUR"})


def test_the_rich_progress_bar_reports_an_import(tmp_path: Path) -> None:
    with rich_progress() as progress:
        recording = play([small_capture(tmp_path / "a.gz")], tmp_path / "data", progress=progress)
    assert len(recording) == 2


updates = st.lists(
    st.tuples(
        st.integers(0, 30),  # ms after the previous message
        st.booleans(),  # a reset
        st.lists(st.tuples(st.sampled_from([BID, ASK]), st.integers(1, 12), st.integers(0, 3)), max_size=4),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(messages=updates, seek=st.integers(0, 2000))
def test_a_book_from_a_checkpoint_equals_the_book_replayed_from_the_start(
    tmp_path_factory: pytest.TempPathFactory,
    messages: list[tuple[int, bool, list[tuple[int, int, int]]]],
    seek: int,
) -> None:
    directory = tmp_path_factory.mktemp("seek")
    rows = [INCREMENTAL]
    time_ms = 1000
    rows.append(f"binance,BTCUSDT,{time_ms * 1000},{time_ms * 1000},true,bid,1.00,1")
    for number, (step, reset, levels) in enumerate(messages):
        time_ms += step
        for side, price, size in levels or [(BID, 1, 1)]:
            name = "bid" if side == BID else "ask"
            rows.append(
                f"binance,BTCUSDT,{time_ms * 1000},{number},{str(reset).lower()},{name},{price}.00,{size}"
            )
        rows.append(f"binance,BTCUSDT,{time_ms * 1000},{number}x,false,bid,50.00,1")  # keeps resets apart
    path = write(directory / "book.csv", rows)
    recording = play([path], directory / "data", rows_per_checkpoint=3, seconds_per_checkpoint=1)
    expected = LevelBook()
    bound = 1000 + seek
    for record in recording.records():
        if record.time_ms > bound:
            break
        assert isinstance(record, BookUpdate)
        if record.reset:
            expected.clear()
        for level in record.levels:
            expected.set(BID if level.side == "buy" else ASK, level.price, level.size)
    assert recording.book_at(bound)["BTC_USDT"] == expected.snapshot()


def test_trades_and_books_of_two_markets_stay_apart(tmp_path: Path) -> None:
    path = write(
        tmp_path / "two.gz",
        [trade(1000, 1, "100.00", "1", m=True), trade(1001, 2, "200.00", "1", m=False, s="ETHUSDT")],
    )
    recording = play([path], tmp_path / "data", symbols={"BTCUSDT": "BTC_USDT", "ETHUSDT": "ETH_USDT"})
    assert [(r.symbol, r.time_ms) for r in recording.records()] == [("BTC_USDT", 1000), ("ETH_USDT", 1001)]
    assert set(recording.book_at(2000)) == {"BTC_USDT", "ETH_USDT"}


def test_progress_is_reported_through_a_large_import(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    import_source(
        bundled("btcusdt"),
        markets=MARKETS,
        symbols=SYMBOLS,
        data_dir=tmp_path / "data",
        progress=lambda done, total: calls.append((done, total)),
    )
    size = bundled("btcusdt").stat().st_size
    assert len(calls) > 3
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert {total for _, total in calls} == {size}
    assert calls[-1] == (size, size)
