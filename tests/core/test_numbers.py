"""parse_scaled reads exactly the ASCII decimal grammar: anything else is a NumberError whose
message names the problem without echoing a long input."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandex.core.numbers import NumberError, format_scaled, parse_scaled

MAX_WHOLE_DIGITS = 40  # the documented limit of the integer part

#: The grammar, written independently of the implementation.
ASCII_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", re.ASCII)


@pytest.mark.parametrize(
    "text",
    [
        "１",  # full-width one: placed a 1 BTC order
        "0.00١",  # Arabic-Indic one
        "５0000",  # full-width five, then ASCII zeros
        "٣",
        "१२",  # Devanagari
        " 0.001",  # leading space
        "0.001 ",  # trailing space
        "\t1",
        "1\n",  # `$` matches before a trailing newline; the grammar does not
        "1\u00a0",  # no-break space
        "1e3",
        "1_000",
        "0x10",
        "",
        ".",
        "+",
        "-",
        "1.2.3",
        "nan",
        "inf",
    ],
)
def test_refuses_everything_but_ascii_decimals(text: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_scaled(text, 8, allow_negative=True)
    assert caught.value.kind == "invalid"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 10**8),
        ("0.001", 10**5),
        (".5", 5 * 10**7),
        ("5.", 5 * 10**8),
        ("+2", 2 * 10**8),
        ("-0.1", -(10**7)),
    ],
)
def test_reads_ascii_decimals(text: str, expected: int) -> None:
    assert parse_scaled(text, 8, allow_negative=True) == expected


@given(st.text(max_size=12))
def test_accepts_exactly_the_grammar(text: str) -> None:
    try:
        value = parse_scaled(text, 20, allow_negative=True)
    except NumberError as error:
        if ASCII_DECIMAL.fullmatch(text):
            # Only the size limits may refuse a well-formed number.
            assert error.kind in ("precision", "invalid") and (
                "too large" in str(error) or error.kind == "precision"
            )
        return
    assert ASCII_DECIMAL.fullmatch(text), f"accepted {text!r}"
    assert Decimal(text) * 10**20 == value


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20))
def test_round_trips_with_format_scaled(number: Decimal) -> None:
    scaled = parse_scaled(format(number, "f"), 6, allow_negative=True)
    assert Decimal(format_scaled(scaled, 6)) == number


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=8))
def test_refuses_every_non_ascii_digit(digits: str) -> None:
    if digits.isascii():
        return
    with pytest.raises(NumberError):
        parse_scaled(digits, 8)


def test_a_number_too_large_is_named_not_echoed() -> None:
    huge = "9" * 400
    for text in (huge, huge + ".5", "-" + huge):
        with pytest.raises(NumberError) as caught:
            parse_scaled(text, 8, allow_negative=True)
        message = str(caught.value)
        assert "too large" in message
        assert huge not in message and len(message) < 100
    with pytest.raises(NumberError) as caught:
        parse_scaled(10**400, 8)
    assert "too large" in str(caught.value) and len(str(caught.value)) < 100


def test_leading_zeros_do_not_count_as_size() -> None:
    assert parse_scaled("0" * 100 + "1", 2) == 100
    assert parse_scaled("9" * MAX_WHOLE_DIGITS, 0) == 10**MAX_WHOLE_DIGITS - 1


@pytest.mark.parametrize("text", ["x" * 500, "1." + "1" * 500, "１" * 500])
def test_messages_never_contain_a_long_input(text: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_scaled(text, 8)
    assert len(str(caught.value)) < 100
