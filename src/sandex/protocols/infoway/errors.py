"""The refusals of both halves of the dialect, as exceptions carrying their wire code and message.

The WebSocket answers a refused request with an error frame (`{"traceId", "code", "msg"}`) and,
for some codes, closes. The REST API answers with Infoway's envelope and a `ret` code instead of
200 (the HTTP status stays 200, as on the real server), except for a bad key (HTTP 401) and the
rate limit (HTTP 429): those are the two the official SDK recognises by their status.

Infoway's messages use a full-width colon (U+FF1A) between the kind and the detail —
`Param lost：data` — and clients that match on the text expect exactly that, so the helpers
below are the only place messages are spelled. The two channels share some numbers with
different meanings (508-514), so their codes are kept apart.
"""

from __future__ import annotations

from typing import Final

#: The separator the real server writes: FULLWIDTH COLON, not ":".
COLON: Final = "\uff1a"

# -- WebSocket error codes (`{"traceId", "code", "msg"}`) ---------------------------------------
E_INTERNAL: Final = 500
E_RATE_LIMIT: Final = 501  # more than the per-minute frame budget; the connection is closed
E_SYMBOLS_PER_CONNECTION: Final = 505
E_PARAM_ERROR: Final = 506
E_PARAM_LOST: Final = 507
E_KEY_INVALID: Final = 509
E_KEY_BLACKLISTED: Final = 511  # the key was blocked while connected; the connection is closed
E_CONNECTIONS_OVER_LIMIT: Final = 512  # the key's connection cap; the connection is closed
E_HEARTBEAT_TIMEOUT: Final = 513  # no heartbeat in time; the connection is closed
E_NOT_JSON: Final = 515
E_SYMBOLS_PER_KEY: Final = 516  # distinct symbols per channel over all the key's connections

MSG_CODE_OUT_OF_RANGE: Final = f"Param error{COLON}The code is out of range"
MSG_NOT_JSON: Final = f"Param error{COLON}The payload is not JSON"
MSG_RATE_LIMIT: Final = "Request too frequent, more than {limit} requests per minute"
MSG_HEARTBEAT_TIMEOUT: Final = "Heartbeat timeout, no heartbeat received in {seconds} seconds"
MSG_CONNECTIONS: Final = "Connections over limit, at most {limit} connections per apikey"
MSG_SYMBOLS: Final = "Symbols over limit, at most {limit} symbols per type per connection"
MSG_KEY_SYMBOLS: Final = "Symbols over limit, at most {limit} symbols per type per apikey"
MSG_KEY_BLACKLISTED: Final = "Apikey blacklisted, the apikey is blocked"
MSG_INTERNAL: Final = "Internal server error"


class InfowayError(Exception):
    """A WebSocket request the server refuses: the connection stays open and gets an error frame."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        #: The request's trace, echoed as `traceId`; None when the frame had none (or is not JSON).
        self.trace: str | None = None


def param_lost(name: str) -> InfowayError:
    """A required parameter is absent, null or empty (507)."""
    return InfowayError(E_PARAM_LOST, f"Param lost{COLON}{name}")


def param_error(detail: str) -> InfowayError:
    """A parameter is present but has the wrong type or an impossible value (506)."""
    return InfowayError(E_PARAM_ERROR, f"Param error{COLON}{detail}")


def code_out_of_range() -> InfowayError:
    return InfowayError(E_PARAM_ERROR, MSG_CODE_OUT_OF_RANGE)


def not_json() -> InfowayError:
    return InfowayError(E_NOT_JSON, MSG_NOT_JSON)


def symbols_over_limit(limit: int) -> InfowayError:
    return InfowayError(E_SYMBOLS_PER_CONNECTION, MSG_SYMBOLS.format(limit=limit))


def symbols_over_key_limit(limit: int) -> InfowayError:
    return InfowayError(E_SYMBOLS_PER_KEY, MSG_KEY_SYMBOLS.format(limit=limit))


# -- REST `ret` codes (the SDK's RestErrorCode) -------------------------------------------------
RET_OK: Final = 200
RET_BAD_REQUEST: Final = 400
RET_UNAUTHORIZED: Final = 401
RET_NOT_FOUND: Final = 404
RET_SERVER_ERROR: Final = 500  # also "All product not exists", as the real server answers it
RET_RATE_LIMIT: Final = 501
RET_KLINE_OVER_LIMIT: Final = 503
RET_PRODUCTS_OVER_LIMIT: Final = 505
RET_PARAM_ERROR: Final = 506
RET_PARAM_LOST: Final = 507
RET_NO_PERMISSION: Final = 514

MSG_TOKEN_INVALID: Final = "Token invalid"
MSG_REST_RATE_LIMIT: Final = "Request frequency exceed the limit{colon}{limit} requests per minute"
MSG_NO_PRODUCT: Final = "All product not exists"


class RestError(Exception):
    """A REST call the server refuses; the routes turn it into Infoway's envelope."""

    def __init__(self, ret: int, msg: str, http_status: int = 200) -> None:
        super().__init__(f"{ret} {msg}")
        self.ret = ret
        self.msg = msg
        self.http_status = http_status


def rest_param_lost(name: str) -> RestError:
    return RestError(RET_PARAM_LOST, f"Param lost{COLON}{name}")


def rest_param_error(detail: str) -> RestError:
    return RestError(RET_PARAM_ERROR, f"Param error{COLON}{detail}")


def unauthorized(detail: str) -> RestError:
    """A missing, unknown or blocked `apikey` header: HTTP 401, which the SDK raises as its
    auth error."""
    return RestError(RET_UNAUTHORIZED, f"{MSG_TOKEN_INVALID}{COLON}{detail}", http_status=401)


def rest_rate_limited(limit: int) -> RestError:
    """Over the key's REST budget: HTTP 429, which the SDK raises as its rate-limit error."""
    return RestError(RET_RATE_LIMIT, MSG_REST_RATE_LIMIT.format(colon=COLON, limit=limit), http_status=429)


def not_simulated(what: str) -> RestError:
    """A market or endpoint of Infoway that sandex does not simulate: what the real server answers
    a key whose plan lacks it (514), with a message that says why."""
    return RestError(
        RET_NO_PERMISSION,
        f"No permission{COLON}{what} is not simulated by sandex, which serves crypto only "
        "(/crypto/batch_trade, /crypto/batch_depth, /crypto/v2/batch_kline, /common/basic/symbols)",
    )
