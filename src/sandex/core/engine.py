"""The matching engine: a deterministic function from commands to events.

One writer, no I/O, no clock of its own: `apply(command, ts)` takes the command's timestamp from
the caller (the sequencer stamps it and the journal stores it), so replaying the journal gives
the same events bit for bit. Identifiers (orders, trades, triggers, wallets) come from counters
and a seeded hash, never from randomness or the wall clock.

Matching rules
- Price-time priority. A taker trades at the maker's price.
- Limit GTC rests what it cannot fill; IOC cancels the rest; post-only is rejected whole if any
  part would take.
- Market buys are sized by quote to spend, market sells by base amount; what cannot fill (empty
  book, or a budget too small for one more unit) is released.
- Amend: new price and new total amount. The order keeps its time priority only when the price
  is unchanged and the remaining amount shrinks; otherwise it goes to the back of the queue at
  its (new) price, and may trade at once if the new price crosses.
- Self-trade prevention ("cancel resting"): when a taker meets a resting order of the same
  account, the resting order is cancelled (reason `self_trade`) and matching goes on. The taker
  is never cancelled by STP, so an account can always cross its own stale quotes.
- Fees are charged on what each side receives: the buyer pays in base, the seller in quote; the
  taker pays the taker rate, the maker the maker rate, rounded down in ledger scale. The rates
  are the market's unless the account has its own (SetAccountFees), read at trade time.
- Accounts without an API key (the simulator's) are not in `account_by_key`, the lookup every
  dialect authenticates through: no client can reach them.
- Trigger orders (see .triggers) fire when a trade's price reaches their trigger (direction "up": last >=
  trigger, "down": last <= trigger). Funds are not held while a trigger waits; if the order it
  places is rejected (e.g. insufficient balance) the trigger ends as `failed` with the reason.
"""

from __future__ import annotations

import functools
import hashlib
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, cast

from sortedcontainers import SortedList

# Not compiled: called from the engine, off the hot path (see their docstrings).
from . import snapshot, triggers
from .book import BookSide, OrderBook
from .commands import (
    BUY,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    POST_ONLY,
    SELL,
    AmendOrder,
    CancelOrder,
    CancelTrigger,
    Command,
    CreateAccount,
    CreateWallet,
    Deposit,
    PlaceOrder,
    PlaceTrigger,
    RevokeKey,
    SetAccountFees,
    SetTriggerEnabled,
    Tick,
)
from .events import (
    CANCELLED,
    E_BELOW_MIN_AMOUNT,
    E_BELOW_MIN_VALUE,
    E_DUPLICATE_KEY,
    E_INSUFFICIENT_BALANCE,
    E_INVALID_AMOUNT,
    E_INVALID_PRICE,
    E_INVALID_SIDE,
    E_INVALID_TYPE,
    E_ORDER_NOT_FOUND,
    E_POST_ONLY_WOULD_TAKE,
    E_UNKNOWN_ACCOUNT,
    E_UNKNOWN_SYMBOL,
    E_UNKNOWN_WALLET,
    FILLED,
    OPEN,
    PARTIAL,
    R_AMENDED,
    R_CANCELLED,
    R_FILL,
    R_IOC,
    R_NO_LIQUIDITY,
    R_PLACED,
    R_POST_ONLY,
    R_SELF_TRADE,
    AccountEvent,
    BalanceEvent,
    DepositEvent,
    Event,
    OrderEvent,
    Rejected,
    TradeEvent,
    WalletEvent,
)
from .ledger import Ledger
from .literals import OrderKind, OrderReason, Side, TimeInForce
from .markets import PPM, Market
from .orders import Order, Trigger
from .plugin import EnginePlugin

#: A cascade of triggers/copy trades started by one command stops after this many steps, so a
#: pathological configuration cannot wedge the single writer.
MAX_FOLLOW_UPS = 10_000


class Account:
    __slots__ = ("api_key", "id", "name", "secret", "wallets")

    def __init__(self, id: int, name: str, api_key: str, secret: str) -> None:
        self.id = id
        self.name = name
        self.api_key = api_key
        self.secret = secret
        self.wallets: list[str] = []


class Wallet:
    __slots__ = ("account_id", "id", "name")

    def __init__(self, id: str, account_id: int, name: str) -> None:
        self.id = id
        self.account_id = account_id
        self.name = name


