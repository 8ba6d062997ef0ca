"""`DbotConnection` on its own, sans I/O: frames in, outcomes out, no socket."""

from __future__ import annotations

import json

from sandex.protocols.dbot.connection import DbotConnection


def test_frames_answered_at_once_and_calls_handed_out() -> None:
    connection = DbotConnection(account_id=7)
    bad = connection.receive(b"\xff")
    assert bad.call is None and json.loads(bad.reply or b"")["result"]["err"] is True
    ping = connection.receive('{"method": "ping"}')
    assert ping.heartbeat and ping.reply is None and ping.call is None
    answered = connection.receive('{"id": "a", "method": "heartbeat"}')
    assert json.loads(answered.reply or b"") == {"method": "rpcResponse", "id": "a", "result": {"err": False}}
    assert not connection.wants("follow_buy_success")
    typo = connection.receive('{"method": "subscribeTradeResults", "tradeTypeFilter": ["follow_buy_sucess"]}')
    assert "follow_buy_sucess" in json.loads(typo.reply or b"")["result"]["res"]
    assert not connection.wants("follow_buy_success")
    connection.receive('{"method": "subscribeTradeResults", "tradeTypeFilter": ["swap_buy_fail"]}')
    assert connection.wants("swap_buy_fail") and not connection.wants("follow_buy_success")
    outcome = connection.receive('{"id": 1.50, "method": "listWallets", "params": {"size": 2}}')
    assert outcome.reply is None and outcome.call is not None
    call = outcome.call
    assert (call.method, json.loads(call.params)) == ("listWallets", {"size": 2})
    assert (
        connection.answer(call, []) == b'{"method":"rpcResponse","id":1.50,"result":{"err":false,"res":[]}}'
    )
    assert json.loads(connection.refuse(call, "no")) == {
        "method": "rpcResponse",
        "id": 1.5,
        "result": {"err": True, "res": "no", "docs": ""},
    }
