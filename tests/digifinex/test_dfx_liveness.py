"""Idle connections: closed after `idle_timeout_s` of silence (the "strict" profile; the default
"relaxed" profile never closes an idle client).

Any inbound frame counts as life: a `server.ping` request or an RFC 6455 ping control frame.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from websocket import WebSocketConnectionClosedException, create_connection

from tests.digifinex.dfx_support import decode, with_sections
from tests.support.server import SandexServer


def test_silent_clients_are_closed_and_talkative_ones_kept(tmp_path: Path) -> None:
    config = with_sections('[limits.digifinex]\nprofile = "strict"\nidle_timeout_s = 2\n')
    with SandexServer(tmp_path, config) as server:
        silent = create_connection(server.ws_url("/ws/v1"))  # the path without a slash works too
        app_pings = create_connection(server.ws_url("/ws/v1/"))
        control_pings = create_connection(server.ws_url("/ws/v1/"))
        try:
            started = time.monotonic()
            while time.monotonic() - started < 4.5:
                app_pings.send('{"id": 1, "method": "server.ping"}')
                assert decode(app_pings.recv())["result"] == "pong"
                control_pings.ping()
                time.sleep(0.5)
            silent.settimeout(5)
            with pytest.raises((WebSocketConnectionClosedException, ConnectionError)):
                # The server's close frame: websocket-client raises once it is read.
                while True:
                    silent.recv()
            for ws in (app_pings, control_pings):
                ws.send('{"id": 2, "method": "server.ping"}')
                assert decode(ws.recv())["result"] == "pong"
        finally:
            for ws in (silent, app_pings, control_pings):
                ws.close()
