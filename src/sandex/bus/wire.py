"""What the engine and the gateways say to each other over NATS.

The engine's journal rows `(seq, ts, command)` are the unit of replication: the engine is a pure
function of them (`core/engine.py`), so a gateway that applies the same rows in the same order
holds the same state and derives the same events as the engine, without events ever being
encoded for the bus.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "BATCHES",
    "CHUNK_BYTES",
    "COMMANDS",
    "HEARTBEAT",
    "HEARTBEAT_S",
    "KEYS",
    "LATEST",
    "RATES",
    "ROWS",
    "SNAPSHOT",
    "SNAPSHOTS",
    "STREAM",
    "WRONG_LAST_SEQUENCE",
    "Batch",
    "ChunkHeader",
    "CommandReply",
    "Heartbeat",
    "KeyChange",
    "RateUses",
    "Row",
    "RowsRequest",
    "StoredSnapshot",
    "chunks",
    "fitting",
]

#: The JetStream stream holding the committed batches, and its one subject.
STREAM = "SANDEX"
BATCHES = "sandex.batches"
#: Request/reply subjects the engine answers.
COMMANDS = "sandex.commands"
SNAPSHOT = "sandex.snapshot"
ROWS = "sandex.rows"
#: The JetStream object store bucket and object holding the engine's latest state, for a
#: gateway that starts while the engine is down (it then replays the stream after it).
SNAPSHOTS = "SANDEX_SNAPSHOTS"
LATEST = "latest"
#: Key blocks and unblocks, from whichever process made them (`keys.KeyBlockRelay`).
KEYS = "sandex.keys"
#: Requests each process's shared rate limiters accepted (`budgets.RateRelay`).
RATES = "sandex.rates"
#: The engine's liveness and position, published (not stored) every HEARTBEAT_S.
HEARTBEAT = "sandex.heartbeat"
HEARTBEAT_S = 0.5
#: Most payload bytes of one message the engine sends (NATS refuses messages over its
#: max_payload, 1 MB by default): larger answers go as numbered chunks.
CHUNK_BYTES = 512 * 1024
#: JetStream's error code when Nats-Expected-Last-Sequence does not match: another engine
#: published since (this one is fenced).
WRONG_LAST_SEQUENCE = 10071

#: One journal row: (seq, ts in ms, the encoded command).
Row = tuple[int, int, bytes]


class Batch(msgspec.Struct, array_like=True):
    """One stream message: consecutive journal rows, in seq order."""

    rows: list[Row]


class Heartbeat(msgspec.Struct, array_like=True):
    #: The engine's last applied journal seq, and the last seq on the stream.
    applied: int
    published: int
    #: Why the engine takes no orders now (its journal halted, an operator pause), or "".
    halted: str = ""


class CommandReply(msgspec.Struct, array_like=True):
    """The journal seq the command was applied at, or why it was not (`error`)."""

    seq: int = 0
    error: str = ""


class RowsRequest(msgspec.Struct, array_like=True):
    """Journal rows with after < seq <= through."""

    after: int
    through: int


class KeyChange(msgspec.Struct, array_like=True):
    """An API key blocked (for `remaining_s` seconds, < 0: until unblocked) or unblocked."""

    origin: str
    dialect: str
    key: str
    blocked: bool
    remaining_s: float = -1.0


class RateUses(msgspec.Struct, array_like=True):
    """Requests a process accepted since its last RateUses: (limiter name, key, count)."""

    origin: str
    uses: list[tuple[str, str, int]]


class ChunkHeader(msgspec.Struct, array_like=True):
    """First message of a chunked answer: what it is and how many chunks follow."""

    seq: int
    chunks: int
    error: str = ""
    #: The engine's config (msgpack), with a snapshot: a gateway needs no config file.
    config: bytes = b""
    #: The API keys blocked now, with a snapshot (`keys.KeyBlockRelay`).
    blocks: list[KeyChange] = msgspec.field(default_factory=list)


class StoredSnapshot(msgspec.Struct, array_like=True):
    """The engine's state at journal seq `seq`, with its config; the rows after it are on the
    stream from JetStream sequence `stream_seq` + 1 on (earlier messages hold only rows <= seq)."""

    seq: int
    stream_seq: int
    config: bytes
    body: bytes


def fitting(rows: list[Row], size: int = CHUNK_BYTES) -> list[Row]:
    """The leading rows that fit one message of about `size` bytes (always at least one)."""
    total = 0
    for i, row in enumerate(rows):
        total += len(row[2]) + 24  # the body, two integers and msgpack's framing
        if total > size and i:
            return rows[:i]
    return rows


def chunks(body: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


encoder = msgspec.msgpack.Encoder()
