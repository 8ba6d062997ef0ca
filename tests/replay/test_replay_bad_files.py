"""A malformed record stops the import with the file and line, and nothing of the file is stored."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandex.core.markets import make_market
from sandex.core.numbers import NumberError, parse_scaled
from sandex.replay import ReplayImportError
from sandex.replay.errors import RecordError
from sandex.replay.scaling import INT64_MAX, scale_size
from tests.replay.replay_support import depth, play, snapshot, trade, write

INCREMENTAL = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
GOOD_DEPTH = depth(1100, 8, 9, bids=[("100.00", "1")])


def refused(path: Path, data_dir: Path, line: int, *words: str) -> ReplayImportError:
    with pytest.raises(ReplayImportError) as caught:
        play([path], data_dir)
    error = caught.value
    assert (error.path, error.line) == (path, line)
    assert str(error).startswith(f"{path}:{line}: ")
    for word in words:
        assert word in str(error)
    assert not list(data_dir.glob("*.replay")) if data_dir.exists() else True  # nothing stored
    return error


def test_a_truncated_gzip_names_the_line_where_the_data_stops(tmp_path: Path) -> None:
    lines = [snapshot(7, bids=[("99.00", "3")])] + [
        depth(1000 + i, 8 + i, 8 + i, bids=[("100.00", "1")]) for i in range(3000)
    ]
    whole = gzip.compress("".join(f"{line}\n" for line in lines).encode())
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    error = refused(path, tmp_path / "data", _lines_readable(path) + 1, "truncated")
    assert 1 < error.line < 3001


def _lines_readable(path: Path) -> int:
    count = 0
    try:
        with gzip.open(path) as file:
            for _ in file:
                count += 1
    except EOFError:
        pass
    return count


def test_a_corrupt_gzip_is_refused(tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(f"{GOOD_DEPTH}\n".encode() * 10))
    whole[-8] ^= 0xFF  # the CRC
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(whole))
    refused(path, tmp_path / "data", 11, "corrupt")


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ('1 {"stream": "btcusdt@depth@100ms", "data": {"E": 1', ["JSON"]),
        (depth(1200, 10, 10, bids=[("100.00", "-1")]), ["'-1' is negative"]),
        (depth(1200, 10, 10, asks=[("100.001", "1")]), ["price '100.001'", "BTC_USDT", "2 decimal places"]),
        (depth(1200, 10, 10, asks=[("100.00", "0.0000001")]), ["size '0.0000001'", "6 decimal places"]),
        (depth(1200, 10, 10, asks=[("0.00", "1")]), ["price '0.00' is not positive"]),
        (depth(1200, 10, 10, asks=[("1e5", "1")]), ["not a decimal number"]),
        (depth(1200, 10, 10, asks=[("99999999999999999999.00", "1")]), ["too large"]),
        (trade(1200, 1, "100.00", "1", m=True, s="ETHUSDT"), ["'ETHUSDT' is not mapped"]),
        (
            '1 {"stream": "btcusdt@depth@100ms", "data": {"E": 1, "s": "BTCUSDT", "U": 1, "b": [], "a": []}}',
            ["`u`"],
        ),
        (
            '1 {"stream": "btcusdt@trade", "data": {"s": "BTCUSDT", "t": 1, "p": 100.5, "q": "1", "T": 1, "m": true}}',
            ["str"],
        ),
        ('{"stream": "btcusdt@trade"}', ["<local_ns> <json>"]),
        (depth(1200, 12, 10), ["U 12 is after u 10"]),
        (trade(1200, 2**63, "100.00", "1", m=True), ["trade id", "out of range"]),
        (trade(2**62, 1, "100.00", "1", m=True), ["out of range"]),
        ("5" + trade(-5, 1, "100.00", "1", m=True).lstrip("-0123456789"), ["out of range"]),
    ],
    ids=[
        "bad-json",
        "negative-size",
        "price-off-tick",
        "size-off-precision",
        "zero-price",
        "exponent",
        "too-large",
        "unmapped-symbol",
        "missing-field",
        "float-price",
        "no-local-time",
        "inverted-ids",
        "huge-trade-id",
        "huge-time",
        "negative-time",
    ],
)
def test_a_bad_binance_record_is_refused_with_its_line(tmp_path: Path, bad: str, words: list[str]) -> None:
    path = write(tmp_path / "bad.gz", [snapshot(7, bids=[("99.00", "3")]), GOOD_DEPTH, bad, GOOD_DEPTH])
    refused(path, tmp_path / "data", 3, *words)


def test_a_bad_level_in_a_snapshot_names_the_snapshots_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.gz", [snapshot(7, bids=[("99.001", "3")]), GOOD_DEPTH])
    refused(path, tmp_path / "data", 1, "price '99.001'")


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("binance,BTCUSDT,1000,1000,false,bid,100.00,-2", ["'-2' is negative"]),
        ("binance,BTCUSDT,1000,1000,false,bid,100.005,2", ["price '100.005'"]),
        ("binance,ETHUSDT,1000,1000,false,bid,100.00,2", ["'ETHUSDT' is not mapped"]),
        ("binance,BTCUSDT,1000,1000,false,bid,100.00", ["7 columns where the header has 8"]),
        ("binance,BTCUSDT,1000,1000,maybe,bid,100.00,2", ["is_snapshot 'maybe'"]),
        ("binance,BTCUSDT,1000,1000,false,buy,100.00,2", ["side 'buy'"]),
        ("binance,BTCUSDT,10.5,1000,false,bid,100.00,2", ["timestamp '10.5'"]),
    ],
    ids=[
        "negative-amount",
        "price-off-tick",
        "unmapped-symbol",
        "missing-field",
        "bad-boolean",
        "bad-side",
        "bad-time",
    ],
)
def test_a_bad_tardis_row_is_refused_with_its_line(tmp_path: Path, bad: str, words: list[str]) -> None:
    good = "binance,BTCUSDT,1000,1000,true,bid,100.00,2"
    path = write(tmp_path / "bad.csv.gz", [INCREMENTAL, good, bad, good])
    refused(path, tmp_path / "data", 3, *words)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("2,61837.63,-0.02,1,1723161255342,True,True", ["'-0.02' is negative"]),
        ("2,61837.631,0.02,1,1723161255342,True,True", ["price '61837.631'"]),
        ("2,61837.63,0.02,1723161255342,True", ["not a Binance trades or aggTrades row"]),
        ("2,61837.63,0,1,1723161255342,True,True", ["amount '0' is zero"]),
    ],
    ids=["negative-size", "price-off-tick", "missing-field", "zero-amount"],
)
def test_a_bad_binance_trades_row_is_refused_with_its_line(
    tmp_path: Path, bad: str, words: list[str]
) -> None:
    good = "1,61837.63,0.02,1,1723161255342,True,True"
    path = write(tmp_path / "BTCUSDT-trades-2024-08-08.csv", [good, good, bad])
    refused(path, tmp_path / "data", 3, *words)


def test_a_bad_file_after_a_good_one_stores_only_the_good_one(tmp_path: Path) -> None:
    good = write(tmp_path / "good.gz", [snapshot(7, bids=[("99.00", "3")]), GOOD_DEPTH])
    bad = write(tmp_path / "bad.gz", [depth(1200, 10, 10, bids=[("1", "-1")])])
    with pytest.raises(ReplayImportError, match=r"bad\.gz:1: "):
        play([good, bad], tmp_path / "data")
    assert [p.name.split(".")[0] for p in (tmp_path / "data").glob("*.replay")] == ["good"]
    assert not list((tmp_path / "data").glob(".*tmp"))


def test_a_file_of_no_known_format_is_refused(tmp_path: Path) -> None:
    refused(write(tmp_path / "x.csv", ["", "hello,world"]), tmp_path / "data", 2, "cannot tell the format")
    refused(write(tmp_path / "empty.gz", []), tmp_path / "data", 1, "empty file")
    quotes = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
    refused(write(tmp_path / "quotes.csv", [quotes]), tmp_path / "data", 1, "a Tardis CSV of a data type")


@settings(max_examples=500, deadline=None)
@given(
    text=st.one_of(
        st.from_regex(r"\A[0-9]{0,45}(\.[0-9]{0,12})?\Z"),
        st.text(alphabet="0123456789.-+e １٣ ", max_size=12),
    ),
    decimals=st.integers(0, 9),
)
def test_the_fast_reading_of_decimals_agrees_with_parse_scaled(text: str, decimals: int) -> None:
    try:
        expected: int | str = parse_scaled(text, decimals)
    except NumberError as error:
        expected = error.kind
    try:
        got: int | str = scale_size(text, MARKET_OF[decimals])
    except RecordError as error:
        got = str(error)
    if isinstance(expected, int) and expected <= INT64_MAX:
        assert got == expected
    else:
        assert isinstance(got, str)  # refused, as parse_scaled refuses it (or it overflows int64)


MARKET_OF = {decimals: make_market("X_Y", 0, decimals) for decimals in range(10)}
