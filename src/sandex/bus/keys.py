"""API key blocks shared by every process on the bus: a key blocked on one gateway (by its
limits' violations or by an operator) is blocked on the engine and every other gateway, for the
same remaining time, and an operator's unblock anywhere lifts it everywhere.

Each process publishes its own guards' blocks and unblocks on `wire.KEYS` and applies the
others'; applying one does not publish it again (`_applying`). Violations are counted per
process (a key's budget of requests is shared, `budgets.RateRelay`; the violations it causes are
counted where they are refused)."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
import uuid
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg

from ..server.ratelimits import KeyGuard
from . import wire

__all__ = ["KeyBlockRelay"]

log = logging.getLogger("sandex.bus.keys")


class KeyBlockRelay:
    def __init__(self, guards: dict[str, KeyGuard]) -> None:
        self.guards = guards
        self.origin = uuid.uuid4().hex
        self._nc: Client | None = None
        self._applying = False
        self._sends: set[asyncio.Task[Any]] = set()
        for dialect, guard in guards.items():
            guard.on_block.append(functools.partial(self._changed, dialect, blocked=True))
            guard.on_unblock.append(functools.partial(self._changed, dialect, blocked=False))

    def current(self) -> list[wire.KeyChange]:
        """Every key blocked now, as changes a joining gateway applies (`apply`)."""
        now = time.monotonic()
        return [
            wire.KeyChange(
                self.origin, dialect, b.key, True, -1.0 if b.until is None else max(0.001, b.until - now)
            )
            for dialect, guard in self.guards.items()
            for b in guard.blocked()
        ]

    def apply(self, change: wire.KeyChange) -> None:
        """Apply another process's block or unblock here (without publishing it again)."""
        guard = self.guards.get(change.dialect)
        if change.origin == self.origin or guard is None:
            return
        self._applying = True
        try:
            if change.blocked:
                guard.block(change.key, None if change.remaining_s < 0 else change.remaining_s)
            else:
                guard.unblock(change.key)
        finally:
            self._applying = False

    async def start(self, nc: Client) -> None:
        self._nc = nc
        await nc.subscribe(wire.KEYS, cb=self._on_message)

    def _changed(self, dialect: str, key: str, *, blocked: bool) -> None:
        nc = self._nc
        if self._applying or nc is None:
            return
        remaining = -1.0  # until unblocked
        if blocked:
            entry = next((b for b in self.guards[dialect].blocked() if b.key == key), None)
            if entry is not None and entry.until is not None and not math.isinf(entry.until):
                remaining = max(0.001, entry.until - time.monotonic())
        change = wire.KeyChange(self.origin, dialect, key, blocked, remaining)
        task = asyncio.ensure_future(nc.publish(wire.KEYS, msgspec.msgpack.encode(change)))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _on_message(self, msg: Msg) -> None:
        try:
            change = msgspec.msgpack.decode(msg.data, type=wire.KeyChange)
        except msgspec.DecodeError:
            return
        self.apply(change)
