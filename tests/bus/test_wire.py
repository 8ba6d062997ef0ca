"""The bus's message sizing: a stream message stays under NATS's max_payload however many rows
wait (a restarted engine publishing a long journal tail)."""

from __future__ import annotations

from sandex.bus import wire


def test_fitting_takes_the_leading_rows_that_fit_one_message() -> None:
    rows = [(seq, 1000 + seq, b"x" * 100) for seq in range(1, 20_001)]  # about 2.5 MB
    fit = wire.fitting(rows)
    assert fit == rows[: len(fit)] and 0 < len(fit) < len(rows)
    assert sum(len(body) + 24 for _, _, body in fit) <= wire.CHUNK_BYTES
    assert len(wire.Batch(fit).rows) == len(fit)


def test_fitting_always_takes_one_row_even_an_oversized_one() -> None:
    big = [(1, 1, b"x" * (wire.CHUNK_BYTES + 1)), (2, 2, b"y")]
    assert wire.fitting(big) == big[:1]
    assert wire.fitting([]) == []


def test_chunks_split_and_join_back() -> None:
    body = bytes(range(256)) * 5000
    parts = wire.chunks(body, 1000)
    assert b"".join(parts) == body and all(len(p) <= 1000 for p in parts)
    assert wire.chunks(b"") == [b""]
