"""The replay as an engine plugin: recorded records enter the single writer as commands.

The plugin holds the recording (read-only, from the data dir) and the replay's state (digest,
position, clock, speed, state), which goes into the engine snapshot. A `ReplayAdvance` reads
the records between the current position and the command's and emits, per replayed market, one
`ReplayDepthEvent` with the new absolute size of each level touched (the recording's, so after
each command the replayed size of every level equals the recording's) and one `TradeEvent`
per recorded trade, stamped with the recording's exchange time and owned by no account (ids 0).
Market data derives the published book, tape, tickers and klines from those; every dialect
publishes them as it publishes anything else.

Client orders resting on a replayed market are filled by the recorded trades under the
queue model in force, `risk_averse` or `prob` (`fills.py`, `queue.py`). A client's taker order
takes the replayed liquidity it crosses, at the replayed prices, and what it takes stays
consumed until the recording next updates that level (`taker.py`, through the engine's
`before_taker`/`after_taker` hooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from ..core.commands import BUY, SELL, Command
from ..core.events import ReplayDepthEvent, ReplaySeekEvent, TradeEvent
from ..core.literals import R_REPLAY_SEEK
from ..core.plugin import EnginePlugin

if TYPE_CHECKING:
    from ..core.engine import Engine
    from ..core.orders import Order
from .commands import (
    FINISHED,
    PAUSED,
    REPLAY_COMMANDS,
    ReplayAdvance,
    ReplayControl,
    ReplayLoad,
    ReplayQueueModel,
    ReplaySeek,
)
from .fills import TapeFills
from .queue import QUEUE_MODELS
from .recording import Recording
from .records import ASK, BID, RESET, TRADE
from .source import Source
from .taker import ReplayTakes


class ReplayState(msgspec.Struct):
    digest: str = ""
    position: list[int] = []
    time_ms: int = 0
    speed: float = 1.0
    state: str = PAUSED
    #: The tape's fills (fills.py): the replay's account, queue places, owed fills, the
    #: replayed sizes the queue model reads.
    account_id: int = 0
    ahead: list[tuple[int, int]] = []
    owed: list[tuple[int, int]] = []
    books: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    queue_model: str = "risk_averse"


class ReplayPlugin(EnginePlugin):
    name = "replay"
    commands = REPLAY_COMMANDS

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.digest = recording.digest
        self.markets: tuple[str, ...] = tuple(recording.symbols)
        #: Orders placed on these markets may take replayed liquidity (the engine's hooks).
        self.taker_markets = self.markets
        self.state = ReplayState()

    def attach(self, engine: Engine) -> None:
        super().attach(engine)
        self.fills = TapeFills(engine, self.markets)
        self.takes = ReplayTakes(engine, self.fills)

    # ------------------------------------------------------------------ facts
    @property
    def loaded(self) -> bool:
        """Whether the journal's replay is this recording's (else its advances are ignored)."""
        return self.state.digest == self.digest

    @property
    def at_end(self) -> bool:
        return all(
            index >= len(source)
            for index, source in zip(self.state.position, self.recording.sources, strict=True)
        )

    # ------------------------------------------------------------------ commands
    def handle(self, command: Command) -> None:
        if isinstance(command, ReplayAdvance):
            if self.loaded:
                self._advance(tuple(command.position), command.time_ms)
        elif isinstance(command, ReplayControl):
            if self.loaded:
                self.state.state = command.state
                self.state.speed = command.speed
                self.state.time_ms = command.time_ms
        elif isinstance(command, ReplaySeek):
            if self.loaded:
                self._seek(command.time_ms)
        elif isinstance(command, ReplayQueueModel):
            if command.model in QUEUE_MODELS:
                self.fills.model = command.model
        elif isinstance(command, ReplayLoad):
            self.state = ReplayState(command.digest, [], command.time_ms, command.speed, command.state)
            self.fills.clear()
            if self.loaded:
                self.state.position = list(self.recording.start())
                for symbol in self.markets:
                    self.engine.emit_at(
                        command.time_ms, ReplayDepthEvent, symbol, command.time_ms, True, [], []
                    )

    # ------------------------------------------------------------------ client takers
    def crosses(self, symbol: str, buy: bool, price: int) -> bool:
        book = self.fills.books.get(symbol)
        if book is None:
            return False
        if buy:
            return any(ask <= price for ask in book[1])
        return any(bid >= price for bid in book[0])

    def offered(self, symbol: str, buy: bool) -> list[tuple[int, int]]:
        book = self.fills.books.get(symbol)
        if book is None:
            return []
        return list((book[1] if buy else book[0]).items())

    def before_taker(self, order: Order) -> None:
        self.takes.before(order)

    def after_taker(self, order: Order) -> None:
        changes = self.takes.after(order)
        if changes is not None:
            time_ms = self.state.time_ms
            self.engine.emit(ReplayDepthEvent, order.symbol, time_ms, False, changes[0], changes[1])

    def _advance(self, target: tuple[int, ...], time_ms: int) -> None:
        state = self.state
        sources = self.recording.sources
        start = tuple(state.position)
        self.fills.discover()
        for order, index in self.recording.entries(start):
            if index >= target[order]:
                break  # a cut by time: every later entry is past it too
            self._apply(sources[order], index)
        state.position = [max(a, b) for a, b in zip(start, target, strict=True)]
        state.time_ms = time_ms

    def _apply(self, source: Source, index: int) -> None:
        """One recorded message, one event: so the events do not depend on how the records were
        cut into commands (the speed), only on the recording."""
        symbol = source.symbols[source.symbol[index]]
        time_ms = source.time_us[index] // 1000
        first = source.end[index - 1] if index else 0
        kind = source.kind[index]
        if kind == TRADE:
            price, amount, buy = source.price[first], source.size[first], source.side[first] != ASK
            self._trade(symbol, time_ms, price, amount, buy)
            self.fills.on_trade(symbol, price, amount, buy)
            return
        sides, prices, sizes = source.side, source.price, source.size
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        for row in range(first, source.end[index]):
            price = prices[row]
            if price == 0:
                continue  # an empty snapshot's placeholder row
            (bids if sides[row] == BID else asks).append((price, sizes[row]))
        self.engine.emit_at(time_ms, ReplayDepthEvent, symbol, time_ms, kind == RESET, bids, asks)
        self.fills.on_depth(symbol, kind == RESET, bids, asks)

    def _trade(self, symbol: str, time_ms: int, price: int, amount: int, buy: bool) -> None:
        self.engine.emit_at(time_ms, TradeEvent, *self._recorded(symbol, time_ms, price, amount, buy))

    def _recorded(self, symbol: str, time_ms: int, price: int, amount: int, buy: bool) -> tuple[Any, ...]:
        """A recorded trade's TradeEvent fields after (seq, ts)."""
        engine = self.engine
        trade_id = engine.next_trade_id
        engine.next_trade_id += 1
        # A trade whose aggressor was not recorded is published as a buy (every dialect needs
        # a side); no account is on either side of it.
        return (
            trade_id,
            symbol,
            price,
            amount,
            price * amount,
            BUY if buy else SELL,
            0,
            0,
            0,
            0,
            "",
            "",
            0,
            0,
        )

    def _seek(self, time_ms: int) -> None:
        recording, engine, state = self.recording, self.engine, self.state
        # Clients' resting orders on replayed markets were placed against another moment.
        for order in [o for o in engine.orders.values() if o.symbol in self.markets]:
            engine.cancel_resting_order(order, R_REPLAY_SEEK)
        level_books = recording.level_books_at(time_ms)
        books = {symbol: book.snapshot() for symbol, book in level_books.items()}
        self.fills.clear()
        for symbol, level_book in level_books.items():
            if symbol in self.fills.books:
                self.fills.books[symbol] = (dict(level_book.bids), dict(level_book.asks))
        history: dict[str, list[TradeEvent]] = {symbol: [] for symbol in self.markets}
        # The history travels inside the seek events (seq 0), not as trades of their own: a seek
        # does not print trades again.
        for trade in recording.trades(until_ms=time_ms):
            fields = self._recorded(
                trade.symbol, trade.time_ms, trade.price, trade.amount, trade.side != SELL
            )
            history[trade.symbol].append(TradeEvent(0, trade.time_ms, *fields))
        for symbol in self.markets:
            recorded = books.get(symbol)
            engine.emit_at(
                time_ms,
                ReplaySeekEvent,
                symbol,
                time_ms,
                list(recorded.bids) if recorded is not None else [],
                list(recorded.asks) if recorded is not None else [],
                history[symbol],
            )
        state.position = list(recording.position_at(time_ms))
        state.time_ms = time_ms
        if state.state == FINISHED:
            state.state = PAUSED

    # ------------------------------------------------------------------ snapshots
    def to_state(self) -> ReplayState:
        fills = self.fills
        return msgspec.structs.replace(
            self.state,
            account_id=fills.account_id,
            queue_model=fills.model,
            ahead=sorted(fills.ahead.items()),
            owed=sorted(fills.owed.items()),
            books={
                symbol: (sorted(bids.items()), sorted(asks.items()))
                for symbol, (bids, asks) in fills.books.items()
            },
        )

    def from_state(self, state: Any) -> None:
        self.state = restored = msgspec.convert(state, ReplayState)
        fills = self.fills
        fills.account_id = restored.account_id
        fills.model = restored.queue_model
        fills.ahead = dict(restored.ahead)
        fills.owed = dict(restored.owed)
        for symbol, (bids, asks) in restored.books.items():
            if symbol in fills.books:
                fills.books[symbol] = (dict(bids), dict(asks))
