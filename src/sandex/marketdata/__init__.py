"""Market data derived from the engine's events: books, depth diffs, trades, tickers, klines.

Nothing here reads engine internals or the wall clock: the same events give the same answers.
"""

from .book import BookView, Level, Top
from .depth import DepthDiff, DepthDiffError, DepthView, apply_diff, depth_diff
from .klines import INTERVALS, Bar, Klines, KlineSeries, bar_end, bar_start
from .service import MarketData, MarketDataUpdate, UnknownSymbolError
from .ticker import Ticker, Ticker24h
from .trades import RecentTrades

__all__ = [
    "INTERVALS",
    "Bar",
    "BookView",
    "DepthDiff",
    "DepthDiffError",
    "DepthView",
    "KlineSeries",
    "Klines",
    "Level",
    "MarketData",
    "MarketDataUpdate",
    "RecentTrades",
    "Ticker",
    "Ticker24h",
    "Top",
    "UnknownSymbolError",
    "apply_diff",
    "bar_end",
    "bar_start",
    "depth_diff",
]
