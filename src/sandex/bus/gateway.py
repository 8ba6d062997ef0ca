"""A gateway's side of the bus: join (config and snapshot from the engine), follow the stream,
refill gaps from the engine's journal, forward commands.

Joining is gap-free by construction: the stream subscription (new messages only) starts before
the snapshot is asked for, and the engine publishes a row only after applying it, so every row
missing from the subscription is already in the snapshot; rows the subscription delivers twice
or that the snapshot already holds are skipped by seq (`follower.FollowerVenue.apply_rows`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

import msgspec
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.js.api import ConsumerConfig, DeliverPolicy

from ..config import Config
from ..store.group_commit import JournalUnavailable
from . import wire
from .metrics import BusTally
from .wire import Row

__all__ = ["EngineUnavailable", "GatewayLink"]

log = logging.getLogger("sandex.bus.gateway")

#: Without a heartbeat for this long the engine counts as unreachable (order entry refused).
ENGINE_SILENT_S = 4 * wire.HEARTBEAT_S
#: Longest wait for the engine's answer to a command (its group commit is milliseconds).
COMMAND_TIMEOUT_S = 5.0
#: Longest wait for each message of a chunked answer (snapshot, journal rows).
FETCH_TIMEOUT_S = 10.0


class EngineUnavailable(JournalUnavailable):
    """The engine cannot be reached over the bus: order entry is refused at once, as when the
    engine's own journal halts (the dialects answer both with their "unavailable" error)."""


class Follower(Protocol):
    def receive(self, rows: list[Row]) -> None: ...


