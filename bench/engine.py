"""Engine throughput on exchange-core's operation mix, journal off and on, beside PyPI's engines.

Mix (as exchange-core's benchmark): 9% new GTC limit, 3% IOC, 6% cancel, 82% amend (move).
The operation list is generated once from a seed (the generator runs the engine to learn
which orders are alive), then replayed into a fresh engine for timing, so every run sees the
same commands. With the journal on, every command goes through the SQLite group commit first
and is applied once durable, in order (the venue's pipeline), and counts once acknowledged.
`bench/peers.py` replays the same list through the matching engines on PyPI.

    python bench/engine.py [--ops 300000] [--seed 1] [--runs 3] [--no-journal] [--no-peers] [--verify]

Each figure is the best of --runs runs (the machine is shared; the best run is the one least
disturbed). `--verify` checks that the engine's events are bit for bit the ones the reference
engine produced for the same commands (hashes recorded below), on this mix and on a
trade-heavy one.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import msgspec

from sandex.core.commands import (
    AmendOrder,
    CancelOrder,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    encode_command,
)
from sandex.core.engine import Engine
from sandex.core.events import Rejected
from sandex.core.markets import make_market
from sandex.core.numbers import LEDGER_ONE

MARKET = make_market("BTC_USDT", 2, 6, "0.000001", "0")
MID = 10_000_000  # 100,000.00 in ticks
ACCOUNTS = 200

#: sha256 over every event (JSON) of setup + measured, then the engine's final state, as the
#: engine before the performance work (commit ea47dcb) produced them: (mix, ops, seed) -> hash.
REFERENCE = {
    ("exchange-core", 20_000, 1): "26a0c3fa675239b33cbe1fa98b37791b8d9598c89b80120457a5a5aaa064ef92",
    ("exchange-core", 300_000, 1): "5221ae73f733ef9a168f4263fde1f84a2ffc8dda0a7f9caed64953587e00782d",
    ("trade-heavy", 50_000, 1): "2e5441b2050e5ba834de8c1e437a614d2479770bb0ae3cc5dcd3dfe9e7595b04",
}


def setup_commands(engine: Engine) -> list[Command]:
    commands: list[Command] = []
    for i in range(ACCOUNTS):
        commands.append(CreateAccount(f"u{i}", f"key{i}", f"secret{i}"))
    return commands


def generate(
    ops: int, seed: int, *, cross: int = 50, ioc_share: float = 0.03
) -> tuple[list[Command], list[Command]]:
    """Return (setup, measured) command lists.

    `cross` is how far past the mid an IOC may reach and `ioc_share` how often one comes; the
    defaults are exchange-core's mix, `--verify` also uses a trade-heavy one.
    """
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
        command = PlaceOrder(
            rng.randint(1, ACCOUNTS), "BTC_USDT", side, price=price, amount=rng.randint(1, 100) * 1000
        )
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

    gtc_share = 0.09
    new_share = gtc_share + ioc_share
    cancel_share = new_share + 0.06
    for _ in range(ops):
        roll = rng.random()
        account = rng.randint(1, ACCOUNTS)
        side = rng.choice(("buy", "sell"))
        order = None if roll < new_share else pick_live()
        if roll < gtc_share or (roll >= new_share and order is None):
            price = MID - rng.randint(1, 400) if side == "buy" else MID + rng.randint(1, 400)
            command: Command = PlaceOrder(
                account, "BTC_USDT", side, price=price, amount=rng.randint(1, 100) * 1000
            )
        elif roll < new_share:
            price = MID + rng.randint(0, cross) if side == "buy" else MID - rng.randint(0, cross)
            command = PlaceOrder(
                account, "BTC_USDT", side, tif="ioc", price=price, amount=rng.randint(1, 100) * 1000
            )
        elif roll < cancel_share:
            command = CancelOrder(order.account_id, order.id)
        else:
            step = rng.randint(-3, 3) or 1
            command = AmendOrder(order.account_id, order.id, max(1, order.price + step), order.amount)
        ts += 1
        engine.apply(command, ts)
        measured.append(command)
        if isinstance(command, PlaceOrder) and command.tif == "gtc":
            live.append(engine.next_order_id - 1)
    return setup, measured


def event_hash(setup: list[Command], measured: list[Command], seed: int) -> tuple[str, int, int]:
    """(sha256 of all events and the final state, events, trades) for the command lists."""
    engine = Engine([MARKET], seed=seed)
    digest = hashlib.sha256()
    encode = msgspec.json.Encoder().encode
    events = 0
    for command in setup:
        for event in engine.apply(command, 1):
            digest.update(encode(event))
            events += 1
    for ts, command in enumerate(measured, 2):
        for event in engine.apply(command, ts):
            digest.update(encode(event))
            events += 1
    digest.update(engine.to_state())
    return digest.hexdigest(), events, engine.next_trade_id - 1


@dataclass
class EngineResult:
    rate: float
    ops: int
    trades: int
    events: int
    rejects: int


def run_memory(setup: list[Command], measured: list[Command], seed: int) -> EngineResult:
    engine = Engine([MARKET], seed=seed)
    for command in setup:
        engine.apply(command, 1)
    events = 0
    rejects = 0
    apply = engine.apply
    gc.collect()  # the same starting point for every engine measured in this process
    started = time.perf_counter()
    for ts, command in enumerate(measured, 2):
        out = apply(command, ts)
        events += len(out)
        if out and type(out[0]) is Rejected:
            rejects += 1
    elapsed = time.perf_counter() - started
    return EngineResult(len(measured) / elapsed, len(measured), engine.next_trade_id - 1, events, rejects)


async def run_journal(
    setup: list[Command], measured: list[Command], seed: int, window: int = 4096
) -> EngineResult:
    """The venue's pipeline without its market data: journal (group commit), then apply in
    order once durable; a command counts when acknowledged. Up to `window` commands are in
    flight, as from many clients."""
    from sandex.store.group_commit import GroupCommitter
    from sandex.store.journal import Journal

    engine = Engine([MARKET], seed=seed)
    for command in setup:
        engine.apply(command, 1)
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(os.path.join(tmp, "journal.sqlite"))
        apply = engine.apply
        inflight: list = []  # (durable future, ts, command), in submission order
        head = 0
        acked = 0
        events = 0

        def on_durable() -> None:
            nonlocal head, acked, events
            # Apply every command at the head whose batch is durable, in order.
            while head < len(inflight) and inflight[head][0].done():
                future, ts, command = inflight[head]
                inflight[head] = None
                head += 1
                future.result()
                events += len(apply(command, ts))
                acked += 1

        # As `Venue` does: the committer calls back once per settled batch.
        committer = GroupCommitter(journal, on_settled=on_durable)
        gc.collect()
        started = time.perf_counter()
        for ts, command in enumerate(measured, 2):
            future = committer.submit(ts, encode_command(command))
            inflight.append((future, ts, command))
            if len(inflight) - head >= window:
                # Wait for the oldest: the writer keeps committing while we apply and submit.
                await inflight[head][0]
        while acked < len(measured):
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - started
        await committer.close()
        journal.close()
    return EngineResult(acked / elapsed, acked, engine.next_trade_id - 1, events, 0)


def verify(seed: int = 1) -> list[tuple[str, bool, str]]:
    """Check the events against the reference hashes. Returns (what, ok, detail) rows."""
    rows = []
    for (mix, ops, ref_seed), expected in REFERENCE.items():
        if ref_seed != seed:
            continue
        kwargs = {} if mix == "exchange-core" else {"cross": 400, "ioc_share": 0.30}
        setup, measured = generate(ops, seed, **kwargs)
        digest, events, trades = event_hash(setup, measured, seed)
        rows.append(
            (
                f"{mix} mix, {ops:,} ops, seed {seed}: {events:,} events, {trades:,} trades",
                digest == expected,
                digest,
            )
        )
    return rows


def best_of(runs: int, fn):
    best = None
    for _ in range(runs):
        result = fn()
        if best is None or result.rate > best.rate:
            best = result
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ops", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs per figure")
    parser.add_argument("--no-journal", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--verify", action="store_true", help="check the event stream against the reference hashes"
    )
    args = parser.parse_args()
    if args.verify:
        failed = False
        for what, ok, digest in verify(args.seed):
            print(f"verify {'OK  ' if ok else 'FAIL'} {what}" + ("" if ok else f" (got {digest})"))
            failed |= not ok
        if failed:
            sys.exit(1)
    setup, measured = generate(args.ops, args.seed)
    result = best_of(args.runs, lambda: run_memory(setup, measured, args.seed))
    print(
        f"sandex, journal off   : {result.rate:12,.0f} ops/s   ({result.ops:,} ops, {result.trades:,} trades, "
        f"{result.events:,} events, {result.rejects:,} rejected; best of {args.runs})"
    )
    if not args.no_journal:
        jres = best_of(args.runs, lambda: asyncio.run(run_journal(setup, measured, args.seed)))
        print(
            f"sandex, journal on    : {jres.rate:12,.0f} ops/s   (acknowledged after group commit; "
            f"{jres.trades:,} trades; best of {args.runs})"
        )
    if not args.no_peers:
        from peers import NOT_ADAPTED, run_peers

        best: dict[str, object] = {}
        for _ in range(args.runs):
            for peer in run_peers(setup, measured):
                if peer.name not in best or peer.rate > best[peer.name].rate:
                    best[peer.name] = peer
        for peer in best.values():
            if peer.error:
                print(f"{peer.name:22}: did not run: {peer.error}")
                continue
            trades = "n/a" if peer.trades is None else f"{peer.trades:,}"
            prefix = "" if peer.ops == len(measured) else f", first {peer.ops:,} ops only"
            print(
                f"{peer.name + ' ' + peer.version:22}: {peer.rate:12,.0f} ops/s   ({trades} trades{prefix}; "
                f"{'; '.join(peer.notes)})"
            )
        for name, why in NOT_ADAPTED.items():
            print(f"{name:22}: not run: {why}")


if __name__ == "__main__":
    main()
