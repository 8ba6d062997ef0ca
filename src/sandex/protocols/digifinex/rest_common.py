"""What every REST v3 handler shares: reading parameters, authenticating, answering.

Parameters are read from the raw request: the query string exactly as it arrived on the request
line (aiohttp's parsed URL would re-normalise its escaping, and the signature covers the raw
text), or the raw body of a POST, parsed as a form whatever its Content-Type (ccxt sends none).

Every answer is JSON with `code` (0 = ok) and HTTP 200, errors included, as DigiFinex does: ccxt
and hand-written clients look at `code`. A `RestError` raised anywhere in a handler becomes
`{"code": n, "msg": ...}`; an unexpected exception becomes 50000 and is logged. That includes
10005, the rate limit (`RestRateLimits`): ccxt maps it to DDoSProtection from the body alone.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from sandex.core.engine import Account
from sandex.server.limits import Clock, KeyedLimiters
from sandex.server.metrics import DialectTally
from sandex.venue import JournalUnavailable, Venue

from . import errors
from .errors import RestError
from .signing import check_rest_signature, check_rest_timestamp

log = logging.getLogger("sandex.digifinex.rest")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: (method, path, handler) as the dialect's API classes list them for `routes.setup`.
Route = tuple[str, str, Handler]
_encode = msgspec.json.Encoder().encode


def json_response(body: Any) -> web.Response:
    return web.Response(body=_encode(body), content_type="application/json")


def error_response(code: int, message: str) -> web.Response:
    return json_response({"code": code, "msg": message})


def answers_errors(handler: Handler, admit: Callable[[web.Request], None] | None = None) -> Handler:
    """Turn RestError (and any other failure) into DigiFinex's error envelope. `admit`, if given,
    runs first and may refuse the request by raising (the per-IP rate limit of public calls)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            if admit is not None:
                admit(request)
            return await handler(request)
        except RestError as exc:
            return error_response(exc.code, exc.message)
        except JournalUnavailable as exc:
            return error_response(errors.INTERNAL, f"order entry unavailable: {exc}")
        except web.HTTPException:
            raise
        except Exception:
            log.exception("digifinex %s %s failed", request.method, request.path)
            return error_response(errors.INTERNAL, "internal error")

    return wrapped


def raw_query(request: web.Request) -> str:
    """The query string as it was on the request line (not re-encoded)."""
    return request.raw_path.partition("?")[2]


def parse_form(text: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
    except ValueError:
        raise RestError(errors.ILLEGAL_PARAMS, "malformed parameters") from None


async def signed_payload(request: web.Request) -> str:
    """The parameter string a client signed: the raw body of a POST (its query string when the
    body is empty), the raw query string otherwise."""
    if request.method == "POST":
        body = await request.read()
        if body:
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                raise RestError(errors.ILLEGAL_PARAMS, "the body must be a urlencoded form") from None
    return raw_query(request)


def public_params(request: web.Request) -> dict[str, str]:
    return parse_form(raw_query(request))


#: DigiFinex's own wording for 10005.
RATE_LIMIT_MESSAGE = "Request frequency exceeds the limit"


class RestRateLimits:
    """10005: private calls counted per API key, public ones per client address, at most N of each
    in any sliding second (0 = not limited). Refusals count in the dialect's metrics tally."""

    def __init__(
        self,
        per_key: int = 0,
        per_ip: int = 0,
        tally: DialectTally | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._keys = KeyedLimiters(per_key, 1.0, clock) if per_key else None
        self._ips = KeyedLimiters(per_ip, 1.0, clock) if per_ip else None
        self._tally = tally

    def check_key(self, key: str) -> None:
        self._check(self._keys, key, "API key")

    def check_ip(self, request: web.Request) -> None:
        self._check(self._ips, request.remote or "", "IP")

    def _check(self, limiters: KeyedLimiters | None, key: str, per: str) -> None:
        if limiters is None or limiters.allow(key):
            return
        if self._tally is not None:
            self._tally.rest_rate_limit_violations += 1
        raise RestError(
            errors.RATE_LIMITED, f"{RATE_LIMIT_MESSAGE}: {limiters.limit} requests per second per {per}"
        )


@dataclass(frozen=True, slots=True)
class Signed:
    account: Account
    params: dict[str, str]


async def authenticate(
    request: web.Request, venue: Venue, clock: Callable[[], float], limits: RestRateLimits
) -> Signed:
    """Check ACCESS-KEY / ACCESS-TIMESTAMP / ACCESS-SIGN; return the account and its params."""
    headers = request.headers
    key = headers.get("ACCESS-KEY", "").strip()
    account = venue.engine.account_by_key.get(key) if key else None
    if account is None:
        # No account to charge: a flood of missing or made-up keys is limited per address instead.
        limits.check_ip(request)
        if not key:
            raise RestError(errors.MISSING_API_KEY, "missing ACCESS-KEY header")
        raise RestError(errors.INVALID_API_KEY, "Invalid ApiKey")
    # Charged once the key names an account but before the body is read or the HMAC computed, so
    # a flood of bad signatures or stale timestamps under one key is refused as cheaply as any
    # excess and spends that key's budget. The price: whoever knows a key (an identifier sent in
    # clear, not a secret) can spend its budget too; counting only verified calls instead would
    # let bad signatures through uncounted, each costing an HMAC.
    limits.check_key(key)
    payload = await signed_payload(request)
    check_rest_timestamp(headers.get("ACCESS-TIMESTAMP", ""), clock())
    signature = headers.get("ACCESS-SIGN", "")
    if not signature:
        raise RestError(errors.SIGN_MISMATCH, "missing ACCESS-SIGN header")
    check_rest_signature(account.secret, payload, signature)
    return Signed(account, parse_form(payload))


def int_param(params: dict[str, str], name: str, default: int | None, *, low: int, high: int) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return default
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses (found by fuzzing).
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 18:
        raise RestError(errors.ILLEGAL_PARAMS, f"{name} must be an integer")
    value = int(text)
    if not low <= value <= high:
        raise RestError(errors.ILLEGAL_PARAMS, f"{name} must be between {low} and {high}")
    return value


def spot_only(request: web.Request) -> None:
    """`/v3/{market}/...`: DigiFinex routes spot, margin and otc this way; only spot is simulated."""
    market = request.match_info.get("market", "spot")
    if market != "spot":
        raise RestError(errors.ILLEGAL_PARAMS, f"{market} trading is not supported (spot only)")
