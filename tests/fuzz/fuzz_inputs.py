"""Hostile inputs for the fuzz tests, as hypothesis strategies, and how many to run.

Every strategy aims at one way a client (or an attacker) can be wrong: arbitrary bytes, text that
is almost JSON, JSON nested far deeper than any request, numbers no parser should trust (huge
integers, 1e400, NaN and Infinity as bare tokens, -0), wrong types in every field, unicode that is
not valid UTF-8 (lone surrogates), digits that are not ASCII, and frames larger than the limits.
Envelopes use the dialect's real method names and symbols, so inputs also get past the first
checks and reach the deeper ones.

SANDEX_FUZZ_EXAMPLES sets the examples per test: a few hundred in CI, 100,000 with `make fuzz`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SANDEX_FUZZ_EXAMPLES", "250"))


def fuzz_settings(examples: int = EXAMPLES) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # CI (the default count) is reproducible; the long mode explores.
        derandomize=examples <= 1000,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


# -- scalars ------------------------------------------------------------------------------------

#: Number-ish text a decimal or integer parser meets in the wild, and some it should never accept.
NUMBER_TEXT = st.sampled_from(
    [
        "0",
        "-0",
        "1",
        "-1",
        "0.1",
        ".5",
        "5.",
        "1e5",
        "1E-7",
        "1e400",
        "-1e400",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "0x10",
        "1_000",
        " 1",
        "1 ",
        "+1",
        "--1",
        "1.2.3",
        "９",
        "²",
        "١٢٣",
        "1\u00a0",
        "123456789012345678901234567890",
        "9" * 400,
        "0." + "0" * 40 + "1",
        "65000",
        "65000.00",
        "0.0001",
        "",
        " ",
        "null",
        "true",
    ]
)

WEIRD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\udc80",
            "\ud800x",
            "\u0000",
            "\u202e",
            "😀",
            "ＢＴＣ＿ＵＳＤＴ",
            "btc_usdt",
            "BTC-USDT",
            "BTC_USDT\n",
            "%00",
            "a" * 300,
            "' OR 1=1 --",
            "${jndi:x}",
            "../../etc/passwd",
        ]
    ),
    NUMBER_TEXT,
)

FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e308, -0.0, 5e-324]))
INTEGERS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([2**63, -(2**63) - 1, 10**400, 0, -1]))


class RawToken:
    """JSON text written as is: bare NaN/Infinity tokens, 1e400, numbers with thousands of digits."""

    def __init__(self, text: str) -> None:
        self.text = text


RAW_TOKENS = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "-0",
        "1E+99999",
        "0e0",
        "1" * 5000,
        "tru",
        "nul",
        '"unterminated',
        "01",
        "1.",
        ".1",
    ]
).map(RawToken)


def json_values(strings: st.SearchStrategy[str] = WEIRD_TEXT) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), INTEGERS, FLOATS, strings, RAW_TOKENS)
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=5), st.dictionaries(strings, children, max_size=5)
        ),
        max_leaves=12,
    )


def encode(value: Any, *, ascii_only: bool) -> str:
    """JSON text for `value`, including what `json.dumps` refuses to write."""
    if isinstance(value, RawToken):
        return value.text
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, list):
        return "[" + ",".join(encode(v, ascii_only=ascii_only) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                f"{encode(str(k), ascii_only=ascii_only)}:{encode(v, ascii_only=ascii_only)}"
                for k, v in value.items()
            )
            + "}"
        )
    raise TypeError(type(value))


def to_wire(text: str, as_bytes: bool) -> str | bytes:
    """Text frames carry str; binary frames (and REST bodies) bytes, lone surrogates included
    as the invalid UTF-8 a broken client would send."""
    if not as_bytes:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.encode("utf-8", "surrogatepass")


# -- whole messages -------------------------------------------------------------------------------


def nested(depth: int, opener: str, closer: str, *, inner: str = "") -> str:
    return opener * depth + inner + closer * depth


DEEP = st.integers(min_value=50, max_value=200_000).flatmap(
    lambda depth: st.sampled_from(
        [
            nested(depth, "[", "]"),
            nested(depth, '{"a":', "}", inner="1"),
            '{"id":1,"method":"x","params":' + nested(depth, "[", "]") + "}",
            '{"code":10000,"trace":"t","data":' + nested(depth, '{"d":', "}", inner="1") + "}",
            nested(depth, "[", ""),  # never closed
        ]
    )
)


def oversized(minimum: int, maximum: int, template: str) -> st.SearchStrategy[str]:
    """A well-formed message whose size is between `minimum` and `maximum` bytes."""
    return st.integers(minimum, maximum).map(lambda n: template.replace("PAD", "x" * n))


def envelopes(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of `fields` (each maybe missing), plus stray keys."""
    optional = {name: st.one_of(st.just(_MISSING), strategy) for name, strategy in fields.items()}
    return st.fixed_dictionaries(optional, optional={"extra": json_values()}).map(
        lambda d: {k: v for k, v in d.items() if v is not _MISSING}
    )


_MISSING = object()


def messages(
    envelope: st.SearchStrategy[dict[str, Any]], valid: list[str], big: st.SearchStrategy[str]
) -> st.SearchStrategy[str | bytes]:
    """Everything a client might send as one message: garbage, near-misses, and real requests."""
    structured = st.tuples(envelope, st.booleans(), st.booleans()).map(
        lambda t: to_wire(encode(t[0], ascii_only=t[1]), t[2])
    )
    mutated = st.tuples(st.sampled_from(valid), st.integers(0, 400), st.binary(min_size=1, max_size=4)).map(
        lambda t: t[0].encode()[: t[1]] + t[2] + t[0].encode()[t[1] :]
    )
    return st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        st.sampled_from(valid),
        structured,
        structured,
        structured,
        mutated,
        json_values().map(lambda v: encode(v, ascii_only=False)),
        DEEP,
        big,
    ).map(_deliverable)


def _deliverable(message: str | bytes) -> str | bytes:
    """A text message is a Python str only after strict UTF-8 decoding (aiohttp refuses a text
    frame that is not UTF-8), so it cannot hold a lone surrogate; bytes can hold anything."""
    if isinstance(message, str):
        return message.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return message
