"""Binance public-data trade files: trades and aggTrades, header or none, ms or µs."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from sandex.replay import ReplayImportError, Trade
from tests.replay.replay_support import play, write

EXPECTED = [
    Trade("BTC_USDT", 1723161255342, 1723161255342000, 6183763, 20000, "sell", 3735683259),
    Trade("BTC_USDT", 1723161255400, 1723161255400000, 6183764, 1_500000, "buy", 3735683260),
]


@pytest.mark.parametrize(
    "lines",
    [
        # spot trades, no header, ms
        [
            "3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True",
            "3735683260,61837.64000000,1.50000000,92756.46000000,1723161255400,False,True",
        ],
        # spot trades since 2025: µs
        [
            "3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342000,True,True",
            "3735683260,61837.64000000,1.50000000,92756.46000000,1723161255400000,False,True",
        ],
        # futures trades, with a header
        [
            "id,price,qty,quote_qty,time,is_buyer_maker",
            "3735683259,61837.63,0.02,1236.7526,1723161255342,true",
            "3735683260,61837.64,1.5,92756.46,1723161255400,false",
        ],
        # spot aggTrades, no header
        [
            "3735683259,61837.63000000,0.02000000,100,101,1723161255342,True,True",
            "3735683260,61837.64000000,1.50000000,102,102,1723161255400,False,True",
        ],
        # futures aggTrades, with a header, µs
        [
            "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
            "3735683259,61837.63,0.02,100,101,1723161255342000,true",
            "3735683260,61837.64,1.5,102,102,1723161255400000,false",
        ],
    ],
    ids=["trades", "trades-us", "trades-header", "aggtrades", "aggtrades-header-us"],
)
def test_every_layout_gives_the_same_trades(tmp_path: Path, lines: list[str]) -> None:
    path = write(tmp_path / "BTCUSDT-trades-2024-08-08.csv", lines)
    recording = play([path], tmp_path / "data")
    assert recording.sources[0].format == "binance-trades"
    assert list(recording.records()) == EXPECTED
    assert recording.book_at(1723161255400)["BTC_USDT"].bids == ()  # trades only: no recorded book


def test_a_zip_as_published_is_read(tmp_path: Path) -> None:
    archive = tmp_path / "BTCUSDT-aggTrades-2024-08-08.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(
            "BTCUSDT-aggTrades-2024-08-08.csv",
            "3735683259,61837.63,0.02,100,101,1723161255342,True,True\n"
            "3735683260,61837.64,1.5,102,102,1723161255400,False,True\n",
        )
    assert list(play([archive], tmp_path / "data").records()) == EXPECTED


def test_the_symbol_comes_from_the_file_name_when_several_are_mapped(tmp_path: Path) -> None:
    lines = ["1,3000.10,0.5,1500.05,1723161255342,True,True"]
    symbols = {"BTCUSDT": "BTC_USDT", "ETHUSDT": "ETH_USDT"}
    eth = play([write(tmp_path / "ETHUSDT-trades-2024-08-08.csv", lines)], tmp_path / "data", symbols=symbols)
    assert [r.symbol for r in eth.records()] == ["ETH_USDT"]
    with pytest.raises(
        ReplayImportError, match=r"names no symbol.*'trades.csv.x', not one of BTCUSDT, ETHUSDT"
    ):
        play([write(tmp_path / "trades.csv.x", lines)], tmp_path / "data", symbols=symbols)
