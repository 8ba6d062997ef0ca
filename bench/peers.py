"""The matching engines on PyPI, driven by the same operation list as sandex's engine.

Each adapter replays the seeded list from `bench/engine.py` (setup orders, then the measured
mix) through one library's public API and reports ops/s over the measured part and the trades it
made. The list is first reduced to plain tuples (outside the timing), so no adapter pays for
reading sandex's command structs:

    ("add", oid, is_buy, price, qty, ioc)   a new limit order (ioc: cancel what does not fill)
    ("cancel", oid)                          cancel a resting order
    ("amend", oid, price, qty)               move a resting order to a new price, new total qty

`oid` is the id sandex's engine gives the order (orders are numbered in placement order and the
list has no rejected command, which `translate` checks). Libraries that choose their own ids get
a dict from oid to theirs. Libraries without an amend get cancel + add of what is still open
(the order loses its time priority, as it does in sandex when the price changes). Libraries
without IOC get add + cancel of the rest.

What the peers do not do (and sandex does): balances, holds and fees, validation against the
market's limits, self-trade prevention, one event per order change and per balance change. Their
trade counts therefore differ a little from sandex's (no self-trade prevention: they trade where
sandex cancels the resting order). An operation whose order a peer no longer has (it filled
there but not in sandex) is counted as `missed` and skipped.

The slow ones (order-matching sorts and scans every order on each operation) run a prefix of the
list until a time budget is spent; the table says how many operations they ran.
"""

from __future__ import annotations

import gc
import importlib.metadata
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sandex.core.commands import AmendOrder, CancelOrder, Command, PlaceOrder


@dataclass
class PeerResult:
    name: str
    version: str = ""
    ops: int = 0  # measured operations run
    seconds: float = 0.0
    trades: int | None = None  # None: the library does not report trades
    missed: int = 0
    error: str = ""  # why it did not run
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


def translate(commands: list[Command], first_oid: int = 1) -> tuple[list[tuple], int]:
    """Sandex commands -> adapter tuples. Returns (ops, next oid)."""
    out: list[tuple] = []
    oid = first_oid
    for command in commands:
        if isinstance(command, PlaceOrder):
            assert command.kind == "limit", "the mix has only limit orders"
            out.append(
                ("add", oid, command.side == "buy", command.price, command.amount, command.tif == "ioc")
            )
            oid += 1
        elif isinstance(command, CancelOrder):
            out.append(("cancel", command.order_id))
        elif isinstance(command, AmendOrder):
            out.append(("amend", command.order_id, command.price, command.amount))
    return out, oid


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


class Adapter:
    name = ""
    dist = ""  # the PyPI distribution
    notes: tuple[str, ...] = ()
    budget: float | None = None  # seconds; None = run the whole list

    def setup(self) -> None: ...
    def add(self, oid: int, is_buy: bool, price: int, qty: int, ioc: bool) -> None: ...  # always succeeds
    def cancel(self, oid: int) -> bool: ...  # False: the peer does not have the order
    def amend(self, oid: int, price: int, qty: int) -> bool: ...
    def trades(self) -> int | None: ...

    def run(self, setup: list[tuple], measured: list[tuple]) -> PeerResult:
        result = PeerResult(self.name, _version(self.dist), notes=list(self.notes))
        self.setup()
        for op in setup:
            self.add(*op[1:])
        base_trades = self.trades()
        add, cancel, amend = self.add, self.cancel, self.amend
        missed = 0
        gc.collect()
        budget = self.budget
        started = time.perf_counter()
        done = 0
        if budget is None:
            for op in measured:
                kind = op[0]
                if kind == "amend":
                    ok = amend(op[1], op[2], op[3])
                elif kind == "add":
                    ok = add(op[1], op[2], op[3], op[4], op[5])
                else:
                    ok = cancel(op[1])
                if ok is False:
                    missed += 1
            done = len(measured)
        else:
            deadline = started + budget
            for op in measured:
                kind = op[0]
                if kind == "amend":
                    ok = amend(op[1], op[2], op[3])
                elif kind == "add":
                    ok = add(op[1], op[2], op[3], op[4], op[5])
                else:
                    ok = cancel(op[1])
                if ok is False:
                    missed += 1
                done += 1
                if not done & 63 and time.perf_counter() > deadline:
                    break
        result.seconds = time.perf_counter() - started
        result.ops = done
        trades = self.trades()
        result.trades = None if trades is None else trades - (base_trades or 0)
        result.missed = missed
        return result


