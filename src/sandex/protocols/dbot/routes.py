"""DBot's endpoints on the sandex server: the trading WebSocket `/trade/ws` and the REST API.

- Auth: the `x-api-key` header (any case) is a sandex account's api key. The WebSocket upgrade
  is refused with 401 before the handshake; REST answers 401 with the `{err, res}` envelope.
- Liveness: any inbound frame counts, ping control frames included (DBot's samples send only
  `ws.ping()`); a connection silent for `limits.dbot.heartbeat_timeout_s` (60) is closed.
- Replies: every request gets exactly one `rpcResponse` echoing its id; a bad request gets
  `err: true` and the connection stays up. REST errors are in-band too (HTTP 200, `err: true`),
  except 401 (no key), 404 / 405 (no such endpoint or method), 413 (body too large), 429 (over
  `limits.dbot.rest_calls_per_minute`, per account) and 503 (order entry halted) — always with
  DBot's JSON error body, never aiohttp's plain text.
- Pushes: every `TradeResult` of an account becomes one `tradeResultNotify`, encoded once and
  written to each of the account's sessions whose `tradeTypeFilter` wants it.
- Faults: a profile with `ignore_pings` leaves JSON pings unanswered (the only requests that get
  no reply); one with `reject_orders_code` refuses the new-order methods (`NEW_ORDERS`) with
  `err: true`, after validation and before the venue sees a command.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from ...automation import Automation
from ...config import Config
from ...core.engine import Account
from ...core.plugin import EnginePlugin
from ...server.context import ServerContext
from ...server.dialects import Dialect
from ...server.endpoint import serve_session
from ...server.framing import encode_frame
from ...server.liveness import IdleTimeout
from ...server.ratelimits import KeyedLimiters
from ...server.session import Session
from ...venue import JournalUnavailable
from .api import NEW_ORDERS, Answer, DbotApi
from .connection import DIALECT, DbotConnection
from .errors import DbotError, rest_error
from .limits import SECTION
from .publisher import DbotPublisher
from .wire import rest_body

log = logging.getLogger("sandex.dbot")

ParamsReader = Callable[[web.Request], Awaitable[bytes]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


def engine_plugins(config: Config) -> list[EnginePlugin]:
    return [Automation()]


class DbotService:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        engine = ctx.venue.engine
        automation = next((p for p in engine.plugins if isinstance(p, Automation)), None)
        if automation is None:
            # A venue built without this dialect's plugins (e.g. handed in by a test): add it now,
            # before the venue opens and recovers, so its state is restored like everyone else's.
            automation = Automation()
            engine.add_plugin(automation)
        self.api = DbotApi(engine, automation, ctx.config.dbot.chains)
        self._rest_limit = ctx.limits.dbot.rest_calls_per_minute
        #: Per account (by id: the same on every process), shared across the bus's processes.
        self._limiters = KeyedLimiters(self._rest_limit, 60.0) if self._rest_limit else None
        if self._limiters is not None:
            ctx.shared_limiters[f"{DIALECT}.rest"] = self._limiters

    def account(self, key: str | None) -> Account | None:
        if not key:
            return None
        return self.ctx.venue.engine.account_by_key.get(key)

    def blocked(self, key: str | None) -> bool:
        """Whether an operator or the limits blocked the key: its calls are refused with 401."""
        guard = self.ctx.key_guards.get(DIALECT)
        return key is not None and guard is not None and guard.is_blocked(key)

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
        key = request.headers.get("x-api-key")
        if self.blocked(key):
            return _json(rest_error("this x-api-key is blocked"), 401)
        account = self.account(key)
        if account is None:
            return _json(rest_error("missing or unknown x-api-key"), 401)
        ctx = self.ctx
        connection = DbotConnection(account.id)

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
        connection: DbotConnection = session.state
        outcome = connection.receive(data)
        if outcome.call is None:
            # Fault injection (`ignore_pings`): the ping still counted as liveness, but gets no reply.
            if outcome.reply is not None and not (
                outcome.heartbeat and self.ctx.faults.ignores_pings(session)
            ):
                _send(session, outcome.reply)
            return
        call = outcome.call
        account = self.ctx.venue.engine.accounts[connection.account_id]
        try:
            res = await self.call(account, call.method, call.params)
        except DbotError as exc:
            _send(session, connection.refuse(call, exc.message))
            return
        except Exception:  # a bug must still answer: the client is waiting for this id
            log.exception("dbot %s failed", call.method)
            _send(session, connection.refuse(call, "internal error"))
            return
        _send(session, connection.answer(call, res))

    # -- REST --------------------------------------------------------------------------------

    def rest(self, method: str, params: ParamsReader) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            key = request.headers.get("x-api-key")
            if self.blocked(key):
                return _json(rest_error("this X-API-KEY is blocked"), 401)
            account = self.account(key)
            if account is None:
                return _json(rest_error("missing or unknown X-API-KEY"), 401)
            if self._limiters is not None and not self._limiters.allow(str(account.id)):
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


_QUERY_INT = re.compile(r"-?[0-9]{1,18}")


def _query(*, lists: tuple[str, ...] = (), ints: tuple[str, ...] = ("page", "size")) -> ParamsReader:
    async def read(request: web.Request) -> bytes:
        params: dict[str, Any] = {}
        for key, value in request.query.items():
            if key in ints:
                # ASCII digits only: int() would also read " 1", "1_0" and other scripts' digits.
                if not _QUERY_INT.fullmatch(value):
                    raise DbotError(f"invalid query: {key} must be an integer in ASCII digits")
                params[key] = int(value)
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
    ctx.venue.listeners.append(DbotPublisher(ctx.venue.engine, ctx.registry).on_events)
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
    # Last, so they only see what no route above took: DBot's error body, not aiohttp's text.
    for prefix in ("/automation", "/account"):
        router.add_route("*", prefix + "/{tail:.*}", _unrouted)


async def _unrouted(request: web.Request) -> web.Response:
    """A DBot path with no such endpoint, or a method the endpoint does not take."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical.endswith("/{tail}"):
            continue  # the catch-alls themselves
        _, methods = await resource.resolve(request)
        allowed |= methods
    if allowed:
        message = f"method {request.method} not allowed on {request.path}: use {', '.join(sorted(allowed))}"
        return _json(rest_error(message), 405)
    return _json(rest_error(f"no DBot endpoint {request.method} {request.path}"), 404)


# -- registration: what sandex.server mounts (sandex.protocols lists this dialect) ----------------
REGISTRATION = Dialect(
    name=DIALECT,
    limits=SECTION,
    setup=setup,
    engine_plugins=engine_plugins,
    banner=("DBot       ws: {ws}/trade/ws   rest: {http}/automation",),
)
