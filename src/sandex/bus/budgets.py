"""Rate-limit budgets shared by every process on the bus: a key's budget is the key's, not each
gateway's (`ServerContext.shared_limiters`: DigiFinex's REST calls per API key, Infoway's REST
calls per key).

How. Each process keeps deciding locally, with its own sliding windows, and tells the others
what it accepted: every accepted request's (limiter, key) goes out on `wire.RATES` (coalesced
into one message per event-loop turn), and each process counts the others' in the same windows
(`KeyedLimiters.record`). So every window holds the key's requests on all processes, and a key
spread over any number of gateways gets the one budget a single process gives it.

Trade-off (why not the engine owning the budget). Asking the engine per request costs a round
trip on every rate-limited call, and leasing batches of tokens from it refuses a key early on one
gateway while tokens it leased sit unused on another. Counting everywhere costs no latency and
wastes nothing; its price is a bound rather than exactness under races: requests of one key
accepted on different processes within the bus's propagation time (well under a millisecond on
loopback, a network round trip otherwise) do not yet see each other, so a key hammering several
gateways at once can get a few over its budget in that instant, never a second budget
(measured on loopback: back-to-back calls ~0.7 ms apart over three processes got 5-7 of a budget
of 5, calls 1 ms apart exactly 5). While the bus is unreachable each process counts only its
own (budgets per process, as without it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg

from ..server.ratelimits import KeyedLimiters
from . import wire
from .metrics import BusTally

__all__ = ["RateRelay"]

log = logging.getLogger("sandex.bus.budgets")


class RateRelay:
    def __init__(self, limiters: dict[str, KeyedLimiters], tally: BusTally | None = None) -> None:
        self.limiters = limiters
        self.tally = tally or BusTally()
        self.origin = uuid.uuid4().hex
        self._nc: Client | None = None
        self._pending: dict[tuple[str, str], int] = {}
        self._sending: asyncio.Task[Any] | None = None
        for name, limiter in limiters.items():
            limiter.on_accept = functools.partial(self._accepted, name)

    async def start(self, nc: Client) -> None:
        self._nc = nc
        await nc.subscribe(wire.RATES, cb=self._on_message)

    def _accepted(self, name: str, key: str) -> None:
        if self._nc is None:
            return
        pending = self._pending
        pending[(name, key)] = pending.get((name, key), 0) + 1
        if self._sending is None:
            # Runs on the next turn of the loop: the uses of this turn go out in one message,
            # before the request that made them has even been answered.
            self._sending = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        nc = self._nc
        uses, self._pending = self._pending, {}
        self._sending = None
        if nc is None or not uses or not nc.is_connected:
            return  # the bus is away: this process counts only its own meanwhile
        message = wire.RateUses(self.origin, [(name, key, n) for (name, key), n in uses.items()])
        try:
            await nc.publish(wire.RATES, msgspec.msgpack.encode(message))
        except Exception as exc:
            log.debug("rate uses not sent: %s", exc)
            return
        self.tally.rate_uses_sent += sum(uses.values())

    async def _on_message(self, msg: Msg) -> None:
        try:
            message = msgspec.msgpack.decode(msg.data, type=wire.RateUses)
        except msgspec.DecodeError:
            return
        if message.origin == self.origin:
            return
        for name, key, count in message.uses:
            limiter = self.limiters.get(name)
            if limiter is not None and count > 0:
                limiter.record(key, count)
                self.tally.rate_uses_received += count
