"""Commands: the only input of the engine.

Commands are typed msgspec structs with a tag so that the journal can store them compactly and
replay them bit for bit. They are encoded as JSON arrays, not msgpack: ledger amounts have 18
decimals and exceed msgpack's 64-bit integers, while msgspec's JSON reads and writes integers of
any size exactly. Quantities are already scaled integers: the protocol layer
reads decimal strings with the market's precision before it builds a command.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

# The words, defined in .literals; importable from here as before.
from .literals import BUY as BUY
from .literals import GTC as GTC
from .literals import IOC as IOC
from .literals import LIMIT as LIMIT
from .literals import MARKET as MARKET
from .literals import POST_ONLY as POST_ONLY
from .literals import SELL as SELL


class Command(Struct, tag_field="c", array_like=True, omit_defaults=True):
    """Base of every engine command."""


class CreateAccount(Command, tag="acct"):
    """An account with its first wallet. An empty `api_key` makes an account no dialect can
    reach (the simulator's): only keyed accounts are in the engine's key lookup."""

    name: str
    api_key: str
    secret: str


class RevokeKey(Command, tag="rvk"):
    """Take an account's API key (and secret) away: no dialect can reach it any more. Used for
    the simulator's accounts of a data dir written when they still had derivable keys."""

    account_id: int


class SetAccountFees(Command, tag="fee"):
    """An account's own fee rates in ppm (1000 = 0.1 %), for every market, instead of the
    markets' rates; -1 = the market's rate."""

    account_id: int
    maker_fee_ppm: int = -1
    taker_fee_ppm: int = -1


class CreateWallet(Command, tag="wal"):
    account_id: int
    name: str = ""


class Deposit(Command, tag="dep"):
    """Credit (or, negative, debit) a wallet's free balance. Amount in ledger scale."""

    wallet_id: str
    currency: str
    amount: int


class PlaceOrder(Command, tag="ord"):
    account_id: int
    symbol: str
    # Words of .literals, as plain `str` on purpose: a command is input, which the engine checks
    # and refuses with a Rejected event (E_INVALID_SIDE...). Typed as Literals, a journaled
    # command with a bad word would no longer decode, and its replay would not reproduce the
    # rejection. Events, the engine's output, are typed with the Literals.
    side: str  # Side
    kind: str = LIMIT  # OrderKind
    tif: str = GTC  # TimeInForce; limit orders only
    price: int = 0  # scaled by price precision; limit orders only
    amount: int = 0  # base amount scaled by amount precision; not for market buys
    quote_amount: int = 0  # market buys only: the quote to spend, in ledger scale
    wallet_id: str = ""  # "" = the account's first wallet
    client_order_id: str = ""
    source: str = "api"  # api | trigger | copy | sim
    source_id: str = ""


class CancelOrder(Command, tag="cxl"):
    account_id: int
    order_id: int


class AmendOrder(Command, tag="amd"):
    """Change price and/or total amount. Keeps time priority only when the price is the same
    and the remaining size shrinks."""

    account_id: int
    order_id: int
    price: int
    amount: int  # new total amount (must exceed what is already filled)


class PlaceTrigger(Command, tag="trg"):
    """An order that waits until the last trade price crosses `trigger_price`.

    direction "up": fires when last >= trigger_price; "down": when last <= trigger_price.
    """

    account_id: int
    symbol: str
    side: str  # Side (checked by the engine, see PlaceOrder)
    trigger_price: int
    direction: str  # Direction
    kind: str = MARKET  # OrderKind
    price: int = 0
    amount: int = 0
    quote_amount: int = 0
    expires_at: int = 0  # ms; 0 = never
    wallet_id: str = ""
    source: str = "api"  # api | limit_order | follow_order | ...
    source_id: str = ""
    sub_source: str = ""  # e.g. follow_take_profit
    group_id: str = (
        ""  # a label for the caller (e.g. one copy-trade's pnl orders); the engine does not act on it
    )


class CancelTrigger(Command, tag="ctg"):
    account_id: int
    trigger_id: int


class SetTriggerEnabled(Command, tag="stg"):
    account_id: int
    trigger_id: int
    enabled: bool


class Tick(Command, tag="tick"):
    """Lets time pass: expires what is due. The runner sends it when a deadline is reached."""


_ENCODER = msgspec.json.Encoder()


def encode_command(command: Command) -> bytes:
    return _ENCODER.encode(command)


_COMMAND_TYPES: list[type] = []


def register_command(cls: type) -> type:
    """Register a Command subclass defined outside this module (e.g. copy-trading commands),
    so the journal can decode it. Call before the first decode."""
    _COMMAND_TYPES.append(cls)
    global _decoder
    _decoder = None
    return cls


for _cls in (
    CreateAccount,
    RevokeKey,
    SetAccountFees,
    CreateWallet,
    Deposit,
    PlaceOrder,
    CancelOrder,
    AmendOrder,
    PlaceTrigger,
    CancelTrigger,
    SetTriggerEnabled,
    Tick,
):
    _COMMAND_TYPES.append(_cls)

_decoder: msgspec.json.Decoder[Command] | None = None


def decode_command(data: bytes) -> Command:
    global _decoder
    if _decoder is None:
        from typing import Union

        _decoder = msgspec.json.Decoder(Union[tuple(_COMMAND_TYPES)])  # noqa: UP007
    return _decoder.decode(data)
