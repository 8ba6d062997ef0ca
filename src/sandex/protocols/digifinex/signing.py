"""Signatures: `server.auth` on the WebSocket and the ACCESS-* headers of private REST calls.

WebSocket: `sign = base64(HMAC-SHA256(secret, ts_ms_string))`, and the timestamp must be within
`WINDOW_S` of the server's clock (a design choice: the real venue does not document its window;
60 s matches its REST rule).

REST: `ACCESS-SIGN = hex(HMAC-SHA256(secret, payload))` where the payload is the urlencoded
parameter string exactly as sent — the raw query string of a GET, the raw form body of a POST.
Method, path and timestamp are not signed (ACCESS-TIMESTAMP, unix seconds, is only checked
against the window). The check runs over the received bytes because clients differ on key order
and escaping. One tolerance: some HTTP clients re-normalise a URL after it was signed (aiohttp
turns `%2C` back into `,`), so a payload that fails is tried once more in its canonical
percent-encoding with the same key order.

Comparisons use `hmac.compare_digest` so that timing does not reveal how much of a guess matched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final
from urllib.parse import parse_qsl, quote, urlencode

from . import errors

WINDOW_S: Final = 60


def ws_signature(secret: str, timestamp_ms: str) -> str:
    digest = hmac.new(secret.encode(), timestamp_ms.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_ws_auth(secret: str, timestamp_ms: str, signature: str, now_ms: int) -> None:
    """Raise WsError(6) unless `signature` signs `timestamp_ms` and it is fresh."""
    if abs(now_ms - int(timestamp_ms)) > WINDOW_S * 1000:
        raise errors.WsError(errors.WS_REQUIRE_AUTH, f"timestamp outside the {WINDOW_S} s window")
    if not hmac.compare_digest(ws_signature(secret, timestamp_ms).encode(), signature.encode()):
        raise errors.WsError(errors.WS_REQUIRE_AUTH, "signature mismatch")


def rest_signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def canonical(payload: str) -> str:
    """`payload` re-encoded the way ccxt and most signers encode (RFC 3986, key order kept)."""
    return urlencode(parse_qsl(payload, keep_blank_values=True), quote_via=quote)


def check_rest_signature(secret: str, payload: str, signature: str) -> None:
    given = signature.strip().lower().encode()
    if hmac.compare_digest(rest_signature(secret, payload).encode(), given):
        return
    alternative = canonical(payload)
    if alternative != payload and hmac.compare_digest(rest_signature(secret, alternative).encode(), given):
        return
    raise errors.RestError(errors.SIGN_MISMATCH, "Sign doesn't match")


def check_rest_timestamp(timestamp: str, now_s: float) -> None:
    """ACCESS-TIMESTAMP is unix seconds; milliseconds are accepted too (some SDKs send them)."""
    text = timestamp.strip()
    # isascii: str.isdigit() also accepts "²" and other digits int() refuses (found by fuzzing).
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise errors.RestError(errors.BAD_TIMESTAMP, "ACCESS-TIMESTAMP must be unix seconds")
    value = int(text)
    seconds = value / 1000 if value > 10**11 else value
    if abs(now_s - seconds) > WINDOW_S:
        raise errors.RestError(errors.BAD_TIMESTAMP, "timestamp must be within 1 minute of the server time")
