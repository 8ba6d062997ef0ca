"""From the venue's event stream to DBot's pushes: each `TradeResult` becomes one
`tradeResultNotify`, encoded once and written to every session of its account whose
`tradeTypeFilter` wants it (the venue listener `DbotPublisher.on_events`).

DBot's filter names are `<prefix>_<kind>_<success|fail>`: copy trades are `follow_buy_*` /
`follow_sell_*`, pnl orders take their sub-source (`follow_take_profit_*`, ...), limit orders
`limit_*`, swap orders `swap_*`. Expired orders count as failures.

Amounts are integer strings in the smallest unit with `decimals` in the token info, as DBot
sends them; sandex currencies all have 18 (the ledger's scale), so no amount is ever rounded.
"""

from __future__ import annotations

from typing import Any

from ...automation import DONE, SRC_FOLLOW, SRC_LIMIT, SRC_SWAP, TradeResult
from ...core.engine import Engine
from ...core.events import Event
from ...core.literals import BUY
from ...marketdata.service import MarketDataUpdate
from ...server.framing import encode_frame
from ...server.registry import SessionRegistry
from .connection import DIALECT, DbotConnection
from .views import price, token_info
from .wire import ENCODER

_PREFIX = {SRC_FOLLOW: "follow", SRC_LIMIT: "limit", SRC_SWAP: "swap"}


def trade_type(result: TradeResult) -> str:
    outcome = "success" if result.state == DONE else "fail"
    if result.sub_source:
        return f"{result.sub_source}_{outcome}"
    return f"{_PREFIX.get(result.source, 'swap')}_{result.side}_{outcome}"


def notification(engine: Engine, result: TradeResult) -> dict[str, Any]:
    market = engine.markets[result.symbol]
    done = result.state == DONE
    body: dict[str, Any] = {
        "id": result.result_id,
        "state": result.state,
        "source": result.source,
        "subSource": result.sub_source or None,
        "chain": result.chain,
        "block": result.block if done else None,
        "hash": str(result.trade_id) if done else None,
        "createAt": result.ts,
        "timestamp": result.ts // 1000 if done else None,
        "wallet": result.wallet_id,
        "type": result.side,
        "token": market.base,
        "pair": market.symbol,
        "symbol": market.base,
    }
    if done:
        sent, received = (market.quote, market.base) if result.side == BUY else (market.base, market.quote)
        body["send"] = {"info": token_info(sent), "amount": str(result.send_amount)}
        body["receive"] = {"info": token_info(received), "amount": str(result.receive_amount)}
        body["priceUsd"] = price(market, result.fill_value, result.fill_amount)
    else:
        body["errorCode"] = result.error_code
        body["errorMessage"] = result.error_message
    return body


def encode_notification(engine: Engine, result: TradeResult) -> bytes:
    return ENCODER.encode({"method": "tradeResultNotify", "result": notification(engine, result)})


class DbotPublisher:
    def __init__(self, engine: Engine, registry: SessionRegistry) -> None:
        self.engine = engine
        self.registry = registry

    def on_events(self, events: list[Event], update: MarketDataUpdate) -> None:
        """Venue listener: trade results to their account's subscribed sessions."""
        registry = self.registry
        if not registry.count(DIALECT):
            return
        engine = self.engine
        for event in events:
            if type(event) is not TradeResult:
                continue
            account = engine.accounts.get(event.account_id)
            if account is None:
                continue
            kind = trade_type(event)
            sessions = [
                s
                for s in registry.for_key(DIALECT, account.api_key)
                if isinstance(s.state, DbotConnection) and s.state.wants(kind)
            ]
            if sessions:
                frame = encode_frame(encode_notification(engine, event), binary=False)
                for session in sessions:
                    session.send_frame(frame)
