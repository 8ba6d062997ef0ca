"""One WebSocket connection: a single ordered write path, slow-consumer policy, receive loop.

Every outbound frame — replies, errors, pushes, pongs, the close frame — is pre-framed bytes
written synchronously to the connection's transport by `send_frame`. There is no per-session
queue and no await on the way out, so frames leave in exactly the order they were produced (an ack
written before a push arrives first) and a publisher never waits for a subscriber.

The transport's own write buffer *is* the bounded send queue: once the kernel socket buffer is
full, asyncio/uvloop keeps the rest in user space, and `get_write_buffer_size()` reports it. A
session whose buffer passes `send_buffer_limit` is a slow consumer: it is marked dead and its
transport aborted on the spot (counted as a drop) — it never slows anyone else down. Size alone
does not bound the time: a client that stops reading while little is sent to it would sit under
the limit for minutes. So a backlog that has not drained at all for `drain_timeout` seconds
is cut too (counted as a stalled consumer): the liveness sweeper checks every second that some
of a session's backlog reached the client.

aiohttp is used for the handshake and for parsing inbound frames only. The response is prepared
with `autoping=False` (pings reach us: they are liveness for DBot, and our pong must go through
the ordered path), `autoclose=False` (we run the closing handshake ourselves, so a close frame is
never sent twice) and `compress=False` (no permessage-deflate; DigiFinex compresses payloads).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMsgType, web

from .framing import encode_close, encode_frame, encode_pong
from .metrics import DialectTally
from .ratelimits import SlidingWindowLimiter

if TYPE_CHECKING:
    from ..faults.connection import ConnectionFaults

log = logging.getLogger("sandex.server.session")

try:  # Linux: bytes in a socket's send queue the peer has not acknowledged
    import fcntl
    import termios

    _OUTQ: int | None = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - other platforms see the transport only
    _OUTQ = None


def _unacknowledged(sock: Any) -> int:
    if _OUTQ is None or sock is None:
        return 0
    try:
        return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0])
    except (OSError, ValueError):
        return 0


MiB: Final = 1024 * 1024

# Session phases. Checked on every write, so they are small ints, not an Enum.
_OPEN: Final = 0
_CLOSING: Final = 1  # our close frame is out; waiting for the client's
_DEAD: Final = 2  # transport closed or aborted

OnMessage = Callable[["Session", "bytes | str", bool], "Awaitable[None] | None"]
OnLimit = Callable[["Session"], None]

# Sessions created without a tally (tests, tools) count into this one, unexported.
_UNTRACKED = DialectTally()


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Per-dialect connection limits (from the config file's protocol limits)."""

    max_msg_size: int = 4 * MiB  # largest inbound message; bigger ones close with 1009
    send_buffer_limit: int = 4 * MiB  # bytes buffered for a client before it is dropped
    drain_timeout: float | None = 10.0  # seconds a backlog may go undrained before the cut; None = off
    close_timeout: float = 5.0  # how long to wait for the client's close frame


