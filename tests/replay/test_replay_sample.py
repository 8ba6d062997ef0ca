"""The shipped BTCUSDT sample: imported, and its books equal an independent reading of the file."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from sandex.replay import ASK, BID, BUNDLED, BookUpdate, Recording, Trade, bundled, resolve
from tests.replay.replay_support import NaiveBook, play


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return play([bundled("btcusdt")], tmp_path_factory.mktemp("data"), rows_per_checkpoint=20_000)


@pytest.fixture(scope="module")
def naive() -> NaiveBook:
    return NaiveBook(bundled("btcusdt"))


def test_the_sample_ships_with_its_licence_and_a_default_mapping() -> None:
    path = bundled("btcusdt")
    assert path.is_file() and path.stat().st_size > 1_000_000
    licence = (path.parent / BUNDLED["btcusdt"].licence).read_text()
    assert "MIT License" in licence and "nkaz001" in licence
    assert BUNDLED["btcusdt"].symbols == {"BTCUSDT": "BTC_USDT"}


def test_the_sample_is_package_data_and_tracked_by_git() -> None:
    """A plain `pip install` ships it only if pyproject's package-data names it, and a clone has it
    only if no .gitignore rule hides it (every `data/` directory is ignored)."""
    root = Path(__file__).resolve().parents[2]
    package = root / "src" / "sandex" / "replay"
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "sandex.replay"
    ]
    shipped = {path for pattern in globs for path in package.glob(pattern)}
    entry = BUNDLED["btcusdt"]
    assert {bundled("btcusdt"), bundled("btcusdt").parent / entry.licence} <= shipped
    if (root / ".git").exists() and shutil.which("git"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(bundled("btcusdt"))], cwd=root, check=False
        ).returncode
        assert ignored == 1, "the bundled sample is hidden by a .gitignore rule"


def test_a_bundled_name_or_an_existing_file_resolves(tmp_path: Path) -> None:
    assert resolve("btcusdt") == resolve("btcusdt_20240808.gz") == resolve("BTCUSDT") == bundled("btcusdt")
    own = tmp_path / "btcusdt_20240808.gz"
    own.write_bytes(b"")
    assert resolve("btcusdt_20240808.gz", base=tmp_path) == own  # a file of that name wins
    with pytest.raises(FileNotFoundError, match=r"no recording 'nothing\.gz'"):
        resolve("nothing.gz", base=tmp_path)


def test_the_sample_imports_whole_and_in_time_order(sample: Recording, naive: NaiveBook) -> None:
    records = list(sample.records())
    times = [record.time_us for record in records]
    assert times == sorted(times)
    assert sample.gaps == []
    assert sample.sources[0].format == "binance-stream"
    trades = [r for r in records if isinstance(r, Trade)]
    assert [(t.time_ms, t.price, t.amount, t.side, t.trade_id) for t in trades] == naive.trades
    updates = [r for r in records if isinstance(r, BookUpdate)]
    assert len(updates) == len(naive.events)
    assert sum(len(u.levels) for u in updates) == sample.sources[0].rows - len(trades)
    assert len(sample.sources[0].stored.checkpoints) > 3  # so seeks below start from several


def test_the_books_at_several_times_equal_an_independent_reading(sample: Recording, naive: NaiveBook) -> None:
    assert sample.start_ms is not None and sample.end_ms is not None
    first_book = naive.events[0][0]
    times = [first_book - 1, first_book, *range(sample.start_ms, sample.end_ms + 1, 23_456), sample.end_ms]
    for time_ms in times:
        bids, asks = naive.book_at(time_ms)
        book = sample.book_at(time_ms)["BTC_USDT"]
        assert list(book.bids) == bids, time_ms
        assert list(book.asks) == asks, time_ms
    assert len(sample.book_at(sample.end_ms)["BTC_USDT"].bids) > 500


def test_a_seek_position_resumes_just_after_the_time(sample: Recording) -> None:
    assert sample.start_ms is not None
    time_ms = sample.start_ms + 100_000
    position = sample.position_at(time_ms)
    after = list(sample.records(position))
    before = list(sample.records())[: len(sample) - len(after)]
    assert all(record.time_ms <= time_ms for record in before)
    assert all(record.time_ms > time_ms for record in after)
    trades = list(sample.trades(after_ms=time_ms - 5_000, until_ms=time_ms))
    assert trades and all(time_ms - 5_000 < t.time_ms <= time_ms for t in trades)
    assert trades == [r for r in before if isinstance(r, Trade) and r.time_ms > time_ms - 5_000]


def test_a_book_rebuilt_at_a_seek_and_played_on_equals_the_recorded_book(sample: Recording) -> None:
    assert sample.start_ms is not None
    sought = sample.start_ms + 77_777
    later = sought + 150_000
    books = sample.level_books_at(sought)
    for record in sample.records(sample.position_at(sought)):
        if record.time_ms > later:
            break
        if isinstance(record, BookUpdate):
            book = books[record.symbol]
            if record.reset:
                book.clear()
            for level in record.levels:
                book.set(BID if level.side == "buy" else ASK, level.price, level.size)
    assert books["BTC_USDT"].snapshot() == sample.book_at(later)["BTC_USDT"]
