"""The venue runtime: the one path every command takes, from any dialect or the simulator.

    submit(command) ─▶ stamp ts ─▶ journal (group commit) ─▶ engine.apply, in seq order
                                                          ─▶ market data, account data
                                                          ─▶ listeners (dialect publishers)
                                                          ─▶ the caller's future (the ack)

Commands are journaled *before* they are applied: the engine never holds state the journal
does not, so a failed disk write leaves nothing to undo — the commands of the failed batch are
refused (JournalUnavailable) and order entry halts until writes succeed again. Events reach
subscribers only after their command is durable, so nobody sees a trade a crash can take back.
With `journal.sync = "off"` commands apply at once and nothing survives a restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import msgspec

from .accountdata import AccountData
from .config import AccountConfig, Config
from .core.commands import (
    Command,
    CreateAccount,
    CreateWallet,
    Deposit,
    SetAccountFees,
    Tick,
    decode_command,
    encode_command,
)
from .core.engine import Account, Engine
from .core.events import AccountEvent, Event, Rejected
from .core.numbers import LEDGER_DECIMALS, format_trimmed, parse_scaled
from .core.plugin import EnginePlugin
from .demo import DEMO_ACCOUNT_NAME, DEMO_BALANCES, generate_demo_credentials
from .marketdata.service import MarketData, MarketDataUpdate
from .store.datadir import DataDir
from .store.group_commit import GroupCommitter, JournalUnavailable
from .store.journal import Journal
from .store.snapshots import SnapshotStore

log = logging.getLogger("sandex.venue")

Listener = Callable[[list[Event], MarketDataUpdate], None]

__all__ = ["CommandRejected", "JournalUnavailable", "Listener", "Venue"]


class CommandRejected(Exception):
    """Raised by helpers that expect a command to succeed (account bootstrap, admin calls)."""

    def __init__(self, event: Rejected) -> None:
        super().__init__(f"{event.code}: {event.message}")
        self.event = event


class _Snapshot(msgspec.Struct):
    seq: int
    engine: bytes
    marketdata: bytes
    accountdata: bytes


class _InFlight:
    __slots__ = ("body", "command", "durable", "internal", "result", "submitted", "ts")

    def __init__(
        self,
        command: Command,
        ts: int,
        durable: asyncio.Future[int] | None,
        result: asyncio.Future[list[Event]],
        internal: bool,
        submitted: float,
        body: bytes = b"",
    ) -> None:
        self.body = body  # the command as journaled (the bus publishes it)
        self.command = command
        self.ts = ts
        self.durable = durable
        self.result = result
        self.internal = internal
        self.submitted = submitted  # perf_counter() at submit


class Venue:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        plugins: Iterable[EnginePlugin] = (),
    ) -> None:
        self.config = config
        self.clock = clock
        self.markets = config.markets_as_core()
        self.engine = Engine(self.markets, seed=config.simulator.seed, plugins=plugins)
        self.marketdata = MarketData(self.markets)
        self.accountdata = AccountData()
        self.listeners: list[Listener] = []
        self.journaled = config.journal.sync != "off"
        self.datadir: DataDir | None = None
        self.journal: Journal | None = None
        self.committer: GroupCommitter | None = None
        self.snapshots: SnapshotStore | None = None
        self.applied_seq = 0  # journal seq of the last command applied to the engine
        self.ready = False
        self.paused_reason: str | None = None  # fault injection / operator pause of order entry
        #: Why the bus fenced this engine off (`sandex.bus.engine`): order entry stays halted.
        self.fenced_reason: str | None = None
        self.demo_credentials: tuple[str, str] | None = None
        self.on_commit: Callable[[int, float], None] | None = None
        #: Called with each client command's seconds from submit to acknowledgement (journaled,
        #: applied, its future resolved): the server's part of an order's latency.
        self.on_ack: Callable[[float], None] | None = None
        #: Called with each applied batch's journal rows (seq, ts, command body), just before
        #: its events go to the listeners: the bus (`sandex.bus.engine`) queues them to publish.
        self.on_applied: Callable[[list[tuple[int, int, bytes]]], None] | None = None
        self._inflight: deque[_InFlight] = deque()
        self._client_commands_in_flight = 0  # of those in _inflight (the market data pacing reads it)
        self._last_ts = 0
        self._since_snapshot = 0
        self._snapshot_task: asyncio.Task[Path] | None = None
        self._timer_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def open(self, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        """Recover from the data dir (snapshot + journal tail), run `prepare` (the simulator's
        history, which must come before anything stamped with the wall clock), then create the
        configured accounts."""
        if self.journaled:
            self.datadir = DataDir(self.config.server.data_path)
            self.datadir.acquire()
            self.journal = Journal(self.datadir.journal_path, sync=self.config.journal.sync)
            self.snapshots = SnapshotStore(self.datadir.snapshots_path)
            started = time.perf_counter()
            replayed = await asyncio.get_running_loop().run_in_executor(None, self._recover)
            log.info(
                "recovered to journal seq %d (%d commands replayed) in %.2fs",
                self.applied_seq,
                replayed,
                time.perf_counter() - started,
            )
            self.committer = GroupCommitter(
                self.journal,
                max_batch=self.config.journal.max_batch,
                on_commit=self._committed,
                on_settled=self._on_durable,
            )
        if prepare is not None:
            await prepare()
        await self._bootstrap_accounts()
        self._timer_task = asyncio.create_task(self._timers(), name="venue-timers")
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        if self._timer_task:
            self._timer_task.cancel()
            await asyncio.gather(self._timer_task, return_exceptions=True)
        if self.committer:
            await self.committer.close()
        if self._snapshot_task:
            await asyncio.gather(self._snapshot_task, return_exceptions=True)
        if self.journal is not None and self.snapshots is not None and self._since_snapshot:
            # A snapshot at shutdown makes the next start fast.
            self.snapshots.save(self.applied_seq, self._snapshot_body())
        if self.journal:
            self.journal.close()
        if self.datadir:
            self.datadir.release()

    def _recover(self) -> int:
        assert self.journal is not None and self.snapshots is not None
        latest = self.snapshots.latest()
        if latest is not None:
            self.restore(latest[1])
        replayed = 0
        engine, marketdata, accountdata = self.engine, self.marketdata, self.accountdata
        for seq, ts, body in self.journal.read_from(self.applied_seq):
            events = engine.apply(decode_command(body), ts)
            marketdata.apply(events)
            accountdata.apply(events)
            self.applied_seq = seq
            replayed += 1
        self._last_ts = engine.now
        self._since_snapshot = replayed
        return replayed

    # ------------------------------------------------------------------ commands
    def submit(
        self, command: Command, *, internal: bool = False, at: int | None = None
    ) -> asyncio.Future[list[Event]]:
        """Queue a command; the future resolves with its events once durable and applied, or
        fails with JournalUnavailable (nothing was applied). `internal`: the venue's own (the
        simulated market's, the configured accounts' set-up), which no client is waiting for.
        `at`: the command's time in ms instead of the clock's (the simulator's history runs on
        a virtual clock); time never goes back, so an earlier `at` is stamped as the last one."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[list[Event]] = loop.create_future()
        now = int(self.clock() * 1000) if at is None else at
        ts = now if now > self._last_ts else self._last_ts
        self._last_ts = ts
        if self.committer is None:
            events = self._apply(command, ts, 0)
            result.set_result(events)
            self._publish(events)
            return result
        body = encode_command(command)
        try:
            durable = self.committer.submit(ts, body)
        except JournalUnavailable as exc:
            result.set_exception(exc)
            return result
        self._inflight.append(_InFlight(command, ts, durable, result, internal, time.perf_counter(), body))
        if not internal:
            self._client_commands_in_flight += 1
        return result

    def submit_sequenced(self, command: Command) -> asyncio.Future[tuple[int, list[Event]]]:
        """As `submit` for a client's command, resolving with its journal seq as well as its
        events (the bus answers a gateway with the seq: the gateway's copy of the venue then
        gives the command's events once it has applied that seq)."""
        result = self.submit(command)
        item = self._inflight[-1] if self._inflight and self._inflight[-1].result is result else None
        sequenced: asyncio.Future[tuple[int, list[Event]]] = asyncio.get_running_loop().create_future()

        def resolve(done: asyncio.Future[list[Event]]) -> None:
            if sequenced.done():
                return
            if done.cancelled():
                sequenced.cancel()
            elif (exc := done.exception()) is not None:
                sequenced.set_exception(exc)
            else:
                durable = item.durable if item is not None else None
                seq = durable.result() if durable is not None else self.applied_seq
                sequenced.set_result((seq, done.result()))

        result.add_done_callback(resolve)
        return sequenced

    def has_client_commands_in_flight(self) -> bool:
        """True while a client's command waits for its batch to be durable and applied."""
        return self._client_commands_in_flight > 0

    async def execute(
        self, command: Command, *, internal: bool = False, at: int | None = None
    ) -> list[Event]:
        return await self.submit(command, internal=internal, at=at)

    def _on_durable(self) -> None:
        """Apply every command at the head of the queue whose batch is durable, in order, and
        publish their events together (one publish per batch, not per command). The committer
        calls this as soon as a batch is settled."""
        inflight = self._inflight
        batch: list[Event] = []
        acked: list[float] = []  # submit times of the clients' commands acknowledged here
        rows: list[tuple[int, int, bytes]] = []  # the journal rows applied here (for on_applied)
        while inflight and inflight[0].durable is not None and inflight[0].durable.done():
            item = inflight.popleft()
            if not item.internal:
                self._client_commands_in_flight -= 1
            durable = item.durable
            assert durable is not None
            if durable.cancelled() or durable.exception() is not None:
                exc = durable.exception() if not durable.cancelled() else JournalUnavailable("journal closed")
                if not item.result.done():
                    item.result.set_exception(exc or JournalUnavailable("journal write failed"))
                continue
            seq = durable.result()
            events = self._apply(item.command, item.ts, seq)
            rows.append((seq, item.ts, item.body))
            batch.extend(events)
            if not item.result.done():
                item.result.set_result(events)
            if not item.internal:
                acked.append(item.submitted)
        if rows and self.on_applied is not None:
            self.on_applied(rows)
        if batch:
            self._publish(batch)
            # Acknowledged: durable, applied, the private pushes written, the futures resolved.
            on_ack = self.on_ack
            if acked and on_ack is not None:
                now = time.perf_counter()
                for submitted in acked:
                    on_ack(now - submitted)
            # Only here, between batches, do the engine and the views derived from its events
            # (market data, account data) describe the same journal seq: snapshot here.
            if self._since_snapshot >= self.config.journal.snapshot_every:
                self._schedule_snapshot()

    def _apply(self, command: Command, ts: int, seq: int) -> list[Event]:
        events = self.engine.apply(command, ts)
        if seq:
            self.applied_seq = seq
        self._since_snapshot += 1
        return events

    def _publish(self, events: list[Event]) -> None:
        update = self.marketdata.apply(events)
        self.accountdata.apply(events)
        for listener in self.listeners:
            try:
                listener(events, update)
            except Exception:  # a publisher bug must not stop the venue
                log.exception("listener %r failed", listener)

    def _committed(self, rows: int, seconds: float) -> None:
        if self.on_commit is not None:
            self.on_commit(rows, seconds)

    # ------------------------------------------------------------------ snapshots and timers
    def _snapshot_body(self) -> bytes:
        return msgspec.msgpack.encode(
            _Snapshot(
                self.applied_seq,
                self.engine.to_state(),
                self.marketdata.to_state(),
                self.accountdata.to_state(),
            )
        )

    def snapshot(self) -> tuple[int, bytes]:
        """The whole state (engine, market data, account data) at `applied_seq`, as a snapshot
        body `restore` reads. Consistent only between batches (any event-loop callback is)."""
        return self.applied_seq, self._snapshot_body()

    def restore(self, body: bytes) -> None:
        """Replace the state with a snapshot body (recovery; a gateway joining the bus)."""
        snapshot = msgspec.msgpack.decode(body, type=_Snapshot)
        self.engine.from_state(snapshot.engine)
        self.marketdata = MarketData.from_state(snapshot.marketdata, self.markets)
        self.accountdata = AccountData.from_state(snapshot.accountdata)
        self.applied_seq = snapshot.seq

    def _schedule_snapshot(self) -> None:
        if self.snapshots is None or (self._snapshot_task and not self._snapshot_task.done()):
            return
        self._since_snapshot = 0
        # Serialise now (state must match applied_seq exactly); write the file off the loop.
        seq, body = self.applied_seq, self._snapshot_body()
        store = self.snapshots
        self._snapshot_task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(store.save, seq, body), name="snapshot"
        )

    async def _timers(self) -> None:
        """Once a second: expire what is due (through a journaled Tick) and roll the 24 h window."""
        while True:
            await asyncio.sleep(1.0)
            try:
                deadline = self.engine.next_deadline()
                now = int(self.clock() * 1000)
                if deadline is not None and deadline <= now:
                    self.submit(Tick())
                update = self.marketdata.roll(now)
                if update:
                    for listener in self.listeners:
                        listener([], update)
            except Exception:
                log.exception("venue timer failed")

    # ------------------------------------------------------------------ accounts
    async def _bootstrap_accounts(self) -> None:
        for account in self.config.accounts:
            if account.api_key in self.engine.account_by_key:
                continue
            created = await self.create_account(account.name, account.api_key, account.secret, internal=True)
            for wallet_name in account.wallets:
                await self.execute(CreateWallet(created.id, wallet_name), internal=True)
            for currency, amount in account.balances.items():
                await self.credit(created.wallets[0], currency, amount, internal=True)
        for account in self.config.accounts:
            await self._configure_fees(self.engine.account_by_key[account.api_key], account)
        if self.config.needs_demo_account:
            demo = self.account_named(DEMO_ACCOUNT_NAME)
            if demo is None:
                creds = generate_demo_credentials(random.SystemRandom())
                demo = await self.create_account(
                    DEMO_ACCOUNT_NAME, creds.api_key, creds.secret, internal=True
                )
                for currency, amount in DEMO_BALANCES.items():
                    await self.credit(demo.wallets[0], currency, amount, internal=True)
            self.demo_credentials = (demo.api_key, demo.secret)

    async def _configure_fees(self, account: Account, config: AccountConfig) -> None:
        """Give the account the fee rates its config names (journaled only when they change)."""
        wanted = (
            -1 if config.maker_fee is None else parse_scaled(config.maker_fee, 6),
            -1 if config.taker_fee is None else parse_scaled(config.taker_fee, 6),
        )
        if self.engine.account_fees.get(account.id, (-1, -1)) != wanted:
            await self.execute(SetAccountFees(account.id, *wanted), internal=True)

    def fee_rates(self, account_id: int, symbol: str) -> tuple[str, str]:
        """The (maker, taker) fee rates `account_id` pays on `symbol`, as decimal strings
        ("0.002"): its own rates if configured, else the market's. For the dialects' fee
        endpoints."""
        maker, taker = self.engine.fee_rates(account_id, symbol)
        return format_trimmed(maker, 6), format_trimmed(taker, 6)

    def account_named(self, name: str) -> Account | None:
        for account in self.engine.accounts.values():
            if account.name == name:
                return account
        return None

    async def create_account(
        self, name: str, api_key: str, secret: str, *, internal: bool = False
    ) -> Account:
        """An account and its default wallet. An empty `api_key` makes one no dialect can reach."""
        events = await self.execute(CreateAccount(name, api_key, secret), internal=internal)
        for event in events:
            if isinstance(event, Rejected):
                raise CommandRejected(event)
            if isinstance(event, AccountEvent):
                return self.engine.accounts[event.account_id]
        raise AssertionError("CreateAccount applied without an AccountEvent")

    async def credit(self, wallet_id: str, currency: str, amount: str, *, internal: bool = False) -> None:
        """Credit a decimal-string amount (negative debits)."""
        scaled = parse_scaled(amount, LEDGER_DECIMALS, allow_negative=True)
        events = await self.execute(Deposit(wallet_id, currency.upper(), scaled), internal=internal)
        for event in events:
            if isinstance(event, Rejected):
                raise CommandRejected(event)

    # ------------------------------------------------------------------ status
    @property
    def market_data_error(self) -> str | None:
        """Why this venue's book is known to be stale now, or None. Never, here: the engine's
        own state is the truth. A gateway's copy (`bus.follower`) says so while it refills."""
        return None

    async def fresh(self, timeout: float) -> str | None:
        """Wait (at most `timeout` s) until the book is not known to be stale; None, or why it
        still is. Depth snapshots are served only on None."""
        return None

    @property
    def order_entry_error(self) -> str | None:
        """Why orders cannot be taken now (journal halted, engine paused), or None."""
        if self.committer is not None and self.committer.halted:
            return self.committer.halt_reason or "journal unavailable"
        return self.fenced_reason or self.paused_reason
