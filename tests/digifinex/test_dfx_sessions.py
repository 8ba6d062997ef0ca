"""A DigiFinex session is found by its API key once `server.auth` signed it in (issue 16 item 4).

DigiFinex learns the key after the upgrade, so the session is indexed again at sign-in; closing
a key's sessions (what blocking a key does) then reaches it. Real server, real websocket client.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import websockets

from tests.digifinex.dfx_support import ALICE, BOB, in_process, with_sections, ws_client


async def test_a_signed_in_session_is_indexed_under_its_key_and_closed_with_it(tmp_path: Path) -> None:
    async with in_process(tmp_path, with_sections("")) as venue, ws_client(venue.ws_url) as ws:
        registry = venue.ctx.registry
        await ws.call("server.ping")
        assert registry.for_key("digifinex", ALICE[0]) == []  # not signed in yet
        await ws.auth(ALICE)
        (session,) = registry.for_key("digifinex", ALICE[0])
        assert session.key == ALICE[0] and session in registry.sessions("digifinex")

        # Signing in again as someone else moves the session to that key.
        await ws.auth(BOB)
        assert registry.for_key("digifinex", ALICE[0]) == []
        assert registry.for_key("digifinex", BOB[0]) == [session]

        assert registry.close_key("digifinex", BOB[0], 1008, "api key blocked") == 1
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.conn.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        for _ in range(50):  # the server unregisters it once its receive loop ends
            if not registry.for_key("digifinex", BOB[0]):
                break
            await asyncio.sleep(0.05)
        assert registry.for_key("digifinex", BOB[0]) == []
