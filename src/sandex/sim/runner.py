"""Drives the agents in real time through the venue, like any other client.

`simulate` is the deterministic offline driver (a seeded run over an engine with an injected
clock gives the same event stream every time); `Simulator` is the live one used by `sandex serve`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import SIMULATOR_ACCOUNTS, SimulatorConfig
from ..core.commands import Command, CreateAccount, Deposit, PlaceOrder, RevokeKey
from ..core.engine import Account, Engine
from ..core.events import Event, OrderEvent, Rejected
from ..core.markets import Market
from ..core.numbers import LEDGER_ONE
from ..replay.service import replayed_markets
from ..venue import Venue
from .agents import MarketAgent

log = logging.getLogger("sandex.sim")

MAKER, TAKER = SIMULATOR_ACCOUNTS
#: Funds each simulator account gets per currency, in whole units; topped up when low.
FUNDING = 10**12
#: Virtual time between two actions of a market's agent while generating history: coarser than
#: live trading (20 a second), so three days take seconds, and still a few trades a minute.
HISTORY_STEP_MS = 10_000
#: History steps sent before waiting for them to apply (one group commit covers many).
HISTORY_CHUNK = 200


def _feedback(agent: MarketAgent, command: Command, events: list[Event]) -> None:
    if isinstance(command, PlaceOrder) and command.account_id == agent.maker_id and command.source_id:
        order_id = 0
        for event in events:
            if isinstance(event, OrderEvent) and event.account_id == agent.maker_id:
                order_id = event.order_id if event.resting else 0
            elif isinstance(event, Rejected):
                order_id = 0
        agent.placed(command.source_id, order_id)


def simulate(
    markets: Iterable[Market],
    seed: int,
    steps: int,
    *,
    levels: int = 10,
    taker_ratio: float = 0.3,
    start_ms: int = 1_700_000_000_000,
    step_ms: int = 50,
) -> list[Event]:
    """Run the agents against a fresh engine with a fake clock; return every event."""
    markets = list(markets)
    engine = Engine(markets, seed=seed)
    events: list[Event] = []
    now = start_ms
    for name in (MAKER, TAKER):
        events += engine.apply(CreateAccount(name, "", ""), now)
    by_name = {account.name: account for account in engine.accounts.values()}
    maker, taker = by_name[MAKER], by_name[TAKER]
    currencies = sorted({m.base for m in markets} | {m.quote for m in markets})
    for account in (maker, taker):
        for currency in currencies:
            events += engine.apply(Deposit(account.wallets[0], currency, FUNDING * LEDGER_ONE), now)
    rng = random.Random(seed)
    agents = [
        MarketAgent(
            m,
            random.Random(rng.random()),
            maker_id=maker.id,
            taker_id=taker.id,
            levels=levels,
            taker_ratio=taker_ratio,
        )
        for m in markets
    ]
    for _ in range(steps):
        now += step_ms
        for agent in agents:
            command = agent.next_command(engine)
            if command is None:
                continue
            out = engine.apply(command, now)
            _feedback(agent, command, out)
            events += out
    return events


class Simulator:
    def __init__(self, venue: Venue, config: SimulatorConfig, *, tick_s: float | None = None) -> None:
        self.venue = venue
        self.config = config
        self.tick_s = config.tick_ms / 1000 if tick_s is None else tick_s
        self.agents: list[MarketAgent] = []
        self._task: asyncio.Task[None] | None = None
        self._inflight = 0

    async def _accounts(self, at: int | None = None) -> dict[str, Account]:
        """The maker's and the taker's accounts, created (and funded) if missing."""
        venue = self.venue
        accounts = {}
        for name in (MAKER, TAKER):
            account = venue.account_named(name)
            if account is None:
                # No API key: the simulator's accounts are out of every dialect's reach (their
                # keys used to be derivable from the name and the seed).
                await venue.execute(CreateAccount(name, "", ""), internal=True, at=at)
                account = venue.account_named(name)
                assert account is not None
            elif account.api_key:  # a data dir from before: take the derivable key away
                await venue.execute(RevokeKey(account.id), internal=True, at=at)
            accounts[name] = account
        await self._fund(accounts.values(), at)
        return accounts

    def _agents(self, accounts: dict[str, Account]) -> list[MarketAgent]:
        rng = random.Random(self.config.seed)
        return [
            MarketAgent(
                m,
                random.Random(rng.random()),
                maker_id=accounts[MAKER].id,
                taker_id=accounts[TAKER].id,
                levels=self.config.levels,
                taker_ratio=self.config.taker_ratio,
            )
            for m in self.venue.markets
            # A replayed market trades the recording, not the simulator.
            if m.symbol not in replayed_markets(self.venue.engine)
        ]

    async def prepare(self) -> None:
        """On a fresh data dir, trade `history` before going live (see `generate_history`).
        The venue runs this before its configured accounts, which are stamped with the clock."""
        if self.config.history_ms > 0 and not self.venue.engine.accounts:
            await self.generate_history(self.config.history_ms)

    async def generate_history(self, span_ms: int, *, progress: bool = True) -> int:
        """Trade the last `span_ms` on a virtual clock, through the venue (journaled, applied,
        published like any command), so the markets open with klines, a 24 h ticker and recent
        trades. Each market's agent acts once every HISTORY_STEP_MS of virtual time. The
        commands depend only on the seed, the span and where it ends. Returns the commands sent."""
        venue = self.venue
        end = int(venue.clock() * 1000)
        at = end - span_ms
        agents = self._agents(await self._accounts(at))
        steps = span_ms // HISTORY_STEP_MS
        sent = 0
        with Progress(
            TextColumn("[bold]simulating {task.fields[span]} of history"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not progress,
        ) as bar:
            task = bar.add_task("history", total=steps, span=self.config.history)
            for first in range(0, steps, HISTORY_CHUNK):
                last: asyncio.Future[list[Event]] | None = None
                for _ in range(min(HISTORY_CHUNK, steps - first)):
                    at += HISTORY_STEP_MS
                    for agent in agents:
                        command = agent.next_command(venue.engine)
                        if command is not None:
                            last = self._send(agent, command, at)
                            sent += 1
                if last is not None:
                    # Commands apply in order: once the chunk's last is applied, all are, and
                    # the agents have their feedback before the next chunk reads the books.
                    await asyncio.gather(last, return_exceptions=True)
                bar.update(task, advance=min(HISTORY_CHUNK, steps - first))
        log.info("simulated %s of history (%d commands)", self.config.history, sent)
        return sent

    async def start(self) -> None:
        venue = self.venue
        accounts = await self._accounts()
        self.agents = self._agents(accounts)
        # Adopt the quotes a previous run (or the history) left on the book, so they are amended.
        for order in venue.engine.orders.values():
            if order.account_id == accounts[MAKER].id and order.source_id:
                for agent in self.agents:
                    if agent.market.symbol == order.symbol:
                        agent.placed(order.source_id, order.id)
        self._task = asyncio.create_task(self._run(), name="simulator")

    async def _fund(self, accounts: Iterable[Account], at: int | None = None) -> None:
        currencies = sorted({m.base for m in self.venue.markets} | {m.quote for m in self.venue.markets})
        for account in accounts:
            for currency in currencies:
                free = self.venue.engine.ledger.free(account.wallets[0], currency)
                if free < FUNDING * LEDGER_ONE // 10:
                    await self.venue.execute(
                        Deposit(account.wallets[0], currency, FUNDING * LEDGER_ONE - free),
                        internal=True,
                        at=at,
                    )

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        rate = self.config.orders_per_second
        credit = 0.0
        last = loop.time()
        refund_at = last + 60
        max_inflight = max(100, int(rate * len(self.agents)))
        while True:
            await asyncio.sleep(self.tick_s)
            now = loop.time()
            credit = min(credit + (now - last) * rate, rate)  # no catch-up bursts after a stall
            last = now
            if self.venue.order_entry_error:
                continue
            while credit >= 1.0:
                credit -= 1.0
                for agent in self.agents:
                    if self._inflight >= max_inflight:
                        break
                    command = agent.next_command(self.venue.engine)
                    if command is not None:
                        self._send(agent, command)
            if now > refund_at:
                refund_at = now + 60
                await self._fund(
                    [
                        self.venue.engine.accounts[self.agents[0].maker_id],
                        self.venue.engine.accounts[self.agents[0].taker_id],
                    ]
                    if self.agents
                    else []
                )

    def _send(
        self, agent: MarketAgent, command: Command, at: int | None = None
    ) -> asyncio.Future[list[Event]]:
        self._inflight += 1
        future = self.venue.submit(command, internal=True, at=at)

        def done(fut: asyncio.Future[list[Event]]) -> None:
            self._inflight -= 1
            if fut.cancelled() or fut.exception() is not None:
                if isinstance(command, PlaceOrder) and command.source_id:
                    agent.placed(command.source_id, 0)
                return
            _feedback(agent, command, fut.result())

        future.add_done_callback(done)
        return future