class Engine:
    def __init__(
        self, markets: Iterable[Market], seed: int = 0, plugins: Iterable[EnginePlugin] = ()
    ) -> None:
        self.markets: dict[str, Market] = {m.symbol: m for m in markets}
        self.books: dict[str, OrderBook] = {s: OrderBook() for s in self.markets}
        self.ledger = Ledger()
        self._dirty = self.ledger.dirty  # the same dict, read on every command
        self._wallet_account: dict[str, int] = {}  # wallet id -> account id
        self.accounts: dict[int, Account] = {}
        #: Keyed accounts only: every dialect's authentication looks the key up here, so an
        #: account without a key (the simulator's) is out of every client's reach.
        self.account_by_key: dict[str, Account] = {}
        #: account id -> its own (maker, taker) fee rates in ppm, -1 for the market's rate.
        #: Empty unless configured, so a trade pays for the lookup only when there is one.
        self.account_fees: dict[int, tuple[int, int]] = {}
        self.wallets: dict[str, Wallet] = {}
        self.orders: dict[int, Order] = {}  # open (resting) orders only
        self.triggers: dict[int, Trigger] = {}  # waiting or disabled triggers only
        self.trigger_index: dict[str, tuple[SortedList, SortedList]] = {
            s: (SortedList(), SortedList()) for s in self.markets
        }
        self.expiries: list[tuple[int, int]] = []  # heap of (expires_at, trigger_id)
        self.seed = seed
        self.seq = 0
        self.now = 0
        self.next_order_id = 1
        self.next_trade_id = 1
        self.next_trigger_id = 1
        self.next_account_id = 1
        self.wallet_counter = 0
        self.qpos = 0
        self._out: list[Event] = []
        self._follow_ups: deque[Callable[[], None]] = deque()
        self._trades: list[TradeEvent] | None = None
        self.plugins: list[EnginePlugin] = []
        #: symbol -> the plugins called around each order's matching there (their
        #: `taker_markets`). Empty without such plugins, so an order pays one falsy check.
        self._taker_plugins: dict[str, list[EnginePlugin]] = {}
        self._handlers: dict[type, Callable[[Any], Any]] = {
            PlaceOrder: self.place_order,
            CancelOrder: self._cancel,
            AmendOrder: self._amend,
            PlaceTrigger: self.place_trigger,
            CancelTrigger: functools.partial(triggers.cancel_command, self),
            SetTriggerEnabled: functools.partial(triggers.set_enabled_command, self),
            CreateAccount: self.create_account,
            RevokeKey: self._revoke_key,
            SetAccountFees: self._set_account_fees,
            CreateWallet: self._create_wallet,
            Deposit: self._deposit,
            Tick: lambda command: None,
        }
        for plugin in plugins:
            self.add_plugin(plugin)

    def add_plugin(self, plugin: EnginePlugin) -> None:
        plugin.attach(self)
        self.plugins.append(plugin)
        for command_type in plugin.commands:
            self._handlers[command_type] = plugin.handle
        for symbol in plugin.taker_markets:
            self._taker_plugins.setdefault(symbol, []).append(plugin)
        self._trades = []

    # ------------------------------------------------------------------ entry point
    def apply(self, command: Command, ts: int) -> list[Event]:
        """Apply one command at time `ts` (ms) and return the events it caused, in order."""
        if ts > self.now:
            self.now = ts
        out = self._out = []
        if self.expiries and self.expiries[0][0] <= self.now:
            triggers.expire(self)
        kind = type(command)
        # The order commands directly (amends are 82 % of exchange-core's mix): compiled, these
        # are native calls, where a call through the handler table goes through Python's.
        if kind is AmendOrder:
            self._amend(command)  # type: ignore[arg-type]
        elif kind is PlaceOrder:
            self.place_order(command)  # type: ignore[arg-type]
        elif kind is CancelOrder:
            self._cancel(command)  # type: ignore[arg-type]
        else:
            handler = self._handlers.get(kind)
            if handler is None:
                self.reject(0, "", E_INVALID_TYPE, f"unknown command {kind.__name__}")
            else:
                handler(command)
        if self._follow_ups or self._trades:
            self._drain()
        dirty = self._dirty
        if dirty:
            # One balance event per (wallet, currency) the command touched, in first-touch order.
            owner = self._wallet_account
            seq, now = self.seq, self.now
            for (wallet_id, currency), cell in dirty.items():
                seq += 1
                out.append(BalanceEvent(seq, now, owner[wallet_id], wallet_id, currency, cell[0], cell[1]))
            self.seq = seq
            dirty.clear()
        return out

    def emit(self, event_type: type, *fields: Any) -> Event:
        """Append an event of `event_type` with the next sequence number (for plugins too)."""
        return self.emit_at(self.now, event_type, *fields)

    def emit_at(self, ts: int, event_type: type, *fields: Any) -> Event:
        """As `emit`, stamped `ts` rather than the engine's time (the replay stamps what it
        replays with the recording's time)."""
        self.seq += 1
        event: Event = event_type(self.seq, ts, *fields)
        self._out.append(event)
        return event

    def defer(self, step: Callable[[], None]) -> None:
        """Run `step` after the current matching step, within the same command."""
        self._follow_ups.append(step)

    def reject(
        self,
        account_id: int,
        symbol: str,
        code: str,  # a RejectCode, or a plugin's own
        message: str,
        order_id: int = 0,
        source: str = "",
        source_id: str = "",
    ) -> None:
        self.seq += 1
        self._out.append(
            Rejected(self.seq, self.now, account_id, symbol, code, message, order_id, source, source_id)
        )

    # ------------------------------------------------------------------ accounts and money
    def create_account(self, cmd: CreateAccount) -> Account | None:
        if cmd.api_key in self.account_by_key:
            self.reject(0, "", E_DUPLICATE_KEY, f"api key already in use: {cmd.api_key!r}")
            return None
        account = Account(self.next_account_id, cmd.name, cmd.api_key, cmd.secret if cmd.api_key else "")
        self.next_account_id += 1
        self.accounts[account.id] = account
        if cmd.api_key:
            self.account_by_key[cmd.api_key] = account
        self.emit(AccountEvent, account.id, account.name, account.api_key)
        self._new_wallet(account, "default")
        return account

    def _revoke_key(self, cmd: RevokeKey) -> None:
        account = self.accounts.get(cmd.account_id)
        if account is None:
            self.reject(cmd.account_id, "", E_UNKNOWN_ACCOUNT, "unknown account")
            return
        self.account_by_key.pop(account.api_key, None)
        account.api_key = account.secret = ""
        self.emit(AccountEvent, account.id, account.name, "")

    def _set_account_fees(self, cmd: SetAccountFees) -> None:
        if cmd.account_id not in self.accounts:
            self.reject(cmd.account_id, "", E_UNKNOWN_ACCOUNT, "unknown account")
            return
        if not (-1 <= cmd.maker_fee_ppm < PPM and -1 <= cmd.taker_fee_ppm < PPM):
            self.reject(cmd.account_id, "", E_INVALID_AMOUNT, "a fee rate is between 0 and 1")
            return
        if cmd.maker_fee_ppm < 0 and cmd.taker_fee_ppm < 0:
            self.account_fees.pop(cmd.account_id, None)
        else:
            self.account_fees[cmd.account_id] = (cmd.maker_fee_ppm, cmd.taker_fee_ppm)

    def fee_rates(self, account_id: int, symbol: str) -> tuple[int, int]:
        """The (maker, taker) fee rates in ppm that `account_id` pays on `symbol` now."""
        market = self.markets[symbol]
        maker, taker = market.maker_fee_ppm, market.taker_fee_ppm
        own = self.account_fees.get(account_id)
        if own is not None:
            if own[0] >= 0:
                maker = own[0]
            if own[1] >= 0:
                taker = own[1]
        return maker, taker

    def _new_wallet(self, account: Account, name: str) -> Wallet:
        self.wallet_counter += 1
        digest = hashlib.sha256(f"{self.seed}:{self.wallet_counter}".encode()).hexdigest()
        wallet = Wallet("0x" + digest[:40], account.id, name)
        self.wallets[wallet.id] = wallet
        self._wallet_account[wallet.id] = account.id
        account.wallets.append(wallet.id)
        self.emit(WalletEvent, account.id, wallet.id, name)
        return wallet

    def _create_wallet(self, cmd: CreateWallet) -> Wallet | None:
        account = self.accounts.get(cmd.account_id)
        if account is None:
            self.reject(cmd.account_id, "", E_UNKNOWN_ACCOUNT, "unknown account")
            return None
        return self._new_wallet(account, cmd.name or f"wallet-{len(account.wallets) + 1}")

    def _deposit(self, cmd: Deposit) -> None:
        wallet = self.wallets.get(cmd.wallet_id)
        if wallet is None:
            self.reject(0, "", E_UNKNOWN_WALLET, f"unknown wallet {cmd.wallet_id}")
            return
        if not self.ledger.deposit(wallet.id, cmd.currency, cmd.amount):
            self.reject(wallet.account_id, "", E_INSUFFICIENT_BALANCE, "debit exceeds free balance")
            return
        self.emit(DepositEvent, wallet.account_id, wallet.id, cmd.currency, cmd.amount)

    def resolve_wallet(self, account_id: int, wallet_id: str) -> str | None:
        account = self.accounts.get(account_id)
        if account is None or not account.wallets:
            return None
        if not wallet_id:
            return account.wallets[0]
        wallet = self.wallets.get(wallet_id)
        if wallet is None or wallet.account_id != account_id:
            return None
        return wallet_id

    # ------------------------------------------------------------------ orders
    def place_order(self, cmd: PlaceOrder) -> Order | None:
        """Validate, hold funds, match, then rest or release. Returns the order, or None if
        rejected (a Rejected event says why)."""
        market = self.markets.get(cmd.symbol)
        acct, symbol, src, src_id = cmd.account_id, cmd.symbol, cmd.source, cmd.source_id
        if market is None:
            self.reject(acct, symbol, E_UNKNOWN_SYMBOL, f"unknown symbol {symbol!r}", 0, src, src_id)
            return None
        account = self.accounts.get(acct)
        wallet_id: str | None
        if account is not None and not cmd.wallet_id and account.wallets:
            wallet_id = account.wallets[0]  # the common case, resolve_wallet inlined
        else:
            wallet_id = self.resolve_wallet(acct, cmd.wallet_id)
        if wallet_id is None:
            code = E_UNKNOWN_WALLET if acct in self.accounts else E_UNKNOWN_ACCOUNT
            self.reject(acct, symbol, code, "unknown account or wallet", 0, src, src_id)
            return None
        side, kind = cmd.side, cmd.kind
        would_take = False
        if side != BUY and side != SELL:
            self.reject(acct, symbol, E_INVALID_SIDE, f"invalid side {side!r}", 0, src, src_id)
            return None
        book = self.books[symbol]
        if kind == LIMIT:
            price, amount = cmd.price, cmd.amount
            if price <= 0:
                self.reject(acct, symbol, E_INVALID_PRICE, "price must be positive", 0, src, src_id)
                return None
            if amount <= 0:
                self.reject(acct, symbol, E_INVALID_AMOUNT, "amount must be positive", 0, src, src_id)
                return None
            if amount < market.min_amount:
                self.reject(
                    acct, symbol, E_BELOW_MIN_AMOUNT, "amount below the market minimum", 0, src, src_id
                )
                return None
            if price * amount < market.min_value:
                self.reject(
                    acct, symbol, E_BELOW_MIN_VALUE, "order value below the market minimum", 0, src, src_id
                )
                return None
            tif = cmd.tif
            if tif != GTC and tif != IOC and tif != POST_ONLY:
                self.reject(acct, symbol, E_INVALID_TYPE, f"invalid time in force {tif!r}", 0, src, src_id)
                return None
            if tif == POST_ONLY:
                best = book.asks.best_price() if side == BUY else book.bids.best_price()
                # Accepted, then cancelled at once without trading (as OKX, Bybit and Gate do):
                # DigiFinex documents no refusal code for it, and a refusal with 20003 made
                # ccxt blame the client's price or amount.
                would_take = best is not None and (price >= best if side == BUY else price <= best)
                if not would_take and self._taker_plugins:
                    for plugin in self._taker_plugins.get(symbol, ()):
                        would_take = would_take or plugin.crosses(symbol, side == BUY, price)
            if side == BUY:
                hold_currency, hold = market.quote, price * amount * market.value_to_ledger
            else:
                hold_currency, hold = market.base, amount * market.base_to_ledger
            quote_amount = 0
        elif kind == MARKET:
            price, tif = 0, IOC
            if side == BUY:
                quote_amount, amount = cmd.quote_amount, 0
                if quote_amount <= 0:
                    self.reject(
                        acct,
                        symbol,
                        E_INVALID_AMOUNT,
                        "market buy needs a positive quote amount",
                        0,
                        src,
                        src_id,
                    )
                    return None
                if quote_amount < market.min_value * market.value_to_ledger:
                    self.reject(
                        acct,
                        symbol,
                        E_BELOW_MIN_VALUE,
                        "order value below the market minimum",
                        0,
                        src,
                        src_id,
                    )
                    return None
                hold_currency, hold = market.quote, quote_amount
            else:
                amount, quote_amount = cmd.amount, 0
                if amount <= 0:
                    self.reject(acct, symbol, E_INVALID_AMOUNT, "amount must be positive", 0, src, src_id)
                    return None
                if amount < market.min_amount:
                    self.reject(
                        acct, symbol, E_BELOW_MIN_AMOUNT, "amount below the market minimum", 0, src, src_id
                    )
                    return None
                hold_currency, hold = market.base, amount * market.base_to_ledger
        else:
            self.reject(acct, symbol, E_INVALID_TYPE, f"invalid order type {kind!r}", 0, src, src_id)
            return None
        hold_key = (wallet_id, hold_currency)
        cell = self._hold(hold_key, hold)
        if cell is None:
            self.reject(
                acct, symbol, E_INSUFFICIENT_BALANCE, f"insufficient {hold_currency} balance", 0, src, src_id
            )
            return None
        order = Order(
            self.next_order_id,
            acct,
            wallet_id,
            symbol,
            # Checked above: the command's plain words are the Literals from here on.
            cast(Side, side),
            cast(OrderKind, kind),
            cast(TimeInForce, tif),
            price,
            amount,
            quote_amount,
            self.now,
            cmd.client_order_id,
            src,
            src_id,
        )
        self.next_order_id += 1
        order.hold = hold
        order.hold_key = hold_key
        order.hold_cell = cell
        if would_take:
            self._release_hold(order)
            order.status = CANCELLED
            self._order_event(order, R_POST_ONLY)
            return order
        takers = self._taker_plugins
        hooks = takers.get(symbol) if takers else None
        if hooks is None:
            self._execute(order, book, market)
        else:
            for plugin in hooks:
                plugin.before_taker(order)
            self._execute(order, book, market)
            for plugin in hooks:
                plugin.after_taker(order)
        self._order_event(
            order,
            R_PLACED
            if order.status != CANCELLED
            else (R_IOC if order.filled or kind == LIMIT else R_NO_LIQUIDITY),
        )
        return order

    def liquidity(self, symbol: str, buy: bool) -> list[tuple[int, int]]:
        """What a taker buying (`buy`: the asks) or selling (the bids) on `symbol` could take
        now, (price, size) best first: the book's resting orders plus what plugins offer there
        (the replay's recorded book), so an estimate made before an order (copy trading's
        liquidity and slippage checks) sees what the order will meet."""
        book = self.books[symbol]
        side = book.asks if buy else book.bids
        levels = [(level.price, level.total) for level in side.iter_levels()]
        plugins = self._taker_plugins.get(symbol) if self._taker_plugins else None
        if plugins is None:
            return levels
        merged = dict(levels)
        for plugin in plugins:
            for price, size in plugin.offered(symbol, buy):
                merged[price] = merged.get(price, 0) + size
        return sorted(merged.items(), reverse=not buy)

    def rest_order(
        self, account_id: int, symbol: str, side: Side, price: int, amount: int, source: str = ""
    ) -> Order | None:
        """Rest a GTC limit order at the head of its price level without matching it: a plugin's
        liquidity for the next taker (the replay's recorded book), which must neither trade with
        the orders it would cross nor queue behind the orders already at its price. The hold
        comes from the account's first wallet; no market minimum applies. None (and a Rejected
        event) when the account is unknown or its balance short."""
        market = self.markets[symbol]
        account = self.accounts.get(account_id)
        if account is None or not account.wallets:
            self.reject(account_id, symbol, E_UNKNOWN_ACCOUNT, "unknown account or wallet")
            return None
        wallet_id = account.wallets[0]
        if side == BUY:
            hold_key, hold = (wallet_id, market.quote), price * amount * market.value_to_ledger
        else:
            hold_key, hold = (wallet_id, market.base), amount * market.base_to_ledger
        cell = self._hold(hold_key, hold) if price > 0 and amount > 0 else None
        if cell is None:
            self.reject(account_id, symbol, E_INSUFFICIENT_BALANCE, f"insufficient {hold_key[1]} balance")
            return None
        order = Order(
            self.next_order_id,
            account_id,
            wallet_id,
            symbol,
            side,
            LIMIT,
            GTC,
            price,
            amount,
            0,
            self.now,
            "",
            source,
            "",
        )
        self.next_order_id += 1
        order.hold = hold
        order.hold_key = hold_key
        order.hold_cell = cell
        book = self.books[symbol]
        resting = book.bids if side == BUY else book.asks
        level = resting.levels.get(price)
        qpos = self.qpos = self.qpos + 1
        resting.add(order, qpos)
        if level is not None:
            # To the head of the queue: a level's dict order is its time priority.
            queue = level.orders
            del queue[qpos]
            head: dict[int, Order] = {qpos: order}
            head.update(queue)
            level.orders = head
            level.removed = 0
        self.orders[order.id] = order
        self._order_event(order, R_PLACED)
        return order

    def cancel_resting_order(self, order: Order, reason: OrderReason) -> None:
        """Take a resting order off the book, releasing its hold (for plugins)."""
        book = self.books[order.symbol]
        self._cancel_resting(order, book.bids if order.side == BUY else book.asks, None, reason)

    def _execute(self, order: Order, book: OrderBook, market: Market) -> None:
        """Match `order` as a taker, then rest it (GTC/post-only) or release what is left."""
        is_limit = order.kind == LIMIT
        if is_limit:
            # A limit order that does not reach the best opposite price cannot trade: skip the
            # matching loop (it would find nothing and report the book exhausted).
            if order.side == BUY:
                best = book.asks.best_price_cache
                exhausted = best is None or order.price < best or self._match(order, book, market)
            else:
                best = book.bids.best_price_cache
                exhausted = best is None or order.price > best or self._match(order, book, market)
            if order.tif != IOC and order.remaining > 0:
                qpos = self.qpos = self.qpos + 1
                (book.bids if order.side == BUY else book.asks).add(order, qpos)
                order.status = PARTIAL if order.filled else OPEN
                self.orders[order.id] = order
                return
        else:
            exhausted = self._match(order, book, market)
        if order.hold:
            self._release_hold(order)
        if order.kind == MARKET and order.side == BUY:
            # A market buy that stopped because its budget was down to dust has done its job.
            done = order.filled > 0 and not exhausted
        else:
            done = order.remaining == 0
        order.status = FILLED if done else CANCELLED
        self.orders.pop(order.id, None)

    def _match(self, taker: Order, book: OrderBook, market: Market) -> bool:
        """Trade `taker` against the opposite side. Returns True if the book ran out of
        matchable liquidity (as opposed to the taker being satisfied)."""
        is_buy = taker.side == BUY
        opposite = book.asks if is_buy else book.bids
        limit = taker.price if taker.kind == LIMIT else 0
        market_buy = taker.kind == MARKET and is_buy
        per_unit = market.value_to_ledger
        traded = 0  # the last trade price, 0 while nothing traded
        exhausted = False
        while True:
            level = opposite.best()
            if level is None:
                exhausted = True
                break
            price = level.price
            if limit and (price > limit if is_buy else price < limit):
                exhausted = True
                break
            # The oldest order at the level (a level on the book is never empty).
            maker = next(iter(level.orders.values()))
            if maker.account_id == taker.account_id:
                self._cancel_resting(maker, opposite, market, R_SELF_TRADE)
                continue
            if market_buy:
                quantity = taker.hold // (price * per_unit)
                if quantity == 0:
                    break
                if quantity > maker.remaining:
                    quantity = maker.remaining
            else:
                quantity = taker.remaining if taker.remaining < maker.remaining else maker.remaining
            self._trade(taker, maker, quantity, price, market, opposite, level)
            traded = price
            if not market_buy and taker.remaining == 0:
                break
        if traded:
            self._after_trades(book, market.symbol, traded)
        return exhausted

    def _trade(
        self,
        taker: Order,
        maker: Order,
        quantity: int,
        price: int,
        market: Market,
        opposite: BookSide,
        level: Any,
    ) -> None:
        value = price * quantity
        value_l = value * market.value_to_ledger
        base_l = quantity * market.base_to_ledger
        taker_rate, maker_rate = market.taker_fee_ppm, market.maker_fee_ppm
        account_fees = self.account_fees
        if account_fees:
            own = account_fees.get(taker.account_id)
            if own is not None and own[1] >= 0:
                taker_rate = own[1]
            own = account_fees.get(maker.account_id)
            if own is not None and own[0] >= 0:
                maker_rate = own[0]
        if taker.side == BUY:
            buyer, seller = taker, maker
            buyer_fee = base_l * taker_rate // PPM
            seller_fee = value_l * maker_rate // PPM
        else:
            buyer, seller = maker, taker
            buyer_fee = base_l * maker_rate // PPM
            seller_fee = value_l * taker_rate // PPM
        ledger = self.ledger
        dirty = self._dirty
        base, quote = market.base, market.quote
        # The buyer's hold sits in its quote cell, the seller's in its base cell. Cells are
        # marked dirty in the same order as always (buyer quote, buyer base, seller base,
        # seller quote): that order is the order of the balance events.
        cell = dirty[buyer.hold_key] = buyer.hold_cell
        if buyer.kind == LIMIT:
            reserved = quantity * buyer.price * market.value_to_ledger
            cell[1] -= reserved
            cell[0] += reserved - value_l  # price improvement goes back to free
            buyer.hold -= reserved
        else:
            cell[1] -= value_l
            buyer.hold -= value_l
        ledger.cell(buyer.wallet_id, base)[0] += base_l - buyer_fee
        cell = dirty[seller.hold_key] = seller.hold_cell
        cell[1] -= base_l
        seller.hold -= base_l
        ledger.cell(seller.wallet_id, quote)[0] += value_l - seller_fee
        fees = ledger.fees
        fees[base] += buyer_fee
        fees[quote] += seller_fee

        maker.filled += quantity
        maker.filled_value += value
        maker.remaining -= quantity
        taker.filled += quantity
        taker.filled_value += value
        if taker.kind == LIMIT or taker.side == SELL:
            taker.remaining -= quantity
        level.total -= quantity

        trade_id = self.next_trade_id
        self.next_trade_id += 1
        self.seq += 1
        trade = TradeEvent(
            self.seq,
            self.now,
            trade_id,
            market.symbol,
            price,
            quantity,
            value,
            taker.side,
            maker.id,
            taker.id,
            maker.account_id,
            taker.account_id,
            maker.wallet_id,
            taker.wallet_id,
            buyer_fee if maker is buyer else seller_fee,
            buyer_fee if taker is buyer else seller_fee,
        )
        self._out.append(trade)
        if self._trades is not None:
            self._trades.append(trade)
        if maker.remaining == 0:
            maker.status = FILLED
            opposite.remove(maker)
            del self.orders[maker.id]
            self._order_event(maker, R_FILL)
        else:
            maker.status = PARTIAL
            self._order_event(maker, R_FILL)

    def _after_trades(self, book: OrderBook, symbol: str, last: int) -> None:
        """Remember the last price (the taker's final fill; a sweep only moves one way, so no
        trigger can be skipped) and queue the triggers it reached."""
        book.last_price = last
        up, down = self.trigger_index[symbol]
        fired: list[int] = []
        while up and up[0][0] <= last:
            fired.append(up.pop(0)[1])
        while down and down[-1][0] >= last:
            fired.append(down.pop()[1])
        if fired:
            fired.sort()
            for trigger_id in fired:
                self._follow_ups.append(functools.partial(triggers.fire, self, trigger_id))

    def _order_event(self, o: Order, reason: OrderReason) -> None:
        self.seq += 1
        self._out.append(
            OrderEvent(
                self.seq,
                self.now,
                o.id,
                o.account_id,
                o.wallet_id,
                o.symbol,
                o.side,
                o.kind,
                o.tif,
                o.price,
                o.amount,
                o.quote_amount,
                o.filled,
                o.filled_value,
                o.remaining if o.qpos else 0,
                o.status,
                reason,
                o.created_ts,
                o.client_order_id,
                o.source,
                o.source_id,
            )
        )

    def _hold(self, hold_key: tuple[str, str], hold: int) -> list[int] | None:
        """Move `hold` from free to held on the balance `hold_key`; its cell, or None (nothing
        moved) when the free balance is short."""
        cell = self.ledger.balances.get(hold_key)
        if cell is None or cell[0] < hold:
            return None
        cell[0] -= hold
        cell[1] += hold
        self._dirty[hold_key] = cell
        return cell

    def _release_hold(self, order: Order) -> None:
        """Give back everything the order still holds (it leaves the book or never rests)."""
        hold = order.hold
        cell = order.hold_cell
        cell[1] -= hold
        cell[0] += hold
        self._dirty[order.hold_key] = cell
        order.hold = 0

    def _cancel_resting(
        self, order: Order, side: BookSide, market: Market | None, reason: OrderReason
    ) -> None:
        side.remove(order)
        if order.hold:
            self._release_hold(order)
        order.status = CANCELLED
        del self.orders[order.id]
        self._order_event(order, reason)

    def _owned_order(self, account_id: int, order_id: int, symbol_hint: str = "") -> Order | None:
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            self.reject(
                account_id,
                symbol_hint,
                E_ORDER_NOT_FOUND,
                f"order {order_id} not found or not open",
                order_id,
            )
            return None
        return order

    def _reject_not_open(self, account_id: int, order_id: int) -> None:
        """A cancel or amend of an order that is not the account's open order."""
        self.reject(account_id, "", E_ORDER_NOT_FOUND, f"order {order_id} not found or not open", order_id)

    def _cancel(self, cmd: CancelOrder) -> None:
        order = self.orders.get(cmd.order_id)
        if order is None or order.account_id != cmd.account_id:
            self._reject_not_open(cmd.account_id, cmd.order_id)
            return
        book = self.books[order.symbol]
        self._cancel_resting(order, book.bids if order.side == BUY else book.asks, None, R_CANCELLED)

    def _amend(self, cmd: AmendOrder) -> None:
        # The hot path of exchange-core's mix (82 % of operations), kept flat on purpose: the
        # hold change, BookSide.remove/add and the order event are inlined (a Python call costs
        # about as much as the work each of them does). Any change to those must be mirrored.
        order = self.orders.get(cmd.order_id)
        if order is None or order.account_id != cmd.account_id:
            self._reject_not_open(cmd.account_id, cmd.order_id)
            return
        symbol = order.symbol
        market = self.markets[symbol]
        price, amount = cmd.price, cmd.amount
        acct = order.account_id
        if price <= 0:
            self.reject(acct, symbol, E_INVALID_PRICE, "price must be positive", order.id)
            return
        remaining = amount - order.filled
        if remaining <= 0:
            self.reject(acct, symbol, E_INVALID_AMOUNT, "new amount must exceed the filled amount", order.id)
            return
        if amount < market.min_amount:
            self.reject(acct, symbol, E_BELOW_MIN_AMOUNT, "amount below the market minimum", order.id)
            return
        if price * amount < market.min_value:
            self.reject(acct, symbol, E_BELOW_MIN_VALUE, "order value below the market minimum", order.id)
            return
        book = self.books[symbol]
        if order.side == BUY:
            side = book.bids
            best = book.asks.best_price_cache
            crosses = best is not None and price >= best
            new_hold = remaining * price * market.value_to_ledger
        else:
            side = book.asks
            best = book.bids.best_price_cache
            crosses = best is not None and price <= best
            new_hold = remaining * market.base_to_ledger
        old_price = order.price
        if crosses and price != old_price and order.tif == POST_ONLY:
            self.reject(
                acct, symbol, E_POST_ONLY_WOULD_TAKE, "post-only order would take liquidity", order.id
            )
            return
        delta = new_hold - order.hold
        if delta:
            cell = order.hold_cell
            if delta > 0 and cell[0] < delta:
                self.reject(
                    acct,
                    symbol,
                    E_INSUFFICIENT_BALANCE,
                    f"insufficient {order.hold_key[1]} balance",
                    order.id,
                )
                return
            cell[0] -= delta
            cell[1] += delta
            self._dirty[order.hold_key] = cell
            order.hold = new_hold
        old_remaining = order.remaining
        levels = side.levels
        if price == old_price and remaining <= old_remaining:
            levels[price].total -= old_remaining - remaining
            order.remaining = remaining
            order.amount = amount
        else:
            # BookSide.remove, inlined (a middle removal: no need to count it for compaction)
            level = levels[old_price]
            queue = level.orders
            del queue[order.qpos]
            level.total -= old_remaining
            order.qpos = 0
            if not queue:
                side._drop(old_price)
            order.price = price
            order.amount = amount
            order.remaining = remaining
            if crosses:
                del self.orders[order.id]
                self._execute(order, book, market)
                self._order_event(order, R_AMENDED)
                return
            # The common case: the order moves without crossing, so it simply re-queues.
            # BookSide.add, inlined
            qpos = self.qpos = self.qpos + 1
            target = levels.get(price)
            if target is None:
                target = side._new_level(price)
            target.orders[qpos] = order
            target.total += remaining
            order.qpos = qpos
        seq = self.seq = self.seq + 1
        self._out.append(
            OrderEvent(
                seq,
                self.now,
                order.id,
                acct,
                order.wallet_id,
                symbol,
                order.side,
                order.kind,
                order.tif,
                price,
                amount,
                order.quote_amount,
                order.filled,
                order.filled_value,
                remaining,
                order.status,
                R_AMENDED,
                order.created_ts,
                order.client_order_id,
                order.source,
                order.source_id,
            )
        )

    # ------------------------------------------------------------------ triggers (see .triggers)
    def place_trigger(self, cmd: PlaceTrigger) -> Trigger | None:
        return triggers.place(self, cmd)

    def cancel_trigger(self, trigger: Trigger, reason: str) -> None:
        triggers.cancel(self, trigger, reason)

    def set_trigger_enabled(self, trigger: Trigger, enabled: bool) -> None:
        triggers.set_enabled(self, trigger, enabled)

    def next_deadline(self) -> int | None:
        """When the engine next needs a Tick to expire something (ms), or None."""
        return triggers.next_deadline(self)

    # ------------------------------------------------------------------ follow-ups
    def _drain(self) -> None:
        steps = 0
        follow_ups = self._follow_ups
        while True:
            trades = self._trades
            if trades:
                self._trades = []
                for trade in trades:
                    for plugin in self.plugins:
                        plugin.on_trade(trade)
            if not follow_ups:
                if not self._trades:
                    break
                continue
            steps += 1
            if steps > MAX_FOLLOW_UPS:
                follow_ups.clear()
                break
            follow_ups.popleft()()

    # ------------------------------------------------------------------ queries
    def balances_of(self, wallet_id: str) -> dict[str, tuple[int, int]]:
        return {
            cur: (cell[0], cell[1]) for (wid, cur), cell in self.ledger.balances.items() if wid == wallet_id
        }

    def open_orders_of(self, account_id: int, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders.values()
            if o.account_id == account_id and (symbol is None or o.symbol == symbol)
        ]

    def book_levels(self, symbol: str, depth: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        book = self.books[symbol]
        bids = [(lvl.price, lvl.total) for _, lvl in zip(range(depth), book.bids.iter_levels(), strict=False)]
        asks = [(lvl.price, lvl.total) for _, lvl in zip(range(depth), book.asks.iter_levels(), strict=False)]
        return bids, asks

    # ------------------------------------------------------------------ snapshots (see .snapshot)
    def to_state(self) -> bytes:
        return snapshot.to_state(self)

    def from_state(self, data: bytes) -> None:
        snapshot.from_state(self, data)