class GatewayLink:
    def __init__(self, url: str, tally: BusTally | None = None) -> None:
        self.url = url
        self.tally = tally or BusTally()
        self.tally.gauge(
            "sandex_bus_engine_silent_seconds",
            "Seconds since the engine's last heartbeat (over 2 s: order entry is refused).",
            lambda: time.monotonic() - self._beat_at,
        )
        self.heartbeat: wire.Heartbeat | None = None
        self._beat_at = 0.0
        self._nc: Client | None = None
        self._stream_sub: Any = None
        self._follower: Follower | None = None
        self._buffer: list[list[Row]] = []
        #: The keys blocked when this gateway joined (from the engine's snapshot answer).
        self.blocks: list[wire.KeyChange] = []

    # ------------------------------------------------------------------ joining
    async def join(self) -> tuple[Config, int, bytes]:
        """Connect, follow the stream, and load the engine's config and state (waiting for the
        engine as long as it takes): (config, seq, snapshot body)."""
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    self.url,
                    name="sandex-gateway",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                )
            except Exception as exc:
                log.warning("cannot reach the bus at %s (%s); retrying", self.url, exc)
                await asyncio.sleep(1.0)
        await self._nc.subscribe(wire.HEARTBEAT, cb=self._on_heartbeat)
        while True:
            try:
                await self.resubscribe()
            except Exception as exc:  # no stream yet: the engine never ran on this NATS
                log.warning("waiting for the engine's stream on %s (%s)", self.url, exc or type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            try:
                header, body = await self._fetch(wire.SNAPSHOT, b"")
            except EngineUnavailable as exc:
                stored = await self._stored_snapshot()
                if stored is None:
                    log.warning("waiting for the engine on %s (%s)", self.url, exc)
                    await asyncio.sleep(1.0)
                    continue
                # The engine is down: start from the state it stored, and replay the stream
                # from the message after it (order entry stays refused until the engine is back).
                log.warning(
                    "the engine is down (%s): joining from its stored state at seq %d", exc, stored.seq
                )
                self._buffer.clear()
                await self.resubscribe(after=stored.stream_seq)
                return msgspec.msgpack.decode(stored.config, type=Config), stored.seq, stored.body
            self._beat_at = time.monotonic()  # it just answered: alive, before its first beat
            self.blocks = header.blocks
            return msgspec.msgpack.decode(header.config, type=Config), header.seq, body

    async def _stored_snapshot(self) -> wire.StoredSnapshot | None:
        assert self._nc is not None
        try:
            store = await self._nc.jetstream().object_store(wire.SNAPSHOTS)
            found = await store.get(wire.LATEST)
        except Exception as exc:
            log.debug("no stored state: %s", exc)
            return None
        if not found.data:
            return None
        return msgspec.msgpack.decode(found.data, type=wire.StoredSnapshot)

    async def resubscribe(self, after: int | None = None) -> None:
        """(Re)start following the stream from its next message (a stalled consumer, a NATS
        restart: what happened in between is refilled from the engine by seq), or from the
        message after JetStream sequence `after`."""
        assert self._nc is not None
        if self._stream_sub is not None:
            try:
                await self._stream_sub.unsubscribe()
            except Exception as exc:
                log.debug("old stream subscription: %s", exc)
            self._stream_sub = None
        js = self._nc.jetstream()
        if after is None:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
        else:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
        self._stream_sub = await js.subscribe(
            wire.BATCHES, stream=wire.STREAM, cb=self._on_batch, ordered_consumer=True, config=config
        )

    @property
    def connection(self) -> Client:
        """The NATS connection (once joined), for what else shares it (`keys.KeyBlockRelay`)."""
        assert self._nc is not None
        return self._nc

    def attach(self, follower: Follower) -> None:
        """From now on rows go to `follower` (those buffered since joining first)."""
        self._follower = follower
        buffered, self._buffer = self._buffer, []
        for rows in buffered:
            follower.receive(rows)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    # ------------------------------------------------------------------ state
    def unavailable(self) -> str | None:
        """Why commands cannot reach the engine now, or None."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            return "the bus is unreachable"
        if time.monotonic() - self._beat_at > ENGINE_SILENT_S:
            return "the engine is unreachable"
        if self.heartbeat is not None and self.heartbeat.halted:
            return self.heartbeat.halted
        return None

    async def _on_heartbeat(self, msg: Msg) -> None:
        try:
            self.heartbeat = msgspec.msgpack.decode(msg.data, type=wire.Heartbeat)
        except msgspec.DecodeError:
            return
        self._beat_at = time.monotonic()

    async def _on_batch(self, msg: Msg) -> None:
        try:
            batch = msgspec.msgpack.decode(msg.data, type=wire.Batch)
        except msgspec.DecodeError:
            log.error("undecodable message on %s (seq headers %s)", wire.BATCHES, msg.headers)
            return
        if not batch.rows:
            return
        self.tally.batches_received += 1
        self.tally.rows_received += len(batch.rows)
        if self._follower is None:
            self._buffer.append(batch.rows)
        else:
            self._follower.receive(batch.rows)

    # ------------------------------------------------------------------ requests
    async def command(self, body: bytes) -> int:
        """Send one encoded command to the engine; its journal seq once durable and applied."""
        tally = self.tally
        reason = self.unavailable()
        if reason is not None:
            tally.engine_unavailable += 1
            raise EngineUnavailable(reason)
        assert self._nc is not None
        tally.commands_forwarded += 1
        started = time.perf_counter()
        try:
            msg = await self._nc.request(wire.COMMANDS, body, timeout=COMMAND_TIMEOUT_S)
        except NoRespondersError:
            tally.engine_unavailable += 1
            raise EngineUnavailable("the engine is unreachable") from None
        except (TimeoutError, nats.errors.TimeoutError):
            tally.engine_unavailable += 1
            raise EngineUnavailable(
                f"the engine did not answer within {COMMAND_TIMEOUT_S:g}s (the command may have been taken)"
            ) from None
        except nats.errors.Error as exc:
            tally.engine_unavailable += 1
            raise EngineUnavailable(f"the bus failed: {exc}") from None
        tally.observe_command(time.perf_counter() - started)
        reply = msgspec.msgpack.decode(msg.data, type=wire.CommandReply)
        if reply.error:
            raise JournalUnavailable(reply.error)
        return reply.seq

    async def rows(self, after: int, through: int) -> list[Row]:
        """Journal rows after < seq <= through from the engine (some, not always all)."""
        _, body = await self._fetch(wire.ROWS, msgspec.msgpack.encode(wire.RowsRequest(after, through)))
        return msgspec.msgpack.decode(body, type=wire.Batch).rows

    async def _fetch(self, subject: str, payload: bytes) -> tuple[wire.ChunkHeader, bytes]:
        """A chunked answer: a ChunkHeader, then its chunks, on a private inbox."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise EngineUnavailable("the bus is unreachable")
        inbox = nc.new_inbox()
        queue: asyncio.Queue[Msg] = asyncio.Queue()

        async def put(msg: Msg) -> None:
            queue.put_nowait(msg)

        sub = await nc.subscribe(inbox, cb=put)
        try:
            await nc.publish(subject, payload, reply=inbox)
            first = await asyncio.wait_for(queue.get(), FETCH_TIMEOUT_S)
            if first.headers and first.headers.get("Status") == "503":
                raise EngineUnavailable("the engine is unreachable")
            header = msgspec.msgpack.decode(first.data, type=wire.ChunkHeader)
            if header.error:
                raise EngineUnavailable(header.error)
            parts = [
                (await asyncio.wait_for(queue.get(), FETCH_TIMEOUT_S)).data for _ in range(header.chunks)
            ]
        except TimeoutError:
            raise EngineUnavailable(f"the engine did not answer on {subject}") from None
        finally:
            await sub.unsubscribe()
        return header, b"".join(parts)