class Session:
    """A live WebSocket connection of one dialect. Create it with `Session.accept`."""

    __slots__ = (
        "_bytes_written",
        "_close_timeout",
        "_close_timer",
        "_delivered",
        "_drain_timeout",
        "_phase",
        "_send_limit",
        "_socket",
        "_stalled_since",
        "_tally",
        "_transport",
        "_ws",
        "account_id",
        "dialect",
        "faults",
        "frames_in",
        "frames_out",
        "key",
        "last_recv",
        "opened_at",
        "state",
        "topics",
    )

    dialect: str
    key: str | None  # the API key the connection authenticated with, if any
    account_id: Any  # whatever the dialect resolved the key to
    state: Any  # free slot for the dialect's per-connection state
    topics: frozenset[Hashable] | None  # maintained by TopicHub; None while subscribed to nothing
    opened_at: float  # time.monotonic()
    last_recv: float  # time.monotonic() of the last inbound frame, control frames included
    frames_in: int
    frames_out: int
    #: Fault injection in force on this connection (sandex.faults), or None: the usual case.
    faults: ConnectionFaults | None

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        *,
        dialect: str,
        key: str | None = None,
        account_id: Any = None,
        config: SessionConfig = SessionConfig(),
        tally: DialectTally | None = None,
    ) -> None:
        self.dialect = dialect
        self.key = key
        self.account_id = account_id
        self.state = None
        self.topics = None
        self.opened_at = self.last_recv = time.monotonic()
        self.frames_in = 0
        self.frames_out = 0
        self.faults = None
        self._ws = ws
        self._transport = transport
        self._tally = tally if tally is not None else _UNTRACKED
        self._send_limit = config.send_buffer_limit
        self._drain_timeout = config.drain_timeout
        # Drain tracking (`check_drain`): bytes handed to the transport, how many of them had
        # reached the client at the last check, and since when none has while some are pending.
        self._bytes_written = 0
        self._delivered = 0
        self._stalled_since: float | None = None
        self._socket = transport.get_extra_info("socket")
        self._close_timeout = config.close_timeout
        self._phase = _OPEN
        self._close_timer: asyncio.TimerHandle | None = None

    @classmethod
    async def accept(
        cls,
        request: web.Request,
        *,
        dialect: str,
        key: str | None = None,
        account_id: Any = None,
        config: SessionConfig = SessionConfig(),
        tally: DialectTally | None = None,
    ) -> Session:
        """Complete the upgrade handshake (status 101) and wrap the connection.

        Refusing an upgrade (401 for a bad key) is done before this, with a plain HTTP response.
        """
        ws = web.WebSocketResponse(
            autoping=False,
            autoclose=False,
            compress=False,
            heartbeat=None,  # liveness is the sweeper's job: one task, not a timer per socket
            # aiohttp 3.14 refuses a message of exactly max_msg_size bytes (its check is >=);
            # +1 makes our setting mean "largest message accepted".
            max_msg_size=config.max_msg_size + 1,
            timeout=config.close_timeout,  # bounds aiohttp's own close (on protocol errors)
        )
        await ws.prepare(request)
        # `prepare` has flushed the 101 response and built aiohttp's WebSocketWriter around this
        # same object (`request._protocol.transport`). `request.transport` is the public way to
        # reach it; read it now, because it turns None once the connection is lost.
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("connection lost during the WebSocket handshake")
        return cls(
            ws,
            transport,
            dialect=dialect,
            key=key,
            account_id=account_id,
            config=config,
            tally=tally,
        )

    # -- state ------------------------------------------------------------------------------

    @property
    def ws(self) -> web.WebSocketResponse:
        """The aiohttp response; route handlers return it. Do not send through it."""
        return self._ws

    @property
    def is_open(self) -> bool:
        """True until a close is started or the connection is lost/dropped."""
        return self._phase == _OPEN

    @property
    def write_buffer_size(self) -> int:
        """Bytes accepted for this client but not yet handed to the kernel."""
        return 0 if self._phase == _DEAD else self._transport.get_write_buffer_size()

    @property
    def peer(self) -> str:
        peer = self._transport.get_extra_info("peername")
        return f"{peer[0]}:{peer[1]}" if peer else "?"

    def __repr__(self) -> str:
        phase = ("open", "closing", "dead")[self._phase]
        return f"<Session {self.dialect} key={self.key!r} {phase}>"

    # -- the one write path -----------------------------------------------------------------

    def send_frame(self, frame: bytes) -> bool:
        """Write one complete pre-built frame. False if the session is closing, dead or dropped.

        Synchronous on purpose: nothing can be interleaved between two calls, and a publisher can
        call it for thousands of sessions without awaiting any of them.
        """
        if self._phase:
            return False
        faults = self.faults
        if faults is not None and faults.delaying:
            return faults.delay(frame)
        return self._write(frame)

    def send_frames(self, data: bytes, count: int) -> bool:
        """Write `count` complete frames joined into one `data` (a coalesced broadcast round):
        one transport write, counted as `count` frames out. No fault injection: sessions with
        fault profiles are given their frames one by one (`send_frame`)."""
        if self._phase:
            return False
        return self._write(data, count)

    def write_now(self, frame: bytes) -> bool:
        """`send_frame` without fault injection: how delayed frames finally go out."""
        if self._phase:
            return False
        return self._write(frame)

    def send_text(self, text: str) -> bool:
        return self.send_frame(encode_frame(text.encode("utf-8"), binary=False))

    def send_binary(self, data: bytes) -> bool:
        return self.send_frame(encode_frame(data, binary=True))

    def _write(self, frame: bytes, count: int = 1) -> bool:
        transport = self._transport
        if transport.is_closing():
            # Lost underneath us (peer reset); writing to a closed asyncio transport only logs.
            self._phase = _DEAD
            return False
        transport.write(frame)
        self.frames_out += count
        self._tally.frames_out += count
        self._bytes_written += len(frame)
        if transport.get_write_buffer_size() > self._send_limit:
            self._drop_slow_consumer()
            return False
        return True

    def check_drain(self, now: float) -> bool:
        """Cut the session if nothing of its backlog has reached the client for `drain_timeout`
        seconds; True if it was cut. The liveness sweeper asks every second.

        The backlog is what the transport holds plus what the kernel has not had acknowledged
        (Linux SIOCOUTQ): a client that stops reading fills the kernel's send buffer first, which
        grows to megabytes, so the transport's buffer alone stays empty for a long time.
        """
        if self._phase != _OPEN or self._drain_timeout is None:
            return False
        if self._bytes_written == self._delivered:
            return False  # all delivered at the last check and nothing written since: no syscall
        pending = self._transport.get_write_buffer_size() + _unacknowledged(self._socket)
        delivered = self._bytes_written - pending
        if not pending or delivered != self._delivered:
            self._delivered = delivered
            self._stalled_since = None
            return False
        since = self._stalled_since
        if since is None:
            self._stalled_since = now
            return False
        if now - since <= self._drain_timeout:
            return False
        self._drop_stalled_consumer(pending)
        return True

    def _drop_stalled_consumer(self, pending: int) -> None:
        self._tally.stalled_consumer_drops += 1
        log.warning(
            "dropping stalled %s consumer %s (key=%s): %d bytes undelivered, none read for over %gs",
            self.dialect,
            self.peer,
            self.key,
            pending,
            self._drain_timeout,
        )
        self.abort()

    def _drop_slow_consumer(self) -> None:
        self._tally.slow_consumer_drops += 1
        log.warning(
            "dropping slow %s consumer %s (key=%s): %d bytes unsent, limit %d",
            self.dialect,
            self.peer,
            self.key,
            self._transport.get_write_buffer_size(),
            self._send_limit,
        )
        self.abort()

    # -- closing ----------------------------------------------------------------------------

    def close(self, code: int = 1000, message: str | bytes = b"") -> None:
        """Start the closing handshake: send a close frame now, after everything already sent.

        Synchronous, so a dialect can write its error frame and close in one step (Infoway 501 /
        513). The receive loop keeps reading until the client answers with its own close frame,
        then closes the TCP connection; if the client does not answer within `close_timeout`, the
        transport is aborted. Later sends are refused.
        """
        if self._phase:
            return
        self._phase = _CLOSING
        if not self._write(encode_close(code, message)):
            return  # already lost or dropped; nothing to wait for
        self._close_timer = asyncio.get_running_loop().call_later(self._close_timeout, self._close_timed_out)

    def abort(self) -> None:
        """Drop the connection at once, discarding anything still buffered."""
        self._phase = _DEAD
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        # abort() is idempotent on asyncio and uvloop transports. The receive loop then sees the
        # connection as lost and returns; aiohttp's attempt to send its own close frame at that
        # point fails quietly on the closing transport.
        self._transport.abort()

    def _close_timed_out(self) -> None:
        self._close_timer = None
        if self._phase == _CLOSING:
            log.info("%s client %s did not answer close; aborting", self.dialect, self.peer)
            self.abort()

    def _answer_close(self, code: int) -> None:
        """The client's close frame arrived: echo it if we did not start, then close TCP."""
        if self._phase == _OPEN:
            self._phase = _CLOSING
            # Echo the client's code (RFC 6455 §5.5.1); an empty close (code 0 here) or a code
            # that may not be sent on the wire gets an empty close back.
            echo = code if 1000 <= code <= 4999 and code not in (1005, 1006, 1015) else None
            self._write(encode_close(echo))
        self._shutdown_transport()

    def _shutdown_transport(self) -> None:
        self._phase = _DEAD
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        transport = self._transport
        if transport.is_closing():
            return
        # close() flushes what is buffered, then sends FIN. A client that stopped reading could
        # hold that flush open forever, so a backlog gets `close_timeout` to drain, then abort.
        transport.close()
        if transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(self._close_timeout, transport.abort)

    # -- receive loop -----------------------------------------------------------------------

    async def run(
        self,
        on_message: OnMessage,
        *,
        limiter: SlidingWindowLimiter | None = None,
        on_limit: OnLimit | None = None,
    ) -> None:
        """Read frames until the connection ends, dispatching data frames to `on_message`.

        `on_message(session, data, is_binary)` gets a str for TEXT frames and bytes for BINARY
        frames and may be sync or async (awaited before the next frame: replies stay in request
        order). Any inbound frame — data, ping or pong — refreshes `last_recv`. Data frames count
        against `limiter`; the first refused frame calls `on_limit(session)` (the dialect writes
        its error and calls `close`) and no further frame is dispatched. An exception from a
        handler is logged with its traceback and the connection stays open: dialects map their
        own errors to replies, this is only the last line of defence.
        """
        ws = self._ws
        tally = self._tally
        try:
            while self._phase != _DEAD:
                msg = await ws.receive()
                kind = msg.type
                if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
                    now = self.last_recv = time.monotonic()
                    self.frames_in += 1
                    tally.frames_in += 1
                    if self._phase:
                        continue  # after our close frame, data is read and discarded (§5.5.1)
                    if limiter is not None and not limiter.allow(now):
                        tally.rate_limit_violations += 1
                        self._limit_exceeded(on_limit)
                        continue  # keep reading: the closing handshake still needs the loop
                    try:
                        pending = on_message(self, msg.data, kind is WSMsgType.BINARY)
                        if pending is not None and inspect.isawaitable(pending):
                            await pending
                    except Exception:
                        log.exception(
                            "unhandled error in %s message handler (key=%s); connection kept open",
                            self.dialect,
                            self.key,
                        )
                elif kind is WSMsgType.PING:
                    self.last_recv = time.monotonic()
                    faults = self.faults
                    if faults is not None and faults.ignore_pings:
                        faults.note("ignore_pings")  # a fault profile: the venue "hangs"
                    else:
                        self.send_frame(encode_pong(msg.data))
                elif kind is WSMsgType.PONG:
                    self.last_recv = time.monotonic()
                elif kind is WSMsgType.CLOSE:
                    self._answer_close(msg.data)
                    break
                else:
                    # CLOSED / ERROR: the connection was lost, or aiohttp hit a protocol error
                    # (bad frame, message over max_msg_size) and has already closed it.
                    if kind is WSMsgType.ERROR:
                        log.info("%s connection %s failed: %s", self.dialect, self.peer, msg.data)
                    break
        finally:
            if self._phase != _DEAD:
                self._shutdown_transport()

    def _limit_exceeded(self, on_limit: OnLimit | None) -> None:
        if on_limit is not None:
            try:
                on_limit(self)
            except Exception:
                log.exception("unhandled error in %s on_limit handler", self.dialect)
        # The dialect is expected to close; make sure of it so the limit really is enforced.
        if self._phase == _OPEN:
            self.close(1008, "rate limit exceeded")
