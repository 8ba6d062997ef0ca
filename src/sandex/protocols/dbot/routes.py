"""DBot's endpoints on the sandex server: the trading WebSocket `/trade/ws` and the REST API.

- Auth: the `x-api-key` header (any case) is a sandex account's api key. The WebSocket upgrade
  is refused with 401 before the handshake; REST answers 401 with the `{err, res}` envelope.
- Liveness: any inbound frame counts, ping control frames included (DBot's samples send only
  `ws.ping()`); a connection silent for `limits.dbot.heartbeat_timeout_s` (60) is closed.
- Replies: every request gets exactly one `rpcResponse` echoing its id; a bad request gets
  `err: true` and the connection stays up. REST errors are in-band too (HTTP 200, `err: true`),
  except 401 (no key) and 429 (over `limits.dbot.rest_calls_per_minute`, per account).
- Pushes: every `TradeResult` of an account becomes one `tradeResultNotify`, encoded once and
  written to each of the account's sessions whose `tradeTypeFilter` wants it.
- Faults: a profile with `ignore_pings` leaves JSON pings unanswered (the only requests that get
  no reply); one with `reject_orders_code` refuses the new-order methods (`NEW_ORDERS`) with
  `err: true`, after validation and before the venue sees a command.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from ...config import Config
from ...core.copy_events import TradeResult
from ...core.copytrading import CopyTrading
from ...core.engine import Account
from ...core.events import Event
from ...core.plugin import EnginePlugin
from ...marketdata.service import MarketDataUpdate
from ...server.context import ServerContext
from ...server.dialects import Dialect
from ...server.endpoint import serve_session
from ...server.framing import encode_frame
from ...server.limits import SlidingWindowLimiter
from ...server.liveness import IdleTimeout
from ...server.session import Session
from ...venue import JournalUnavailable
from .api import NEW_ORDERS, Answer, DbotApi
from .limits import SECTION
from .notify import TRADE_TYPES, encode_notification, trade_type
from .wire import (
    NULL,
    BadRequest,
    DbotError,
    decode_request,
    rest_body,
    rest_error,
    rpc_error,
    rpc_response,
    subscribe_response,
)

log = logging.getLogger("sandex.dbot")

DIALECT = "dbot"
#: JSON `{"method": "ping"}` / `{"method": "heartbeat"}`: liveness only, answered only if it has an id.
HEARTBEAT_METHODS = frozenset({"ping", "heartbeat"})

ParamsReader = Callable[[web.Request], Awaitable[bytes]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def engine_plugins(config: Config) -> list[EnginePlugin]:
    return [CopyTrading()]


class Connection:
    """Per-WebSocket state (the session's `state` slot)."""

    __slots__ = ("account_id", "trade_filter")

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        #: None until subscribeTradeResults; an empty set then means every trade type
        self.trade_filter: frozenset[str] | None = None

    def wants(self, kind: str) -> bool:
        return self.trade_filter is not None and (not self.trade_filter or kind in self.trade_filter)


class DbotService:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        engine = ctx.venue.engine
        automation = next((p for p in engine.plugins if isinstance(p, CopyTrading)), None)
        if automation is None:
            # A venue built without this dialect's plugins (e.g. handed in by a test): add it now,
            # before the venue opens and recovers, so its state is restored like everyone else's.
            automation = CopyTrading()
            engine.add_plugin(automation)
        self.api = DbotApi(engine, automation)
        self._rest_limit = ctx.limits.dbot.rest_calls_per_minute
        self._limiters: dict[int, SlidingWindowLimiter] = {}

    def account(self, key: str | None) -> Account | None:
        if not key:
            return None
        return self.ctx.venue.engine.account_by_key.get(key)

    async def call(self, account: Account, method: str, params: bytes) -> Any:
        """Run one method for `account`; raises DbotError for anything DBot answers with err."""
        plan = self.api.plan(account, method, params)
        if isinstance(plan, Answer):
            return plan.res
        venue = self.ctx.venue
        halted = venue.order_entry_error
        if halted:
            raise DbotError(f"order entry is halted: {halted}", status=503)
        if method in NEW_ORDERS:
            rejection = self.ctx.faults.order_rejection(DIALECT, account.api_key)
            if rejection is not None:  # fault injection: refused before anything is journaled
                raise DbotError(f"{rejection.message} (code {rejection.code})")
        try:
            events = await venue.execute(plan.command)
        except JournalUnavailable as exc:
            raise DbotError(f"order entry is halted: {exc}", status=503) from None
        return plan.result(events)

    # -- WebSocket ---------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        account = self.account(request.headers.get("x-api-key"))
        if account is None:
            return web.Response(status=401, text="401: missing or unknown x-api-key\n")
        ctx = self.ctx
        connection = Connection(account.id)

        def opened(session: Session) -> None:
            session.state = connection

        return await serve_session(
            request,
            dialect=DIALECT,
            key=account.api_key,
            account_id=account.id,
            hub=ctx.hub,
            registry=ctx.registry,
            config=ctx.session_config,
            metrics=ctx.metrics,
            on_open=opened,
            on_message=self.on_message,
        )

    async def on_message(self, session: Session, data: str | bytes, is_binary: bool) -> None:
        try:
            request = decode_request(data)
        except BadRequest as exc:
            _send(session, rpc_error(exc.request_id, exc.message))
            return
        if request.method == "subscribeTradeResults":
            unknown = sorted(set(request.trade_type_filter or ()) - TRADE_TYPES)
            if unknown:
                _send(
                    session, rpc_error(request.id, f"unknown tradeTypeFilter value(s): {', '.join(unknown)}")
                )
                return
            session.state.trade_filter = frozenset(request.trade_type_filter or ())
            _send(session, subscribe_response())
            return
        if request.method in HEARTBEAT_METHODS:
            # Fault injection (`ignore_pings`): the ping still counted as liveness, but gets no reply.
            if request.id != NULL and not self.ctx.faults.ignores_pings(session):
                _send(session, rpc_response(request.id))
            return
        account = self.ctx.venue.engine.accounts[session.state.account_id]
        try:
            res = await self.call(account, request.method, bytes(request.params))
        except DbotError as exc:
            _send(session, rpc_error(request.id, exc.message))
            return
        except Exception:  # a bug must still answer: the client is waiting for this id
            log.exception("dbot %s failed", request.method)
            _send(session, rpc_error(request.id, "internal error"))
            return
        _send(session, rpc_response(request.id, res))

    def publish(self, events: list[Event], update: MarketDataUpdate) -> None:
        """Venue listener: trade results to their account's subscribed sessions."""
        registry = self.ctx.registry
        if not registry.count(DIALECT):
            return
        engine = self.ctx.venue.engine
        for event in events:
            if type(event) is not TradeResult:
                continue
            account = engine.accounts.get(event.account_id)
            if account is None:
                continue
            kind = trade_type(event)
            sessions = [
                s
                for s in registry.for_key(DIALECT, account.api_key)
                if s.state is not None and s.state.wants(kind)
            ]
            if sessions:
                frame = encode_frame(encode_notification(engine, event), binary=False)
                for session in sessions:
                    session.send_frame(frame)

    # -- REST --------------------------------------------------------------------------------

    def rest(self, method: str, params: ParamsReader) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            account = self.account(request.headers.get("x-api-key"))
            if account is None:
                return _json(rest_error("missing or unknown X-API-KEY"), 401)
            if self._rest_limit:
                limiter = self._limiters.get(account.id)
                if limiter is None:
                    limiter = self._limiters[account.id] = SlidingWindowLimiter(self._rest_limit, 60.0)
                if not limiter.allow():
                    return _json(rest_error(f"rate limit exceeded: {self._rest_limit} calls per minute"), 429)
            try:
                res = await self.call(account, method, await params(request))
            except web.HTTPRequestEntityTooLarge:
                return _json(rest_error(f"request body larger than {request.client_max_size} bytes"), 413)
            except DbotError as exc:
                return _json(rest_error(exc.message), 503 if exc.status == 503 else 200)
            except Exception:
                log.exception("dbot REST %s failed", method)
                return _json(rest_error("internal error"), 500)
            return _json(rest_body(res), 200)

        return handler


def _send(session: Session, payload: bytes) -> None:
    session.send_frame(encode_frame(payload, binary=False))


def _json(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


# -- how REST requests become method params ----------------------------------------------------


async def _body(request: web.Request) -> bytes:
    return await request.read() or b"{}"


def _query(*, lists: tuple[str, ...] = (), ints: tuple[str, ...] = ("page", "size")) -> ParamsReader:
    async def read(request: web.Request) -> bytes:
        params: dict[str, Any] = {}
        for key, value in request.query.items():
            if key in ints:
                try:
                    params[key] = int(value)
                except ValueError:
                    raise DbotError(f"invalid query: {key} must be an integer") from None
            elif key in lists:
                params[key] = [v for v in value.split(",") if v]
            else:
                params[key] = value
        return msgspec.json.encode(params)

    return read


def _path_ids(flag: str) -> ParamsReader:
    async def read(request: web.Request) -> bytes:
        params: dict[str, Any] = {"ids": [request.match_info["id"]]}
        if flag in request.query:
            params[flag] = request.query[flag]
        return msgspec.json.encode(params)

    return read


def setup(app: web.Application, ctx: ServerContext) -> None:
    service = DbotService(ctx)
    ctx.venue.listeners.append(service.publish)
    timeout = ctx.limits.dbot.heartbeat_timeout_s
    if timeout:
        ctx.sweeper.set_policy(DIALECT, IdleTimeout(float(timeout)))
    router = app.router
    router.add_get("/trade/ws", service.websocket)
    router.add_get("/trade/ws/", service.websocket)
    rest = service.rest
    router.add_post("/automation/follow_order", rest("createOrUpdateFollowOrder", _body))
    router.add_patch("/automation/follow_order", rest("updateFollowOrder", _body))
    router.add_delete(
        "/automation/follow_order/{id}", rest("deleteFollowOrders", _path_ids("deletePnlOrder"))
    )
    router.add_post("/automation/follow_order/delete_many", rest("deleteFollowOrders", _body))
    router.add_patch("/automation/follow_orders", rest("batchToggleFollowOrder", _body))
    router.add_patch("/automation/follow_orders_update", rest("batchUpdateFollowOrder", _body))
    router.add_get("/automation/follow_orders", rest("listFollowOrders", _query()))
    router.add_get("/automation/pnl_orders_from_follow_order", rest("listPnlOrdersFromFollowOrder", _query()))
    router.add_post("/automation/limit_order", rest("createLimitOrder", _body))
    router.add_patch("/automation/limit_order", rest("updateLimitOrder", _body))
    router.add_delete("/automation/limit_order/{id}", rest("deleteLimitOrders", _path_ids("")))
    router.add_post("/automation/limit_order/delete_many", rest("deleteLimitOrders", _body))
    router.add_get("/automation/limit_orders", rest("listLimitOrders", _query()))
    router.add_post("/automation/swap_order", rest("createSwapOrder", _body))
    router.add_get("/automation/swap_orders", rest("getSwapOrders", _query(lists=("ids",))))
    router.add_get("/account/wallets", rest("listWallets", _query()))


# -- registration: what sandex.server mounts (sandex.protocols lists this dialect) ----------------
REGISTRATION = Dialect(
    name=DIALECT,
    limits=SECTION,
    setup=setup,
    engine_plugins=engine_plugins,
    banner=("DBot       ws: {ws}/trade/ws   rest: {http}/automation",),
)