# ---------------------------------------------------------------------------------- adapters
class CythonOrderbook(Adapter):
    name = "cython-orderbook"
    dist = "cython-orderbook"
    notes = ("no amend: cancel + add", "no IOC: add + cancel rest")

    def setup(self) -> None:
        from cython_orderbook import Order, OrderBook, OrderSide

        self.Order, self.BID, self.ASK = Order, OrderSide.BID, OrderSide.ASK
        self.book = OrderBook()
        self.orders: dict[int, object] = {}  # oid -> their Order

    def add(self, oid, is_buy, price, qty, ioc):
        book = self.book
        order = self.Order(self.BID if is_buy else self.ASK, qty, price)
        book.add_limit_order(order)
        if order.order_id in book.orders:
            if ioc:
                book.cancel_order(order.order_id)
            else:
                self.orders[oid] = order

    def cancel(self, oid):
        order = self.orders.pop(oid, None)
        return order is not None and self.book.cancel_order(order.order_id)

    def amend(self, oid, price, qty):
        book = self.book
        order = self.orders.pop(oid, None)
        if order is None or not book.cancel_order(order.order_id):
            return False
        new = self.Order(order.side, order.remaining_quantity, price)
        book.add_limit_order(new)
        if new.order_id in book.orders:
            self.orders[oid] = new
        return True

    def trades(self):
        return len(self.book.trade_log)


class PyOrderbook(Adapter):
    name = "pyorderbook"
    dist = "pyorderbook"
    notes = ("Decimal prices", "no amend: cancel + add", "no IOC: add + cancel rest")

    def setup(self) -> None:
        import logging

        import pyorderbook

        logging.getLogger("pyorderbook.book").setLevel(logging.WARNING)
        self.pyorderbook = pyorderbook
        self.book = pyorderbook.Book()
        self.orders: dict[int, object] = {}
        self.trade_count = 0

    def add(self, oid, is_buy, price, qty, ioc):
        pob = self.pyorderbook
        order = (pob.bid if is_buy else pob.ask)("BTC_USDT", price, qty)
        self._place(oid, order, ioc)

    def _place(self, oid, order, ioc):
        book = self.book
        blotter = book.match(order)
        self.trade_count += len(blotter.trades)
        if order.quantity and order.id in book.order_map:
            if ioc:
                book.cancel(order)
            else:
                self.orders[oid] = order

    def cancel(self, oid):
        order = self.orders.pop(oid, None)
        if order is None or order.id not in self.book.order_map:
            return False
        self.book.cancel(order)
        return True

    def amend(self, oid, price, qty):
        order = self.orders.pop(oid, None)
        if order is None or order.id not in self.book.order_map:
            return False
        self.book.cancel(order)
        new = self.pyorderbook.Order(order.side, "BTC_USDT", price, order.quantity)
        self._place(oid, new, False)
        return True

    def trades(self):
        return self.trade_count


class LightMatchingEngine(Adapter):
    name = "lightmatchingengine"
    dist = "lightmatchingengine"
    notes = ("no amend: cancel + add", "no IOC: add + cancel rest")

    def setup(self) -> None:
        from lightmatchingengine.lightmatchingengine import LightMatchingEngine as LME
        from lightmatchingengine.lightmatchingengine import Side

        self.engine = LME()
        self.BUY, self.SELL = Side.BUY, Side.SELL
        self.ids: dict[int, object] = {}  # oid -> their Order
        self.trade_count = 0

    def _place(self, oid, is_buy, price, qty, ioc):
        order, trades = self.engine.add_order("BTC_USDT", price, qty, self.BUY if is_buy else self.SELL)
        # One record for the taker per price level, one per maker fill: count the maker fills.
        taker = order.order_id
        self.trade_count += sum(1 for t in trades if t.order_id != taker)
        if order.leaves_qty > 0:
            if ioc:
                self.engine.cancel_order(taker, "BTC_USDT")
            else:
                self.ids[oid] = order

    def add(self, oid, is_buy, price, qty, ioc):
        self._place(oid, is_buy, price, qty, ioc)

    def cancel(self, oid):
        order = self.ids.pop(oid, None)
        return order is not None and self.engine.cancel_order(order.order_id, "BTC_USDT") is not None

    def amend(self, oid, price, qty):
        order = self.ids.pop(oid, None)
        if order is None:
            return False
        left = order.leaves_qty  # cancel_order zeroes it
        if self.engine.cancel_order(order.order_id, "BTC_USDT") is None:
            return False
        self._place(oid, order.side == self.BUY, price, left, False)
        return True

    def trades(self):
        return self.trade_count


