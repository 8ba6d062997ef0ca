"""One WebSocket v1 connection: decode a request, act on it, reply — then any first push.

Handling is synchronous from the frame to the last byte written: there is no await between
subscribing a session to a topic, writing its ack and writing the first push, so no publish can
slip in between. That is what makes "the ack always comes before the first push of that
subscription" hold, and what makes a new depth subscriber's clean snapshot line up with the
next diff.

A request never closes the connection: every failure is an error reply with the request's id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from msgspec import Raw

from sandex.faults import FaultController
from sandex.server.hub import TopicHub
from sandex.server.replay import ReplayGuard
from sandex.server.session import Session
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

log = logging.getLogger("sandex.digifinex.ws")


@dataclass(slots=True)
class Connection:
    """What one connection remembers (kept in `session.state`)."""

    account_id: int | None = None
    api_key: str | None = None
    subscriptions: Subscriptions = field(default_factory=Subscriptions)


class WsHandler:
    def __init__(
        self,
        venue: Venue,
        hub: TopicHub,
        publisher: Publisher,
        clock: Callable[[], float] = time.time,
        faults: FaultController | None = None,
    ) -> None:
        self.venue = venue
        self.hub = hub
        self.publisher = publisher
        self.clock = clock
        self.faults = faults or FaultController()
        #: server.auth replays: the same signed timestamp used on another connection.
        self.auth_replays = ReplayGuard(WINDOW_S)
        self.symbols = frozenset(publisher.markets)
        # Currencies an empty balance.subscribe covers, besides those the account holds.
        markets = publisher.markets.values()
        self.currencies = sorted({m.base for m in markets} | {m.quote for m in markets})

    def open(self, session: Session) -> None:
        session.state = Connection()

    def handle(self, session: Session, data: bytes | str, binary: bool) -> None:
        conn: Connection = session.state
        envelope: Envelope | None = None
        try:
            envelope = decode_envelope(data)
            call = parse_call(envelope, self.symbols)
            self._dispatch(session, conn, envelope.id, call)
        except errors.WsError as exc:
            rid = envelope.id if envelope is not None else request_id(data)
            session.send_frame(error_frame(rid, exc.code, exc.message))
        except Exception:
            log.exception("digifinex request failed")
            rid = envelope.id if envelope is not None else NULL_ID
            session.send_frame(error_frame(rid, errors.WS_INTERNAL_ERROR, "internal error"))

    def _dispatch(self, session: Session, conn: Connection, rid: Raw, call: Call) -> None:
        if isinstance(call, Ping):
            if not self.faults.ignores_pings(session):
                session.send_frame(reply_frame(rid, "pong"))
        elif isinstance(call, ServerTime):
            session.send_frame(reply_frame(rid, int(self.clock())))
        elif isinstance(call, Auth):
            self._auth(session, conn, call)
            session.send_frame(reply_frame(rid, STATUS_SUCCESS))
        elif isinstance(call, Subscribe):
            self._subscribe(session, conn, rid, call)
        elif isinstance(call, Unsubscribe):
            self._require_auth(conn, call.channel)
            for key in conn.subscriptions.remove(call.channel, call.keys):
                self.hub.unsubscribe(topic(call.channel, key, conn.account_id), session)
            session.send_frame(reply_frame(rid, STATUS_SUCCESS))

    @staticmethod
    def _require_auth(conn: Connection, channel: str) -> None:
        if channel in PRIVATE_CHANNELS and conn.account_id is None:
            raise errors.WsError(errors.WS_REQUIRE_AUTH, "require authentication")

    def _auth(self, session: Session, conn: Connection, call: Auth) -> None:
        account = self.venue.engine.account_by_key.get(call.api_key)
        if account is None:
            raise errors.WsError(errors.WS_REQUIRE_AUTH, "invalid api key")
        check_ws_auth(account.secret, call.timestamp, call.signature, int(self.clock() * 1000))
        # A valid signature over a timestamp another connection already signed in with is a
        # captured frame being replayed: refuse it (the same connection may repeat itself).
        if self.auth_replays.seen((call.api_key, call.timestamp), owner=id(session), now=self.clock()):
            raise errors.WsError(
                errors.WS_REQUIRE_AUTH,
                "replayed server.auth: this signed timestamp was "
                "already used by another connection; sign a fresh timestamp",
            )
        if conn.account_id is not None and conn.account_id != account.id:
            # Another account on the same socket: the old account's private subscriptions go,
            # so this connection never receives pushes of an account it is no longer signed in as.
            for channel in PRIVATE_CHANNELS:
                for key in conn.subscriptions.remove(channel, ()):
                    self.hub.unsubscribe(topic(channel, key, conn.account_id), session)
        conn.account_id = account.id
        conn.api_key = account.api_key
        session.account_id = account.id
        self.faults.rebind(session, account.api_key)  # key-scoped fault profiles apply from now

    def _subscribe(self, session: Session, conn: Connection, rid: Raw, call: Subscribe) -> None:
        channel = call.channel
        self._require_auth(conn, channel)
        keys = call.keys or self._everything(conn, channel)
        added = set(conn.subscriptions.add(channel, keys))
        # Every key named gets its first push, even one already subscribed: with no sequence
        # numbers, subscribing again is how a client resyncs its book. Each is built before the
        # session joins the topic (the publisher refreshes a depth view nobody was listening to)
        # and written after the ack.
        first: list[bytes] = []
        for key in keys:
            frame = self._first_push(channel, key)
            if channel == "depth" and self.faults.stale_depth(session):
                frame = self.publisher.stale_depth_frame(key)  # fault injection: an older book
            if frame is not None:
                first.append(frame)
            if key in added:
                self.hub.subscribe(topic(channel, key, conn.account_id), session)
        session.send_frame(reply_frame(rid, STATUS_SUCCESS))
        for frame in first:
            session.send_frame(frame)

    def _everything(self, conn: Connection, channel: str) -> list[str]:
        """What an empty subscribe list means: every symbol, or every currency of the markets
        and of the account's balance (a design choice; DigiFinex leaves it undocumented)."""
        if channel == "all_ticker":
            return [ALL]
        if channel == "balance":
            account = self.venue.engine.accounts[conn.account_id]  # type: ignore[index]
            held = self.venue.engine.balances_of(account.wallets[0]) if account.wallets else {}
            return sorted(set(self.currencies) | set(held))
        return sorted(self.symbols)

    def _first_push(self, channel: str, key: str) -> bytes | None:
        publisher = self.publisher
        if channel == "depth":
            return publisher.depth_clean_frame(key)
        if channel == "trades":
            return publisher.trades_clean_frame(key)
        if channel == "ticker":
            return publisher.ticker_frame(key)
        if channel == "all_ticker":
            return publisher.all_ticker_frame()
        return None  # private channels push changes only; REST has the current state
