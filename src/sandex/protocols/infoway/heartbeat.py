"""The heartbeat rule as a liveness policy for the server's one sweeper.

A connection that sends no heartbeat (10010) for `timeout_s` seconds gets error 513 and is
closed. Other frames do not count: subscribing every few seconds does not keep a connection
alive on the real server either. The decision reads the connection's own heartbeat clock, which
is stamped by `InfowayConnection.receive` on the same monotonic clock the sweeper passes in, so
it can be tested with any `now`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sandex.server.framing import encode_frame
from sandex.server.session import Session

from . import codes, encoders
from .connection import InfowayConnection
from .errors import MSG_HEARTBEAT_TIMEOUT

log = logging.getLogger("sandex.infoway")

#: Close code after 513: a normal closure; the reason is in the error frame before it.
CLOSE_HEARTBEAT = 1000


@dataclass(frozen=True, slots=True)
class HeartbeatPolicy:
    timeout_s: float
    #: Told the error code sent (513), for the error metrics.
    on_error: Callable[[int], None] | None = None

    def is_idle(self, session: Session, now: float) -> bool:
        state = session.state
        # The state is set by the session's on_open; until then it has not been greeted yet.
        return isinstance(state, InfowayConnection) and state.heartbeat_overdue(now, self.timeout_s)

    def on_timeout(self, session: Session) -> None:
        seconds = f"{self.timeout_s:g}"
        log.info(
            "infoway: no heartbeat from %s (key=%s) in %ss; closing with 513",
            session.peer,
            session.key,
            seconds,
        )
        payload = encoders.error(codes.E_HEARTBEAT_TIMEOUT, MSG_HEARTBEAT_TIMEOUT.format(seconds=seconds))
        session.send_frame(encode_frame(payload, binary=False))
        if self.on_error is not None:
            self.on_error(codes.E_HEARTBEAT_TIMEOUT)
        session.close(CLOSE_HEARTBEAT, "heartbeat timeout")