class OrderMatching(Adapter):
    name = "order-matching"
    dist = "order-matching"
    notes = ("no amend: cancel + add", "no IOC: add + cancel rest", "float prices")
    budget = 3.0

    def setup(self) -> None:
        import datetime

        from loguru import logger

        logger.remove()  # it logs every operation at DEBUG to stderr otherwise
        from order_matching.enums import Side
        from order_matching.matching_engine import MatchingEngine
        from order_matching.order import LimitOrder

        self.engine = MatchingEngine(seed=1)
        self.LimitOrder, self.BUY, self.SELL = LimitOrder, Side.BUY, Side.SELL
        self.t0 = datetime.datetime(2024, 1, 1)
        self.step = datetime.timedelta(microseconds=1)
        self.clock = 0
        self.trade_count = 0
        self.live: dict[int, object] = {}

    def _now(self):
        self.clock += 1
        return self.t0 + self.step * self.clock

    def _place(self, oid, side, price, qty, ioc):
        from order_matching.orders import Orders

        now = self._now()
        order = self.LimitOrder(
            side=side,
            price=price,
            size=qty,
            timestamp=now,
            order_id=str(oid),
            trader_id="t",
            price_number_of_digits=0,
        )
        engine = self.engine
        engine.place(Orders([order]))
        self.trade_count += len(engine.match(timestamp=now).trades)
        if order.size > 0:
            if ioc:
                engine.cancel_order(str(oid))
            else:
                self.live[oid] = order

    def add(self, oid, is_buy, price, qty, ioc):
        self._place(oid, self.BUY if is_buy else self.SELL, price, qty, ioc)

    def cancel(self, oid):
        order = self.live.pop(oid, None)
        if order is None or order.size <= 0:
            return False
        self.engine.cancel_order(str(oid))
        return True

    def amend(self, oid, price, qty):
        order = self.live.pop(oid, None)
        if order is None or order.size <= 0:
            return False
        self.engine.cancel_order(str(oid))
        self._place(oid, order.side, price, order.size, False)
        return True

    def trades(self):
        return self.trade_count


class OrderlyChaos(Adapter):
    name = "orderly-chaos"
    dist = "orderly-chaos"
    notes = ("C++ via ctypes", "no amend: cancel + add", "no IOC: add + cancel rest")

    def setup(self) -> None:
        from orderly_chaos import LimitOrderBook, Side

        self.trade_count = 0

        def on_trade(trade):
            self.trade_count += 1

        self.book = LimitOrderBook(on_trade=on_trade)
        self.BUY, self.SELL = Side.BUY, Side.SELL

    def add(self, oid, is_buy, price, qty, ioc):
        book = self.book
        filled = book.limit(self.BUY if is_buy else self.SELL, oid, qty, price)
        if ioc and filled < qty:
            book.cancel(oid)

    def cancel(self, oid):
        book = self.book
        if not book.has(oid):
            return False
        book.cancel(oid)
        return True

    def amend(self, oid, price, qty):
        book = self.book
        if not book.has(oid):
            return False
        order = book.get(oid)
        book.cancel(oid)
        book.limit(order.side, oid, order.quantity, price)
        return True

    def trades(self):
        return self.trade_count


