"""One WebSocket v1 connection as a sans-I/O state machine: a frame in, an `Outcome` out.

`Connection.receive(data)` decodes a request, acts on the connection's state (who it signed in
as, what it subscribed to) and returns what the I/O layer must do, in this order: drop the
`unsubscribe` topics, join the `subscribe` topics, write `reply`, then write each first push.
It never touches a socket or a session, so tests drive it with plain values.

The order is what makes "the ack always comes before the first push of that subscription" hold:
`routes` applies an outcome synchronously, with no await between joining a topic, writing the ack
and writing the first push, so no publish can slip in between. First pushes are built here,
before the session joins its topics (the publisher refreshes a depth view nobody was listening
to), which is what makes a new depth subscriber's clean snapshot line up with the next diff.

A request never closes the connection: every failure is an error reply with the request's id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from msgspec import Raw

from sandex.server.duplicates import DuplicateGuard
from sandex.venue import Venue

from . import errors
from .publisher import Publisher
from .requests import (
    PRIVATE_CHANNELS,
    Auth,
    Call,
    Envelope,
    Ping,
    ServerTime,
    Subscribe,
    Unsubscribe,
    decode_envelope,
    parse_call,
    request_id,
)
from .signing import WINDOW_S, check_ws_auth
from .subscriptions import ALL, Subscriptions, topic
from .wire import NULL_ID, STATUS_SUCCESS, error_frame, reply_frame

log = logging.getLogger("sandex.digifinex.connection")


@dataclass(frozen=True, slots=True)
class FirstPush:
    """The push a new subscription starts with (a clean depth snapshot, recent trades, ...)."""

    channel: str
    key: str
    frame: bytes


@dataclass(frozen=True, slots=True)
class SignedIn:
    """`server.auth` succeeded: the connection acts for this account and key from now on."""

    account_id: int
    api_key: str


@dataclass(slots=True)
class Outcome:
    #: The reply frame: a result, an ack or an error, always with the request's id.
    reply: bytes
    subscribe: list[Hashable] = field(default_factory=list)
    unsubscribe: list[Hashable] = field(default_factory=list)
    first_pushes: list[FirstPush] = field(default_factory=list)
    signed_in: SignedIn | None = None
    #: The reply answers `server.ping` (fault injection may withhold it).
    pong: bool = False
    error: errors.WsError | None = None


class Endpoint:
    """What every connection of the endpoint shares: the venue, the publisher (first pushes),
    the clock and the guard against `server.auth` frames replayed on another connection."""

    def __init__(self, venue: Venue, publisher: Publisher, clock: Callable[[], float] = time.time) -> None:
        self.venue = venue
        self.publisher = publisher
        self.clock = clock
        self.auth_duplicates = DuplicateGuard(WINDOW_S)
        self.symbols = frozenset(publisher.markets)
        # Currencies an empty balance.subscribe covers, besides those the account holds.
        markets = publisher.markets.values()
        self.currencies = sorted({m.base for m in markets} | {m.quote for m in markets})


class Connection:
    """One connection's state: the account it signed in as and its subscriptions."""

    __slots__ = ("account_id", "api_key", "endpoint", "subscriptions")

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.account_id: int | None = None
        self.api_key: str | None = None
        self.subscriptions = Subscriptions()

    def receive(self, data: bytes | str) -> Outcome:
        envelope: Envelope | None = None
        try:
            envelope = decode_envelope(data)
            call = parse_call(envelope, self.endpoint.symbols)
            return self._dispatch(envelope.id, call)
        except errors.WsError as exc:
            rid = envelope.id if envelope is not None else request_id(data)
            return Outcome(error_frame(rid, exc.code, exc.message), error=exc)
        except Exception:
            log.exception("digifinex request failed")
            rid = envelope.id if envelope is not None else NULL_ID
            internal = errors.WsError(errors.WS_INTERNAL_ERROR, "internal error")
            return Outcome(error_frame(rid, internal.code, internal.message), error=internal)

    def _dispatch(self, rid: Raw, call: Call) -> Outcome:
        if isinstance(call, Ping):
            return Outcome(reply_frame(rid, "pong"), pong=True)
        if isinstance(call, ServerTime):
            return Outcome(reply_frame(rid, int(self.endpoint.clock())))
        if isinstance(call, Auth):
            return self._auth(rid, call)
        if isinstance(call, Subscribe):
            return self._subscribe(rid, call)
        return self._unsubscribe(rid, call)

    def _require_auth(self, channel: str) -> None:
        if channel in PRIVATE_CHANNELS and self.account_id is None:
            raise errors.WsError(errors.WS_REQUIRE_AUTH, "require authentication")

    def _auth(self, rid: Raw, call: Auth) -> Outcome:
        endpoint = self.endpoint
        account = endpoint.venue.engine.account_by_key.get(call.api_key)
        if account is None:
            raise errors.WsError(errors.WS_REQUIRE_AUTH, "invalid api key")
        check_ws_auth(account.secret, call.timestamp, call.signature, int(endpoint.clock() * 1000))
        # A valid signature over a timestamp another connection already signed in with is a
        # captured frame being replayed: refuse it (the same connection may repeat itself).
        if endpoint.auth_duplicates.seen(
            (call.api_key, call.timestamp), owner=id(self), now=endpoint.clock()
        ):
            raise errors.WsError(
                errors.WS_REQUIRE_AUTH,
                "replayed server.auth: this signed timestamp was "
                "already used by another connection; sign a fresh timestamp",
            )
        outcome = Outcome(reply_frame(rid, STATUS_SUCCESS), signed_in=SignedIn(account.id, account.api_key))
        if self.account_id is not None and self.account_id != account.id:
            # Another account on the same socket: the old account's private subscriptions go,
            # so this connection never receives pushes of an account it is no longer signed in as.
            for channel in PRIVATE_CHANNELS:
                for key in self.subscriptions.remove(channel, ()):
                    outcome.unsubscribe.append(topic(channel, key, self.account_id))
        self.account_id = account.id
        self.api_key = account.api_key
        return outcome

    def _subscribe(self, rid: Raw, call: Subscribe) -> Outcome:
        channel = call.channel
        self._require_auth(channel)
        if channel == "depth":
            # A gateway refilling a gap knows its book is stale: no clean snapshot from it (the
            # client subscribes again, as after any error, and gets the caught-up book).
            stale = self.endpoint.venue.market_data_error
            if stale is not None:
                raise errors.WsError(errors.WS_SERVICE_UNAVAILABLE, f"depth unavailable: {stale}")
        keys = call.keys or self._everything(channel)
        added = set(self.subscriptions.add(channel, keys))
        outcome = Outcome(reply_frame(rid, STATUS_SUCCESS))
        # Every key named gets its first push, even one already subscribed: with no sequence
        # numbers, subscribing again is how a client resyncs its book.
        for key in keys:
            frame = self._first_push(channel, key)
            if frame is not None:
                outcome.first_pushes.append(FirstPush(channel, key, frame))
            if key in added:
                outcome.subscribe.append(topic(channel, key, self.account_id))
        return outcome

    def _unsubscribe(self, rid: Raw, call: Unsubscribe) -> Outcome:
        self._require_auth(call.channel)
        outcome = Outcome(reply_frame(rid, STATUS_SUCCESS))
        for key in self.subscriptions.remove(call.channel, call.keys):
            outcome.unsubscribe.append(topic(call.channel, key, self.account_id))
        return outcome

    def _everything(self, channel: str) -> list[str]:
        """What an empty subscribe list means: every symbol, or every currency of the markets
        and of the account's balance (a design choice; DigiFinex leaves it undocumented)."""
        endpoint = self.endpoint
        if channel == "all_ticker":
            return [ALL]
        if channel == "balance":
            engine = endpoint.venue.engine
            assert self.account_id is not None  # balance is private: _require_auth ran
            account = engine.accounts[self.account_id]
            held = engine.balances_of(account.wallets[0]) if account.wallets else {}
            return sorted(set(endpoint.currencies) | set(held))
        return sorted(endpoint.symbols)

    def _first_push(self, channel: str, key: str) -> bytes | None:
        publisher = self.endpoint.publisher
        if channel == "depth":
            return publisher.depth_clean_frame(key)
        if channel == "trades":
            return publisher.trades_clean_frame(key)
        if channel == "ticker":
            return publisher.ticker_frame(key)
        if channel == "all_ticker":
            return publisher.all_ticker_frame()
        return None  # private channels push changes only; REST has the current state
