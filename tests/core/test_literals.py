"""The engine's words are defined once (core/literals.py), typed, and checked when decoded."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest

from sandex.core import commands, events, literals
from sandex.core.events import OrderEvent, TradeEvent, TriggerEvent

CORE = Path(literals.__file__).parent


def _order_event(**changes: object) -> OrderEvent:
    fields = dict(
        seq=1, ts=1, order_id=1, account_id=1, wallet_id="w", symbol="BTC_USDT", side="buy", kind="limit",
        tif="gtc", price=1, amount=1, quote_amount=0, filled=0, filled_value=0, resting=1, status="open",
        reason="placed", created_ts=1, client_order_id="", source="api", source_id="",
    )  # fmt: skip
    fields.update(changes)
    return OrderEvent(**fields)  # type: ignore[arg-type]


def test_the_old_constant_names_are_the_literals() -> None:
    assert (commands.BUY, commands.SELL, commands.LIMIT, commands.MARKET) == (
        "buy",
        "sell",
        "limit",
        "market",
    )
    assert (commands.GTC, commands.IOC, commands.POST_ONLY) == ("gtc", "ioc", "post_only")
    assert events.E_INSUFFICIENT_BALANCE is literals.E_INSUFFICIENT_BALANCE
    assert {events.OPEN, events.PARTIAL, events.FILLED, events.CANCELLED} == literals.ORDER_STATUSES
    assert {events.T_WAITING, events.T_TRIGGERED, events.T_CANCELLED} < literals.TRIGGER_STATUSES
    assert events.R_SELF_TRADE in literals.ORDER_REASONS
    assert literals.E_NOT_CANCELLABLE in literals.REJECT_CODES


def test_every_constant_is_a_word_of_its_set() -> None:
    sets = {
        "R_": literals.ORDER_REASONS,
        "T_": literals.TRIGGER_STATUSES,
        "E_": literals.REJECT_CODES,
    }
    for name in dir(literals):
        value = getattr(literals, name)
        for prefix, words in sets.items():
            if name.startswith(prefix):
                assert value in words, name
    for prefix, words in sets.items():  # and every word has its constant
        assert words == {getattr(literals, n) for n in dir(literals) if n.startswith(prefix)}


@pytest.mark.parametrize(
    "change",
    [{"side": "sideways"}, {"kind": "stop"}, {"tif": "fok"}, {"status": "done"}, {"reason": "whim"}],
)
def test_decoding_an_event_refuses_a_word_outside_its_set(change: dict[str, str]) -> None:
    good = msgspec.json.encode(_order_event())
    assert msgspec.json.decode(good, type=OrderEvent) == _order_event()
    bad = msgspec.json.encode(_order_event(**change))
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(bad, type=OrderEvent)


def test_trade_and_trigger_events_are_typed_too() -> None:
    hints = {name: TradeEvent.__annotations__.get(name) for name in ("taker_side",)}
    assert hints == {"taker_side": "Side"}
    assert TriggerEvent.__annotations__["status"] == "TriggerStatus"
    assert TriggerEvent.__annotations__["direction"] == "Direction"


def test_no_other_core_module_defines_the_words() -> None:
    """One definition each: outside literals.py, no module of the engine assigns a string that
    is one of the words to an upper-case name (the copy-trading modules are leaving core)."""
    words = (
        literals.SIDES
        | literals.ORDER_KINDS
        | literals.TIMES_IN_FORCE
        | literals.ORDER_STATUSES
        | literals.TRIGGER_STATUSES
        | literals.REJECT_CODES
    )
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        if path.name == "literals.py" or path.name.startswith("copy"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and node.value.value in words
                and any(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