class Obook(Adapter):
    name = "obook"
    dist = "obook"
    notes = (
        "C via ctypes",
        "amend: its replace (cancel + new order)",
        "IOC native",
        "events drained after every operation",
    )

    def setup(self) -> None:
        import obook

        self.obook = obook
        self.book = obook.Book(max_orders=1_000_000)
        self.ids: dict[int, int] = {}  # oid -> their id
        self.sides: dict[int, int] = {}
        self.trade_count = 0
        self.kinds_trade = int(obook.EventKind.TRADE)
        lib, handle, buf = self.book._lib, self.book._h, self.book._events
        size = len(buf)

        def drain():
            # Events are read straight from the ctypes buffer: building obook.Event tuples for
            # each would cost more than the matching.
            n = size
            while n == size:
                n = lib.ob_events(handle, buf, size)
                for i in range(n):
                    if buf[i].kind == 3:
                        self.trade_count += 1

        self.drain = drain

    def add(self, oid, is_buy, price, qty, ioc):
        ob = self.obook
        side = ob.BUY if is_buy else ob.SELL
        result = self.book.submit(1 + oid % 200, side, price, qty, ob.LIMIT, ob.IOC if ioc else ob.GTC)
        self.drain()
        if not ioc and result.status in (1, 2):  # NEW, PARTIALLY_FILLED: resting
            self.ids[oid] = result.order_id
            self.sides[oid] = side

    def cancel(self, oid):
        their = self.ids.pop(oid, None)
        if their is None:
            return False
        result = self.book.cancel(their, 1 + oid % 200)
        self.drain()
        return result.status == 4

    def amend(self, oid, price, qty):
        their = self.ids.get(oid)
        if their is None:
            return False
        result = self.book.replace(their, 1 + oid % 200, self.sides[oid], price, qty)
        self.drain()
        if result.order_id == 0:
            del self.ids[oid]
            return False
        self.ids[oid] = result.order_id
        return True

    def trades(self):
        return self.trade_count


class LimitOrderBookPkg(Adapter):
    name = "limit-order-book"
    dist = "limit-order-book"
    notes = ("C++ via ctypes", "reports no trades", "no amend: cancel + add", "no IOC: add + cancel rest")

    def setup(self) -> None:
        from limit_order_book import LimitOrderBook

        self.book = LimitOrderBook()
        self.sides: dict[int, bool] = {}

    def add(self, oid, is_buy, price, qty, ioc):
        book = self.book
        (book.limit_buy if is_buy else book.limit_sell)(oid, qty, price)
        if book.has(oid):
            if ioc:
                book.cancel(oid)
            else:
                self.sides[oid] = is_buy

    def cancel(self, oid):
        book = self.book
        self.sides.pop(oid, None)
        if not book.has(oid):
            return False
        book.cancel(oid)
        return True

    def amend(self, oid, price, qty):
        book = self.book
        if not book.has(oid):
            return False
        book.cancel(oid)
        # It cannot tell what is left of an order: the new one gets the full amount.
        (book.limit_buy if self.sides[oid] else book.limit_sell)(oid, qty, price)
        return True

    def trades(self):
        return None


ADAPTERS: list[Callable[[], Adapter]] = [
    CythonOrderbook,
    PyOrderbook,
    LightMatchingEngine,
    OrderMatching,
    OrderlyChaos,
    Obook,
    LimitOrderBookPkg,
]

#: Looked at and left out, with the reason (shown under the table).
NOT_ADAPTED = {
    "fastlob": "starts a background expiry thread per book and logs every operation; Decimal-only API",
    "matching-engine": "needs Python >= 3.12",
}


def run_peers(
    setup_cmds: list[Command], measured_cmds: list[Command], only: set[str] | None = None
) -> list[PeerResult]:
    setup, next_oid = translate(setup_cmds)
    measured, _ = translate(measured_cmds, next_oid)
    results = []
    for factory in ADAPTERS:
        adapter = factory()
        if only and adapter.name not in only:
            continue
        try:
            results.append(adapter.run(setup, measured))
        except Exception as exc:  # an import or API failure is a result too
            results.append(
                PeerResult(adapter.name, _version(adapter.dist), error=f"{type(exc).__name__}: {exc}"[:160])
            )
        del adapter
        gc.collect()
    return results
