"""Engine throughput on exchange-core's operation mix, journal off and on.

Mix (as exchange-core's benchmark): 9% new GTC limit, 3% IOC, 6% cancel, 82% amend (move).
The operation list is generated once from a seed (the generator runs the engine to learn
which orders are alive), then replayed into a fresh engine for timing, so both runs see the
same commands. With --journal, every command also goes through the SQLite group commit and
counts only once acknowledged.

    python bench/engine.py [--ops 300000] [--seed 1] [--no-journal]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from sandex.core.commands import (  # noqa: E402
    AmendOrder, CancelOrder, Command, CreateAccount, Deposit, PlaceOrder, encode_command,
)
from sandex.core.engine import Engine  # noqa: E402
from sandex.core.events import Rejected  # noqa: E402
from sandex.core.markets import make_market  # noqa: E402
from sandex.core.numbers import LEDGER_ONE  # noqa: E402

MARKET = make_market("BTC_USDT", 2, 6, "0.000001", "0")
MID = 10_000_000  # 100,000.00 in ticks
ACCOUNTS = 200


def setup_commands(engine: Engine) -> list[Command]:
    commands: list[Command] = []
    for i in range(ACCOUNTS):
        commands.append(CreateAccount(f"u{i}", f"key{i}", f"secret{i}"))
    return commands


def generate(ops: int, seed: int) -> tuple[list[Command], list[Command]]:
    """Return (setup, measured) command lists."""
    rng = random.Random(seed)
    engine = Engine([MARKET], seed=seed)
    setup = setup_commands(engine)
    ts = 1
    for command in setup:
        engine.apply(command, ts)
    for account in list(engine.accounts.values()):
        for currency, amount in (("USDT", 10**12), ("BTC", 10**7)):
            command = Deposit(account.wallets[0], currency, amount * LEDGER_ONE)
            setup.append(command)
            engine.apply(command, ts)
    # Pre-fill the book with resting orders on both sides.
    for _ in range(2000):
        side = rng.choice(("buy", "sell"))
        price = MID - rng.randint(1, 400) if side == "buy" else MID + rng.randint(1, 400)
        command = PlaceOrder(rng.randint(1, ACCOUNTS), "BTC_USDT", side, price=price, amount=rng.randint(1, 100) * 1000)
        setup.append(command)
        engine.apply(command, ts)
    measured: list[Command] = []
    # Live order ids, indexable for random choice; dead ones are dropped when picked.
    live = list(engine.orders)

    def pick_live():
        while live:
            i = rng.randrange(len(live))
            order = engine.orders.get(live[i])
            if order is not None:
                return order
            live[i] = live[-1]
            live.pop()
        return None

    for _ in range(ops):
        roll = rng.random()
        account = rng.randint(1, ACCOUNTS)
        side = rng.choice(("buy", "sell"))
        order = None if roll < 0.12 else pick_live()
        if roll < 0.09 or (roll >= 0.12 and order is None):
            price = MID - rng.randint(1, 400) if side == "buy" else MID + rng.randint(1, 400)
            command: Command = PlaceOrder(account, "BTC_USDT", side, price=price, amount=rng.randint(1, 100) * 1000)
        elif roll < 0.12:
            price = MID + rng.randint(0, 50) if side == "buy" else MID - rng.randint(0, 50)
            command = PlaceOrder(account, "BTC_USDT", side, tif="ioc", price=price, amount=rng.randint(1, 100) * 1000)
        elif roll < 0.18:
            command = CancelOrder(order.account_id, order.id)
        else:
            step = rng.randint(-3, 3) or 1
            command = AmendOrder(order.account_id, order.id, max(1, order.price + step), order.amount)
        ts += 1
        out = engine.apply(command, ts)
        measured.append(command)
        if isinstance(command, PlaceOrder) and command.tif == "gtc":
            live.append(engine.next_order_id - 1)
    return setup, measured


def run_memory(setup: list[Command], measured: list[Command], seed: int) -> tuple[float, int, int]:
    engine = Engine([MARKET], seed=seed)
    for command in setup:
        engine.apply(command, 1)
    trades = 0
    events = 0
    apply = engine.apply
    started = time.perf_counter()
    rejects = 0
    for ts, command in enumerate(measured, 2):
        out = apply(command, ts)
        events += len(out)
        if out and type(out[0]) is Rejected:
            rejects += 1
    elapsed = time.perf_counter() - started
    trades = engine.next_trade_id - 1
    return len(measured) / elapsed, trades, events, rejects


async def run_journal(setup: list[Command], measured: list[Command], seed: int) -> tuple[float, int]:
    from sandex.store.group_commit import GroupCommitter
    from sandex.store.journal import Journal

    engine = Engine([MARKET], seed=seed)
    for command in setup:
        engine.apply(command, 1)
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(os.path.join(tmp, "journal.sqlite"))
        committer = GroupCommitter(journal)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        # Commands are journaled first and applied once durable, in seq order: the pipeline
        # the server uses. Up to `window` commands are in flight, as from many clients.
        window = 4096
        pending: list[asyncio.Future] = []
        acked = 0
        for ts, command in enumerate(measured, 2):
            pending.append(committer.submit(ts, encode_command(command)))
            if len(pending) >= window:
                await pending[-1]
                for fut in pending:
                    fut.result()
                acked += len(pending)
                pending.clear()
        if pending:
            await asyncio.gather(*pending)
            acked += len(pending)
        # Applying to the engine happens inside the same loop in the server; measure it too.
        for ts, command in enumerate(measured, 2):
            engine.apply(command, ts)
        elapsed = time.perf_counter() - started
        await committer.close()
        journal.close()
        del loop
    return acked / elapsed, engine.next_trade_id - 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-journal", action="store_true")
    args = parser.parse_args()
    setup, measured = generate(args.ops, args.seed)
    rate, trades, events, rejects = run_memory(setup, measured, args.seed)
    print(f"engine, journal off : {rate:12,.0f} ops/s   ({len(measured):,} ops, {trades:,} trades, {events:,} events, {rejects:,} rejected)")
    if not args.no_journal:
        try:
            jrate, jtrades = asyncio.run(run_journal(setup, measured, args.seed))
        except ImportError as exc:
            print(f"engine, journal on  : unavailable ({exc})")
        else:
            print(f"engine, journal on  : {jrate:12,.0f} ops/s   (acknowledged after group commit; {jtrades:,} trades)")


if __name__ == "__main__":
    main()
