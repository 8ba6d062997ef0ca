"""Mutable engine-side records of open orders and trigger orders."""

from __future__ import annotations

from typing import Any

from .literals import OPEN, Direction, OrderKind, OrderStatus, Side, TimeInForce, TriggerStatus

#: The fields of an order that snapshots store, in row order (see `Order.to_row`).
ORDER_ROW = (
    "id",
    "account_id",
    "wallet_id",
    "symbol",
    "side",
    "kind",
    "tif",
    "price",
    "amount",
    "quote_amount",
    "filled",
    "filled_value",
    "remaining",
    "hold",
    "status",
    "created_ts",
    "client_order_id",
    "source",
    "source_id",
    "qpos",
)


class Order:
    # Besides the stored fields, an order remembers where its hold sits: the ledger key
    # (wallet, currency) and its balance cell, so an amend adjusts the hold without building a
    # key or looking the cell up. The engine sets both when it takes the hold (place_order) or
    # restores the order (from_state); they are not part of the snapshot row.
    __slots__ = (*ORDER_ROW, "hold_key", "hold_cell")
    hold_key: tuple[str, str]
    hold_cell: list[int]

    def __init__(
        self,
        id: int,
        account_id: int,
        wallet_id: str,
        symbol: str,
        side: Side,
        kind: OrderKind,
        tif: TimeInForce,
        price: int,
        amount: int,
        quote_amount: int,
        created_ts: int,
        client_order_id: str,
        source: str,
        source_id: str,
    ) -> None:
        self.id = id
        self.account_id = account_id
        self.wallet_id = wallet_id
        self.symbol = symbol
        self.side = side
        self.kind = kind
        self.tif = tif
        self.price = price
        self.amount = amount
        self.quote_amount = quote_amount
        self.filled = 0
        self.filled_value = 0
        self.remaining = amount  # base still to fill (unused by market buys, which spend `hold`)
        self.hold = 0  # ledger amount still held for this order
        self.status: OrderStatus = OPEN
        self.created_ts = created_ts
        self.client_order_id = client_order_id
        self.source = source
        self.source_id = source_id
        self.qpos = 0  # place-in-queue token; 0 = not on the book

    def to_row(self) -> list[Any]:
        return [getattr(self, name) for name in ORDER_ROW]

    @classmethod
    def from_row(cls, row: list[Any]) -> Order:
        fields = dict(zip(ORDER_ROW, row, strict=False))
        order = cls(
            fields["id"],
            fields["account_id"],
            fields["wallet_id"],
            fields["symbol"],
            fields["side"],
            fields["kind"],
            fields["tif"],
            fields["price"],
            fields["amount"],
            fields["quote_amount"],
            fields["created_ts"],
            fields["client_order_id"],
            fields["source"],
            fields["source_id"],
        )
        for name in _ORDER_STATE:
            setattr(order, name, fields[name])
        return order


#: The row fields that `Order.__init__` does not take: the state an order reaches as it trades.
_ORDER_STATE = ("filled", "filled_value", "remaining", "hold", "status", "qpos")


#: The fields of a trigger that snapshots store, in row order.
TRIGGER_ROW = (
    "id",
    "account_id",
    "wallet_id",
    "symbol",
    "side",
    "trigger_price",
    "direction",
    "kind",
    "price",
    "amount",
    "quote_amount",
    "expires_at",
    "status",
    "order_id",
    "created_ts",
    "source",
    "source_id",
    "sub_source",
    "group_id",
)


class Trigger:
    __slots__ = TRIGGER_ROW
    id: int
    account_id: int
    wallet_id: str
    symbol: str
    side: Side
    trigger_price: int
    direction: Direction
    kind: OrderKind
    price: int
    amount: int
    quote_amount: int
    expires_at: int
    status: TriggerStatus
    order_id: int
    created_ts: int
    source: str
    source_id: str
    sub_source: str
    group_id: str

    def to_row(self) -> list[Any]:
        return [getattr(self, name) for name in TRIGGER_ROW]

    @classmethod
    def from_row(cls, row: list[Any]) -> Trigger:
        trigger = cls()
        for name, value in zip(TRIGGER_ROW, row, strict=False):
            setattr(trigger, name, value)
        return trigger
