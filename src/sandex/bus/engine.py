"""The engine's side of the bus (`sandex serve --bus`): publish every committed batch, answer the
gateways.

Publishing. Every journal row the venue applies is published to the JetStream stream once, in
seq order, in messages of consecutive rows (`wire.Batch`, headers `Sandex-First`/`Sandex-Last`
naming their seqs, `Sandex-Venue` naming the journal they come from). Each publish carries
`Nats-Expected-Last-Sequence`: JetStream refuses it if anyone else published since, and this
engine is then *fenced* — it never publishes again and halts its own order entry, because its
state is no longer the one the gateways follow. At start the stream's last message decides too:
rows of another venue's journal, or rows this engine's journal has not reached (an older copy of
the data dir), fence it at once. Rows applied while NATS is away are read back from the journal,
so the stream never has a hole the engine could fill: SQLite stays the record, the stream is a
cache of it.

Answering (request/reply, core NATS): `wire.COMMANDS` (a command, answered with its journal seq
once durable and applied — the ack still means durable), `wire.SNAPSHOT` (the config and the
whole state at a seq, chunked) and `wire.ROWS` (journal rows, chunked: gateways refill gaps from
here). A heartbeat says the engine is alive, how far it is, and whether order entry is halted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import uuid
from collections import deque
from typing import Any

import msgspec
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError

from ..core.commands import decode_command
from ..core.events import Event
from ..server.ratelimits import KeyedLimiters, KeyGuard
from ..venue import Venue
from . import wire
from .budgets import RateRelay
from .keys import KeyBlockRelay
from .metrics import BusTally
from .wire import Row

__all__ = ["EngineLink"]

log = logging.getLogger("sandex.bus.engine")

#: Rows kept in memory for the publisher; beyond this they are read back from the journal.
MAX_QUEUED_ROWS = 200_000
#: Most rows one ROWS answer carries (a gateway asks again for the rest).
MAX_ROWS_PER_ANSWER = 50_000
#: Most rows one stream message carries (and at most wire.CHUNK_BYTES of them).
MAX_ROWS_PER_MESSAGE = 5_000
PUBLISH_TIMEOUT_S = 5.0
#: How often the engine reads the stream's size for /metrics.
STREAM_WATCH_S = 2.0
#: How often the engine stores its state in the object store (when it changed): a gateway that
#: starts while the engine is down replays at most this much of the stream.
STORE_SNAPSHOT_EVERY_S = 30.0
_VENUE_META = "bus_venue_id"


class Fenced(Exception):
    pass


class EngineLink:
    def __init__(
        self,
        venue: Venue,
        url: str,
        *,
        key_guards: dict[str, KeyGuard] | None = None,
        limiters: dict[str, KeyedLimiters] | None = None,
        tally: BusTally | None = None,
    ) -> None:
        if venue.journal is None:
            raise ValueError("the bus needs the journal (journal.sync must not be off)")
        self.venue = venue
        self.url = url
        self.fenced: str | None = None
        #: Last journal seq on the stream, and JetStream's sequence of that message.
        self.published = 0
        self._stream_seq = 0
        self._venue_id = ""
        self._config = msgspec.msgpack.encode(venue.config)
        self._queue: deque[Row] = deque()
        self._wake = asyncio.Event()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._replies: set[asyncio.Task[None]] = set()
        self._keys = KeyBlockRelay(key_guards) if key_guards is not None else None
        self.tally = tally or BusTally()
        self._rates = RateRelay(limiters, self.tally) if limiters else None
        self.tally.gauge(
            "sandex_bus_published_seq", "Last journal seq on the stream.", lambda: self.published
        )
        self._stream_held = (0, 0)
        self.tally.gauge(
            "sandex_bus_stream_messages",
            "Messages the stream holds (read every few seconds).",
            lambda: self._stream_held[0],
        )
        self.tally.gauge(
            "sandex_bus_stream_bytes",
            "Bytes the stream holds (read every few seconds).",
            lambda: self._stream_held[1],
        )
        self.tally.gauge(
            "sandex_bus_fenced",
            "1 once this engine is fenced off the stream.",
            lambda: int(bool(self.fenced)),
        )

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect (retrying in the background if NATS is not up yet) and start publishing."""
        journal = self.venue.journal
        assert journal is not None
        stored = journal.get_meta(_VENUE_META)
        if stored is None:
            stored = uuid.uuid4().hex.encode()
            journal.set_meta(_VENUE_META, stored)
        self._venue_id = stored.decode()
        self.venue.on_applied = self._on_applied
        self._tasks.append(asyncio.create_task(self._run(), name="bus-engine"))

    async def stop(self) -> None:
        self.venue.on_applied = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._replies, return_exceptions=True)
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def _run(self) -> None:
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    self.url,
                    name="sandex-engine",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                )
            except Exception as exc:  # NATS is not up yet: the engine serves on regardless
                log.warning("cannot reach the bus at %s (%s); retrying", self.url, exc)
                await asyncio.sleep(1.0)
        self._js = self._nc.jetstream()
        while True:
            try:
                await self._take_position()
                break
            except Fenced as exc:
                self._fence(str(exc))
                return
            except Exception as exc:
                log.warning("cannot open the stream %s (%s); retrying", wire.STREAM, exc)
                await asyncio.sleep(1.0)
        nc = self._nc
        if self._keys is not None:
            await self._keys.start(nc)
        if self._rates is not None:
            await self._rates.start(nc)
        self._subs = [
            await nc.subscribe(wire.COMMANDS, cb=self._on_command),
            await nc.subscribe(wire.SNAPSHOT, cb=self._on_snapshot),
            await nc.subscribe(wire.ROWS, cb=self._on_rows),
        ]
        log.info("bus: publishing to %s on %s from journal seq %d", wire.STREAM, self.url, self.published + 1)
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="bus-heartbeat"))
        self._tasks.append(asyncio.create_task(self._store_snapshots(), name="bus-snapshots"))
        self._tasks.append(asyncio.create_task(self._watch_stream(), name="bus-stream-state"))
        await self._publish_loop()

    # ------------------------------------------------------------------ fencing
    async def _take_position(self) -> None:
        """Open the stream and decide where publishing resumes, or raise Fenced."""
        js = self._js
        assert js is not None
        wanted = self._stream_config()
        try:
            info = await js.stream_info(wire.STREAM)
        except NotFoundError:
            info = await js.add_stream(wanted)
        else:
            have = (info.config.max_msgs, info.config.max_bytes, info.config.max_age)
            if have != (wanted.max_msgs, wanted.max_bytes, wanted.max_age):
                # The config's limits changed since the stream was made: they hold from now on
                # (JetStream trims the oldest messages at once).
                config = dataclasses.replace(
                    info.config, max_msgs=wanted.max_msgs, max_bytes=wanted.max_bytes, max_age=wanted.max_age
                )
                info = await js.update_stream(config)
        self._stream_seq = info.state.last_seq
        applied = self.venue.applied_seq
        if self._stream_seq == 0 or info.state.messages == 0:
            # An empty stream (new, or every message aged out): nothing to continue from.
            # Gateways load a snapshot anyway, and refill what they lack from the journal.
            self.published = applied
            return
        venue_id, last = await self._last_message()
        if venue_id != self._venue_id:
            raise Fenced(f"the stream {wire.STREAM} carries another venue's journal ({venue_id})")
        if last > applied:
            raise Fenced(
                f"the stream holds journal seq {last}, past this engine's {applied} "
                "(another engine publishes there, or this data dir is an older copy)"
            )
        self.published = last  # the rows after it are read back from the journal

    def _stream_config(self) -> StreamConfig:
        """The stream as `[bus]` bounds it. A cache of the journal: the oldest messages go first
        (DiscardPolicy.OLD), and a gateway that needs them refills them from the engine."""
        bus = self.venue.config.bus
        return StreamConfig(
            name=wire.STREAM,
            subjects=[wire.BATCHES],
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_msgs=bus.stream_max_msgs or -1,
            max_bytes=bus.stream_max_bytes or -1,
            max_age=float(bus.stream_max_age_s),  # 0: kept however old
        )

    async def _reopen_stream(self) -> None:
        """After a failed publish: find the stream as it is now. A NATS that lost its store
        (the stream is gone or empty) gets a new stream, continued from here; a stream whose
        last message is another venue's fences this engine."""
        js = self._js
        assert js is not None
        try:
            info = await js.stream_info(wire.STREAM)
        except NotFoundError:
            log.warning("bus: the stream %s is gone; creating it again", wire.STREAM)
            await self._take_position()  # empty: gateways refill what it lacks from the journal
            return
        if info.state.last_seq == 0 or info.state.messages == 0:
            self._stream_seq = info.state.last_seq
            return
        venue_id, last = await self._last_message()
        if venue_id != self._venue_id or last > self.venue.applied_seq:
            raise Fenced(f"another engine published to {wire.STREAM} (journal seq {last})")
        self._stream_seq, self.published = info.state.last_seq, last

    async def _last_message(self) -> tuple[str, int]:
        js = self._js
        assert js is not None
        msg = await js.get_last_msg(wire.STREAM, wire.BATCHES)
        headers = msg.headers or {}
        return str(headers.get("Sandex-Venue", "")), int(headers.get("Sandex-Last", 0))

    def _fence(self, reason: str) -> None:
        self.fenced = reason
        log.error("bus: fenced, publishing stopped and order entry halted: %s", reason)
        self.venue.fenced_reason = f"fenced off the bus: {reason}"
        for sub in self._subs:
            self._reply_later(sub.unsubscribe())
        self._subs = []

    # ------------------------------------------------------------------ publishing
    def _on_applied(self, rows: list[Row]) -> None:
        if self.fenced:
            return
        queue = self._queue
        queue.extend(rows)
        if len(queue) > MAX_QUEUED_ROWS:
            queue.clear()  # NATS has been away long: the journal has them all
        self._wake.set()

    async def _publish_loop(self) -> None:
        self._wake.set()  # rows journaled before the link started (a restart) go out at once
        while True:
            await self._wake.wait()
            self._wake.clear()
            while not self.fenced and self.venue.applied_seq > self.published:
                rows = await self._next_rows()
                try:
                    await self._publish(rows)
                except Fenced as exc:
                    self._fence(str(exc))
                    return
                except Exception as exc:  # NATS away or slow: the same rows again, later
                    self.tally.publish_failures += 1
                    log.warning("bus: publish failed (%s); retrying", exc)
                    await asyncio.sleep(0.5)
                    try:
                        await self._reopen_stream()
                    except Fenced as fenced:
                        self._fence(str(fenced))
                        return
                    except Exception as again:
                        log.debug("bus: stream not reopened yet: %s", again)

    async def _next_rows(self) -> list[Row]:
        """The rows after `published`: from the queue, or from the journal where it has a hole."""
        queue, after = self._queue, self.published
        while queue and queue[0][0] <= after:
            queue.popleft()
        if not queue or queue[0][0] > after + 1:
            through = queue[0][0] - 1 if queue else self.venue.applied_seq
            return wire.fitting(await self._journal_rows(after, through, MAX_ROWS_PER_MESSAGE))
        rows: list[Row] = []
        expected = after + 1
        while queue and queue[0][0] == expected and len(rows) < MAX_ROWS_PER_MESSAGE:
            rows.append(queue.popleft())
            expected += 1
        fit = wire.fitting(rows)
        queue.extendleft(reversed(rows[len(fit) :]))  # the rest go in the next message
        return fit

    async def _journal_rows(self, after: int, through: int, limit: int) -> list[Row]:
        journal = self.venue.journal
        assert journal is not None

        def read() -> list[Row]:
            rows = itertools.takewhile(lambda row: row[0] <= through, journal.read_from(after))
            return list(itertools.islice(rows, limit))

        return await asyncio.to_thread(read)

    async def _publish(self, rows: list[Row]) -> None:
        js = self._js
        assert js is not None
        first, last = rows[0][0], rows[-1][0]
        headers = {
            "Nats-Expected-Last-Sequence": str(self._stream_seq),
            "Nats-Msg-Id": f"{self._venue_id}:{first}-{last}",
            "Sandex-Venue": self._venue_id,
            "Sandex-First": str(first),
            "Sandex-Last": str(last),
        }
        body = msgspec.msgpack.encode(wire.Batch(rows))
        try:
            ack = await js.publish(wire.BATCHES, body, timeout=PUBLISH_TIMEOUT_S, headers=headers)
        except APIError as exc:
            if exc.err_code != wire.WRONG_LAST_SEQUENCE:
                raise
            # Someone published since: this engine's own earlier try (its ack was lost), or
            # another engine. The stream's last message tells which.
            info = await js.stream_info(wire.STREAM)
            venue_id, stream_last = await self._last_message()
            if venue_id == self._venue_id and stream_last >= last:
                self._stream_seq, self.published = info.state.last_seq, stream_last
                return
            raise Fenced(f"another engine published to {wire.STREAM} (journal seq {stream_last})") from None
        self._stream_seq = ack.seq
        self.published = last
        self.tally.batches_published += 1
        self.tally.rows_published += len(rows)

    async def _heartbeats(self) -> None:
        nc = self._nc
        assert nc is not None
        while not self.fenced:
            try:
                if nc.is_connected:
                    halted = self.venue.order_entry_error or ""
                    beat = wire.Heartbeat(self.venue.applied_seq, self.published, halted)
                    await nc.publish(wire.HEARTBEAT, msgspec.msgpack.encode(beat))
            except Exception as exc:
                log.debug("bus: heartbeat not sent: %s", exc)
            await asyncio.sleep(wire.HEARTBEAT_S)

    async def _watch_stream(self) -> None:
        """What the stream holds now, for /metrics: that its limits keep it bounded."""
        js = self._js
        assert js is not None
        while not self.fenced:
            try:
                state = (await js.stream_info(wire.STREAM)).state
                self._stream_held = (state.messages, state.bytes)
            except Exception as exc:
                log.debug("bus: stream state not read: %s", exc)
            await asyncio.sleep(STREAM_WATCH_S)

    async def _store_snapshots(self) -> None:
        """Keep the latest state in the object store (the first right away)."""
        js = self._js
        assert js is not None
        stored = -1
        store = None
        while not self.fenced:
            try:
                if store is None:
                    try:
                        store = await js.object_store(wire.SNAPSHOTS)
                    except NotFoundError:
                        store = await js.create_object_store(wire.SNAPSHOTS)
                if self.venue.applied_seq != stored:
                    # The rows after the state are in messages after the last one published now.
                    stream_seq = self._stream_seq
                    seq, body = self.venue.snapshot()
                    data = msgspec.msgpack.encode(wire.StoredSnapshot(seq, stream_seq, self._config, body))
                    await store.put(wire.LATEST, data)
                    stored = seq
            except Exception as exc:
                log.warning("bus: state not stored (%s); retrying", exc)
                store = None
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(STORE_SNAPSHOT_EVERY_S)

    # ------------------------------------------------------------------ answering
    def _reply_later(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _on_command(self, msg: Msg) -> None:
        """Submit at once and answer when the command is durable and applied (not awaited here:
        NATS runs one subscription's callbacks one after another)."""
        self.tally.commands_received += 1
        try:
            command = decode_command(msg.data)
        except Exception:
            self._reply_later(msg.respond(msgspec.msgpack.encode(wire.CommandReply(error="bad command"))))
            return
        if self.fenced:
            reply = wire.CommandReply(error=f"this engine is fenced: {self.fenced}")
            self._reply_later(msg.respond(msgspec.msgpack.encode(reply)))
            return
        future = self.venue.submit_sequenced(command)

        def answer(done: asyncio.Future[tuple[int, list[Event]]]) -> None:
            if done.cancelled():
                reply = wire.CommandReply(error="cancelled")
            elif (exc := done.exception()) is not None:
                reply = wire.CommandReply(error=str(exc) or type(exc).__name__)
            else:
                reply = wire.CommandReply(seq=done.result()[0])
            self._reply_later(msg.respond(msgspec.msgpack.encode(reply)))

        future.add_done_callback(answer)

    async def _on_snapshot(self, msg: Msg) -> None:
        self.tally.snapshots_served += 1
        seq, body = self.venue.snapshot()
        blocks = self._keys.current() if self._keys is not None else []
        self._reply_later(self._send_chunked(msg.reply, seq, body, config=self._config, blocks=blocks))

    async def _on_rows(self, msg: Msg) -> None:
        try:
            request = msgspec.msgpack.decode(msg.data, type=wire.RowsRequest)
        except msgspec.DecodeError:
            header = wire.ChunkHeader(0, 0, error="bad rows request")
            self._reply_later(msg.respond(msgspec.msgpack.encode(header)))
            return

        async def answer() -> None:
            rows = await self._journal_rows(request.after, request.through, MAX_ROWS_PER_ANSWER)
            self.tally.rows_served += len(rows)
            body = msgspec.msgpack.encode(wire.Batch(rows))
            await self._send_chunked(msg.reply, rows[-1][0] if rows else request.after, body)

        self._reply_later(answer())

    async def _send_chunked(
        self,
        inbox: str,
        seq: int,
        body: bytes,
        *,
        config: bytes = b"",
        blocks: list[wire.KeyChange] | None = None,
    ) -> None:
        nc = self._nc
        if nc is None or not inbox:
            return
        parts = wire.chunks(body)
        header = wire.ChunkHeader(seq, len(parts), config=config, blocks=blocks or [])
        await nc.publish(inbox, msgspec.msgpack.encode(header))
        for part in parts:
            await nc.publish(inbox, part)
