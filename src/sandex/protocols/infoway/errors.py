"""The errors a request can earn, as exceptions carrying their wire code and message.

Infoway's messages use a full-width colon (U+FF1A) between the kind and the detail —
`Param lost：data` — and clients that match on the text expect exactly that, so the helpers
below are the only place messages are spelled.
"""

from __future__ import annotations

from typing import Final

from . import codes

#: The separator the real server writes: FULLWIDTH COLON, not ":".
COLON: Final = "\uff1a"

MSG_CODE_OUT_OF_RANGE: Final = f"Param error{COLON}The code is out of range"
MSG_NOT_JSON: Final = f"Param error{COLON}The payload is not JSON"
MSG_RATE_LIMIT: Final = "Request too frequent, more than {limit} requests per minute"
MSG_HEARTBEAT_TIMEOUT: Final = "Heartbeat timeout, no heartbeat received in {seconds} seconds"
MSG_CONNECTIONS: Final = "Connections over limit, at most {limit} connections per apikey"
MSG_SYMBOLS: Final = "Symbols over limit, at most {limit} symbols per type per connection"
MSG_KEY_SYMBOLS: Final = "Symbols over limit, at most {limit} symbols per type per apikey"
MSG_INTERNAL: Final = "Internal server error"


class InfowayError(Exception):
    """A request the server refuses: the connection stays open and gets an error frame."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        #: The request's trace, echoed as `traceId`; None when the frame had none (or is not JSON).
        self.trace: str | None = None


def param_lost(name: str) -> InfowayError:
    """A required parameter is absent, null or empty (507)."""
    return InfowayError(codes.E_PARAM_LOST, f"Param lost{COLON}{name}")


def param_error(detail: str) -> InfowayError:
    """A parameter is present but has the wrong type or an impossible value (506)."""
    return InfowayError(codes.E_PARAM_ERROR, f"Param error{COLON}{detail}")


def code_out_of_range() -> InfowayError:
    return InfowayError(codes.E_PARAM_ERROR, MSG_CODE_OUT_OF_RANGE)


def not_json() -> InfowayError:
    return InfowayError(codes.E_NOT_JSON, MSG_NOT_JSON)


def symbols_over_limit(limit: int) -> InfowayError:
    return InfowayError(codes.E_SYMBOLS_PER_CONNECTION, MSG_SYMBOLS.format(limit=limit))


def symbols_over_key_limit(limit: int) -> InfowayError:
    return InfowayError(codes.E_SYMBOLS_PER_KEY, MSG_KEY_SYMBOLS.format(limit=limit))
