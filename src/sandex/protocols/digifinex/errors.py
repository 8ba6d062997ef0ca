"""DigiFinex error codes, as exceptions that carry them.

The WebSocket API inherits viabtc's `{"code": n, "message": ...}` errors (codes 1-6); the REST API
has its own numeric codes in the response envelope. Every failure the dialect reports is one of
these two exceptions, raised where it is detected and turned into a reply at the edge, so no
handler ever formats an error by hand.
"""

from __future__ import annotations

from typing import Final

from sandex.core import events as ev

# -- WebSocket (viabtc accessws codes) -----------------------------------------------------------

WS_INVALID_ARGUMENT: Final = 1
WS_INTERNAL_ERROR: Final = 2
WS_SERVICE_UNAVAILABLE: Final = 3
WS_METHOD_NOT_FOUND: Final = 4
WS_SERVICE_TIMEOUT: Final = 5
WS_REQUIRE_AUTH: Final = 6


class WsError(Exception):
    """A request the WebSocket API refuses; becomes `{"error": {code, message}, "result": null}`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- REST v3 --------------------------------------------------------------------------------------

OK: Final = 0
WRONG_METHOD: Final = 10001
INVALID_API_KEY: Final = 10002
SIGN_MISMATCH: Final = 10003
ILLEGAL_PARAMS: Final = 10004
RATE_LIMITED: Final = 10005
UNAUTHORIZED: Final = 10006
BAD_TIMESTAMP: Final = 10008
#: The spot docs of sandex's protocol notes give 10009 to a missing ACCESS-KEY; DigiFinex's own
#: table calls 10009 "Unexist endpoint". Both mean "this request names nothing we serve".
MISSING_API_KEY: Final = 10009
UNKNOWN_ENDPOINT: Final = 10009
INVALID_PRICE_OR_AMOUNT: Final = 20003
PRICE_PRECISION: Final = 20007
AMOUNT_PRECISION: Final = 20008
AMOUNT_TOO_SMALL: Final = 20009
VALUE_TOO_SMALL: Final = 20010
INSUFFICIENT_BALANCE: Final = 20011
INVALID_TRADE_TYPE: Final = 20012
ORDER_NOT_FOUND: Final = 20013
BAD_SYMBOL: Final = 20019
CANNOT_CANCEL: Final = 20039
INTERNAL: Final = 50000


class RestError(Exception):
    """A REST request refused with a DigiFinex code; becomes `{"code": n, "msg": ...}`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


#: Engine reject codes -> DigiFinex REST codes. A post-only order that would take is refused
#: whole by the engine (there is no order to report as cancelled), so it is an invalid order.
REJECT_CODES: Final[dict[str, int]] = {
    ev.E_UNKNOWN_SYMBOL: BAD_SYMBOL,
    ev.E_UNKNOWN_ACCOUNT: UNAUTHORIZED,
    ev.E_UNKNOWN_WALLET: UNAUTHORIZED,
    ev.E_INVALID_PRICE: INVALID_PRICE_OR_AMOUNT,
    ev.E_INVALID_AMOUNT: INVALID_PRICE_OR_AMOUNT,
    ev.E_INVALID_SIDE: INVALID_TRADE_TYPE,
    ev.E_INVALID_TYPE: INVALID_TRADE_TYPE,
    ev.E_BELOW_MIN_AMOUNT: AMOUNT_TOO_SMALL,
    ev.E_BELOW_MIN_VALUE: VALUE_TOO_SMALL,
    ev.E_INSUFFICIENT_BALANCE: INSUFFICIENT_BALANCE,
    ev.E_POST_ONLY_WOULD_TAKE: INVALID_PRICE_OR_AMOUNT,
    ev.E_ORDER_NOT_FOUND: ORDER_NOT_FOUND,
    ev.E_NOT_CANCELLABLE: CANNOT_CANCEL,
    ev.E_NOT_FOUND: ORDER_NOT_FOUND,
}


def from_reject(code: str, message: str) -> RestError:
    return RestError(REJECT_CODES.get(code, INTERNAL), message)
