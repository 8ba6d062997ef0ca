"""One Infoway connection as a sans-I/O state machine: frames in, decisions out.

`InfowayConnection.receive(payload, now)` decodes a client frame, updates the connection's
subscriptions and heartbeat clock, and returns an `Outcome`: the reply to send (ack or error),
the hub topics to subscribe and unsubscribe, and what else the I/O layer should do. It never
touches a socket, so tests drive it with plain values and an explicit clock.

Topics are `("infoway", "trade" | "depth", SYMBOL)` and `("infoway", "kline", SYMBOL, type)`
with sandex's market symbol (`BTC_USDT`): the publisher encodes one frame per topic and the hub
writes it to every subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from . import wire
from .errors import (
    E_HEARTBEAT_TIMEOUT,
    E_KEY_BLACKLISTED,
    MSG_HEARTBEAT_TIMEOUT,
    MSG_KEY_BLACKLISTED,
    InfowayError,
)
from .subscriptions import KeySymbolBudget, Subscriptions
from .symbols import SymbolMap
from .wire import Channel, Heartbeat, Subscribe, SubscribeKlines, Unsubscribe, decode_request

#: A hub topic; see the module docstring.
Topic = tuple[str | int, ...]

DIALECT: Final = "infoway"

#: WebSocket close codes after the error frames that end a connection. The reason is in the
#: error frame before the close; the close frame's own reason repeats it for logs.
CLOSE_HEARTBEAT: Final = 1000  # 513: a normal closure
CLOSE_POLICY: Final = 1008  # 501, 511, 512: policy violation


def trade_topic(symbol: str) -> Topic:
    return (DIALECT, "trade", symbol)


def depth_topic(symbol: str) -> Topic:
    return (DIALECT, "depth", symbol)


def kline_topic(symbol: str, kline_type: int) -> Topic:
    return (DIALECT, "kline", symbol, kline_type)


@dataclass(slots=True)
class Outcome:
    """What one client frame asks of the I/O layer, in this order: apply the topic changes,
    send `reply`, then send a depth snapshot for each of `depth_snapshots`."""

    reply: bytes | None = None
    #: The channel a (un)subscribe was about; None for heartbeats and refused frames.
    channel: Channel | None = None
    subscribe: list[Topic] = field(default_factory=list)
    unsubscribe: list[Topic] = field(default_factory=list)
    #: Newly subscribed codes sandex does not list (acked, then silent; counted and logged).
    unknown: list[str] = field(default_factory=list)
    #: Markets whose current book a new depth subscriber gets at once, after the ack.
    depth_snapshots: list[str] = field(default_factory=list)
    #: The refusal, if the frame was refused (the reply is then its error frame).
    error: InfowayError | None = None
    #: The frame was a heartbeat (its reply, if any, is the 10011 ack).
    heartbeat: bool = False


class InfowayConnection:
    """Subscriptions and heartbeat state of one connection."""

    __slots__ = ("last_heartbeat", "subscriptions", "symbols")

    def __init__(
        self,
        symbols: SymbolMap,
        *,
        max_symbols_per_type: int = 0,
        now: float = 0.0,
        key_budget: KeySymbolBudget | None = None,
        key: str = "",
    ) -> None:
        self.symbols = symbols
        #: `key_budget` is shared by every connection of the endpoint; this one counts under `key`.
        self.subscriptions = Subscriptions(max_symbols_per_type, budget=key_budget, key=key)
        #: When the last heartbeat (10010) arrived, on the caller's clock; the connection's
        #: opening counts as one, so a client gets the full timeout to send its first.
        self.last_heartbeat = now

    def close(self) -> None:
        """The connection is gone: give its symbols back to the key's budget."""
        self.subscriptions.clear()

    def heartbeat_overdue(self, now: float, timeout_s: float) -> bool:
        """True once more than `timeout_s` passed without a heartbeat (0 = never)."""
        return timeout_s > 0 and now - self.last_heartbeat > timeout_s

    def receive(self, payload: str | bytes, now: float) -> Outcome:
        try:
            request = decode_request(payload)
            if isinstance(request, Heartbeat):
                # Only a heartbeat frame keeps the connection alive: the rule is "no 10010 for
                # 60 s", not "no frame for 60 s".
                self.last_heartbeat = now
                reply = wire.ack(wire.HEARTBEAT_ACK, request.trace) if request.wants_ack else None
                return Outcome(reply=reply, heartbeat=True)
            if isinstance(request, Subscribe):
                return self._subscribe(request)
            if isinstance(request, SubscribeKlines):
                return self._subscribe_klines(request)
            return self._unsubscribe(request)
        except InfowayError as exc:
            return Outcome(reply=wire.error(exc.code, exc.msg, exc.trace), error=exc)

    # -- requests ------------------------------------------------------------------------------

    def _subscribe(self, request: Subscribe) -> Outcome:
        try:
            added = self.subscriptions.add(request.channel, request.codes)
        except InfowayError as exc:
            exc.trace = request.trace
            raise
        topic = trade_topic if request.channel == "trade" else depth_topic
        outcome = Outcome(
            reply=wire.ack(wire.SUBSCRIBE_ACKS[request.channel], request.trace), channel=request.channel
        )
        for code in added:
            symbol = self.symbols.venue_symbol(code)
            if symbol is None:
                outcome.unknown.append(code)
                continue
            outcome.subscribe.append(topic(symbol))
            if request.channel == "depth":
                outcome.depth_snapshots.append(symbol)
        return outcome

    def _subscribe_klines(self, request: SubscribeKlines) -> Outcome:
        try:
            added = self.subscriptions.add_klines(request.pairs)
        except InfowayError as exc:
            exc.trace = request.trace
            raise
        outcome = Outcome(reply=wire.ack(wire.ACK_KLINE, request.trace), channel="kline")
        unknown: dict[str, None] = {}
        for code, ktype in added:
            symbol = self.symbols.venue_symbol(code)
            if symbol is None:
                unknown[code] = None
            else:
                outcome.subscribe.append(kline_topic(symbol, ktype))
        outcome.unknown = list(unknown)
        return outcome

    def _unsubscribe(self, request: Unsubscribe) -> Outcome:
        outcome = Outcome(reply=wire.ack(wire.ACK_UNSUB, request.trace), channel=request.channel)
        if request.channel == "kline":
            for code, ktype in self.subscriptions.remove_klines(request.codes, request.kline_types):
                symbol = self.symbols.venue_symbol(code)
                if symbol is not None:
                    outcome.unsubscribe.append(kline_topic(symbol, ktype))
            return outcome
        topic = trade_topic if request.channel == "trade" else depth_topic
        for code in self.subscriptions.remove(request.channel, request.codes):
            symbol = self.symbols.venue_symbol(code)
            if symbol is not None:
                outcome.unsubscribe.append(topic(symbol))
        return outcome


# -- frames that end a connection ------------------------------------------------------------------


def heartbeat_timeout_error(timeout_s: float) -> bytes:
    """513, sent before closing a connection that sent no heartbeat in `timeout_s`."""
    return wire.error(E_HEARTBEAT_TIMEOUT, MSG_HEARTBEAT_TIMEOUT.format(seconds=f"{timeout_s:g}"))


def key_blocked_error() -> bytes:
    """511, sent to each open connection of a key when the key is blocked, before the close."""
    return wire.error(E_KEY_BLACKLISTED, MSG_KEY_BLACKLISTED)
