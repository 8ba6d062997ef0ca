"""Binance's book synchronisation on small hand-made captures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.replay import BookUpdate, Gap, ReplayImportError, Trade
from tests.replay.replay_support import book_ticker, depth, play, snapshot, trade, write


def levels(record: BookUpdate) -> list[tuple[str, int, int]]:
    return [(level.side, level.price, level.size) for level in record.levels]


def test_diffs_before_the_snapshot_are_buffered_and_the_first_applied_straddles_it(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.gz",
        [
            depth(1000, 1, 5, bids=[("100.00", "1")]),  # u <= lastUpdateId: dropped
            depth(1100, 6, 9, bids=[("101.00", "2")]),  # U <= 8 <= u: the first applied
            snapshot(7, bids=[("99.00", "3"), ("100.00", "4")], asks=[("110.00", "5")]),
            depth(1200, 10, 12, asks=[("110.00", "0"), ("111.00", "1.5")]),
        ],
    )
    recording = play([path], tmp_path / "data")
    records = list(recording.records())
    assert [type(r) for r in records] == [BookUpdate, BookUpdate, BookUpdate]
    reset, first, second = records
    assert isinstance(reset, BookUpdate) and isinstance(first, BookUpdate) and isinstance(second, BookUpdate)
    # The snapshot is stamped with the time of the diff that straddles it.
    assert (reset.reset, reset.time_ms) == (True, 1100)
    assert levels(reset) == [("buy", 9900, 3_000000), ("buy", 10000, 4_000000), ("sell", 11000, 5_000000)]
    assert (first.reset, first.time_ms, levels(first)) == (False, 1100, [("buy", 10100, 2_000000)])
    assert levels(second) == [("sell", 11000, 0), ("sell", 11100, 1_500000)]
    assert recording.sources[0].dropped_rows == 1
    assert recording.gaps == []

    assert recording.book_at(1099)["BTC_USDT"].bids == ()
    book = recording.book_at(1100)["BTC_USDT"]
    assert book.bids == ((10100, 2_000000), (10000, 4_000000), (9900, 3_000000))
    assert book.asks == ((11000, 5_000000),)
    assert recording.book_at(1200)["BTC_USDT"].asks == ((11100, 1_500000),)


def test_a_snapshot_before_any_diff_waits_for_the_straddling_diff(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.gz",
        [
            snapshot(7, bids=[("99.00", "3")]),
            depth(1000, 3, 7, bids=[("98.00", "1")]),  # all before the snapshot: dropped
            depth(1100, 8, 8, bids=[("97.00", "1")]),  # exactly lastUpdateId + 1
        ],
    )
    recording = play([path], tmp_path / "data")
    assert recording.book_at(1100)["BTC_USDT"].bids == ((9900, 3_000000), (9700, 1_000000))
    assert recording.sources[0].dropped_rows == 1


def test_a_gap_is_reported_and_the_book_resynchronised_from_the_next_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path / "a.gz",
        [
            snapshot(7, bids=[("99.00", "3")], asks=[("110.00", "1")]),
            depth(1100, 8, 9, bids=[("100.00", "1")]),
            depth(1200, 12, 13, bids=[("101.00", "1")]),  # 10 was due: a gap
            depth(1300, 14, 15, bids=[("102.00", "1")]),  # waits for a snapshot
            snapshot(14, bids=[("90.00", "7")], asks=[("120.00", "2")]),
            depth(1400, 16, 16, asks=[("121.00", "1")]),
        ],
    )
    recording = play([path], tmp_path / "data")
    assert recording.gaps == [Gap(symbol="BTC_USDT", line=3, time_ms=1200, expected=10, got=12)]
    assert f"{path}:3: BTC_USDT depth gap: update 12 arrived where 10 was due" in caplog.text
    before = recording.book_at(1100)["BTC_USDT"]
    assert before.bids == ((10000, 1_000000), (9900, 3_000000))
    # While out of sync the book stays as last known; the diffs after the gap are not applied.
    assert recording.book_at(1299)["BTC_USDT"] == before
    resynced = recording.book_at(1300)["BTC_USDT"]
    assert resynced.bids == ((10200, 1_000000), (9000, 7_000000))
    assert resynced.asks == ((12000, 2_000000),)
    assert recording.book_at(1400)["BTC_USDT"].asks == ((12000, 2_000000), (12100, 1_000000))
    resets = [r for r in recording.records() if isinstance(r, BookUpdate) and r.reset]
    assert [r.time_ms for r in resets] == [1100, 1300]


def test_a_snapshot_older_than_the_buffered_diffs_is_a_gap_and_the_next_one_syncs(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.gz",
        [
            depth(1000, 20, 22, bids=[("100.00", "1")]),
            snapshot(7, bids=[("99.00", "3")]),  # 8 is due, the diffs start at 20
            snapshot(21, bids=[("98.00", "3")]),
            depth(1100, 23, 23, bids=[("97.00", "1")]),
        ],
    )
    recording = play([path], tmp_path / "data")
    assert recording.gaps == [Gap(symbol="BTC_USDT", line=1, time_ms=1000, expected=8, got=20)]
    assert recording.book_at(1000)["BTC_USDT"].bids == ((10000, 1_000000), (9800, 3_000000))
    assert recording.book_at(1100)["BTC_USDT"].bids == ((10000, 1_000000), (9800, 3_000000), (9700, 1_000000))


def test_stale_diffs_and_snapshots_while_in_sync_change_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.gz",
        [
            snapshot(7, bids=[("99.00", "3")]),
            depth(1100, 8, 9, bids=[("100.00", "1")]),
            depth(1150, 8, 9, bids=[("100.00", "5")]),  # a repeat: u <= the last applied
            snapshot(5, bids=[("1.00", "1")]),  # in sync: the diffs carry the book
            depth(1200, 10, 10, bids=[("101.00", "1")]),
        ],
    )
    recording = play([path], tmp_path / "data")
    assert recording.gaps == []
    assert recording.book_at(1200)["BTC_USDT"].bids == (
        (10100, 1_000000),
        (10000, 1_000000),
        (9900, 3_000000),
    )


def test_a_file_continuing_the_previous_ones_last_update_continues_its_book(tmp_path: Path) -> None:
    first = write(
        tmp_path / "day1.gz",
        [snapshot(7, bids=[("99.00", "3")]), depth(1100, 8, 20, bids=[("100.00", "1")])],
    )
    second = write(tmp_path / "day2.gz", [depth(2000, 21, 25, asks=[("110.00", "2")]), depth(2100, 26, 26)])
    recording = play([first, second], tmp_path / "data")
    assert recording.gaps == []
    book = recording.book_at(2000)["BTC_USDT"]
    assert book.bids == ((10000, 1_000000), (9900, 3_000000))
    assert book.asks == ((11000, 2_000000),)
    assert recording.book_at(1500)["BTC_USDT"].asks == ()  # the first file's end
    assert [r.time_ms for r in recording.records()] == [1100, 1100, 2000, 2100]

    # Played alone, the second file has no snapshot: its diffs cannot be applied.
    alone = play([second], tmp_path / "data")
    assert alone.book_at(2100)["BTC_USDT"].asks == ()
    assert alone.sources[0].dropped_rows == 1


def test_a_file_that_does_not_continue_the_previous_one_reports_a_gap(tmp_path: Path) -> None:
    first = write(tmp_path / "day1.gz", [snapshot(7, bids=[("99.00", "3")]), depth(1100, 8, 20)])
    second = write(
        tmp_path / "day2.gz",
        [
            depth(2000, 30, 31, asks=[("110.00", "2")]),
            snapshot(31, asks=[("111.00", "1")]),
            depth(2100, 32, 32),
        ],
    )
    recording = play([first, second], tmp_path / "data")
    assert recording.gaps == [Gap(symbol="BTC_USDT", line=1, time_ms=2000, expected=21, got=30)]
    assert recording.book_at(2000)["BTC_USDT"].bids == ((9900, 3_000000),)  # frozen
    assert recording.book_at(2100)["BTC_USDT"].asks == ((11100, 1_000000),)  # resynchronised


def test_trades_carry_the_aggressor_and_book_tickers_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.gz",
        [
            book_ticker(3),
            trade(1500, 42, "61000.10", "0.25", m=True),
            trade(1400, 41, "61000.20", "0.5", m=False),
        ],
    )
    records = list(play([path], tmp_path / "data").records())
    assert records == [
        Trade("BTC_USDT", 1500, 1_500_000, 6100010, 250000, "sell", 42),
        # Stamped before its predecessor in the same stream: it keeps the file's order.
        Trade("BTC_USDT", 1500, 1_500_000, 6100020, 500000, "buy", 41),
    ]


def test_records_of_one_capture_are_merged_by_exchange_time(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.gz",
        [
            snapshot(7, bids=[("99.00", "3")]),
            trade(1150, 1, "99.00", "1", m=True),
            depth(1100, 8, 9, bids=[("100.00", "1")]),
            depth(1200, 10, 10),
            trade(1199, 2, "100.00", "1", m=True),
        ],
    )
    times = [r.time_ms for r in play([path], tmp_path / "data").records()]
    assert times == [1100, 1100, 1150, 1199, 1200]


def test_a_snapshot_in_a_file_with_two_markets_depth_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.gz",
        [snapshot(7, bids=[("99.00", "3")]), depth(1100, 8, 9), depth(1100, 3, 4, s="ETHUSDT")],
    )
    with pytest.raises(ReplayImportError) as caught:
        play([path], tmp_path / "data", symbols={"BTCUSDT": "BTC_USDT", "ETHUSDT": "ETH_USDT"})
    assert caught.value.line == 3
    assert "names no symbol" in str(caught.value)


def _stream(
    draw_steps: list[tuple[str, int, int]],
) -> tuple[list[str], list[tuple[str, int, int, dict[int, int]]]]:
    """Lines of a capture and the same events for the model: each diff sets one bid level."""
    lines: list[str] = []
    events: list[tuple[str, int, int, dict[int, int]]] = []
    next_id = 10
    time_ms = 1000
    for kind, a, b in draw_steps:
        time_ms += 10
        if kind == "diff":
            first = next_id + (a if b == 0 else 0)  # b == 0: a gap of `a` ids before it
            last = first + a % 3
            next_id = last + 1
            level = {last % 7 + 1: last % 3}
            lines.append(depth(time_ms, first, last, bids=[(f"{p}.00", str(s)) for p, s in level.items()]))
            events.append(("diff", first, last, level))
        else:
            lid = max(1, next_id - 1 - a % 4)  # a snapshot a little behind the stream
            levels = {p: 5 for p in range(1, 1 + b % 4)}
            lines.append(snapshot(lid, bids=[(f"{p}.00", str(s)) for p, s in levels.items()]))
            events.append(("snapshot", lid, 0, levels))
    return lines, events


def _model(events: list[tuple[str, int, int, dict[int, int]]]) -> tuple[dict[int, int], int]:
    """Binance's steps, written out from the documentation: the final book and the gap count."""
    book: dict[int, int] = {}
    last: int | None = None
    pending: tuple[int, dict[int, int]] | None = None
    buffer: list[tuple[int, int, dict[int, int]]] = []
    gaps = 0

    def step(first: int, final: int, level: dict[int, int]) -> None:
        nonlocal last, pending, gaps, book
        if last is None:
            if pending is None:
                buffer.append((first, final, level))
                return
            lid, levels = pending
            if final <= lid:
                return
            if first > lid + 1:
                gaps += 1
                pending = None
                buffer.append((first, final, level))
                return
            book = {p: s for p, s in levels.items() if s}
            last, pending = lid, None
        if final <= last:
            return
        if first > last + 1:
            gaps += 1
            last = None
            buffer.append((first, final, level))
            return
        for price, size in level.items():
            if size:
                book[price] = size
            else:
                book.pop(price, None)
        last = final

    for kind, a, b, levels in events:
        if kind == "snapshot":
            if last is None:
                pending = (a, levels)
                waiting = buffer[:]
                buffer.clear()
                for diff in waiting:
                    step(*diff)
        else:
            step(a, b, levels)
    return book, gaps


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["diff", "diff", "diff", "snapshot"]), st.integers(0, 5), st.integers(0, 6)
        ),
        max_size=40,
    )
)
def test_any_capture_gives_the_book_of_binances_documented_procedure(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int]]
) -> None:
    directory = tmp_path_factory.mktemp("sync")
    lines, events = _stream(steps)
    path = write(directory / "capture.gz", [*lines, trade(99_999, 1, "1.00", "1", m=True)])
    recording = play([path], directory / "data")
    book, gaps = _model(events)
    assert len(recording.gaps) == gaps
    got = recording.book_at(100_000)["BTC_USDT"]
    assert dict(got.bids) == {price * 100: size * 1_000000 for price, size in book.items()}
