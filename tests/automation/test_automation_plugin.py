"""The copy-trading engine plugin on its own: deterministic, snapshot-safe, every rule."""

from __future__ import annotations

import itertools

import msgspec
import pytest

from sandex.automation import (
    RATIO_ONE,
    Automation,
    AutomationEvent,
    BuySettings,
    CreateCopyTask,
    CreateLimitOrders,
    DeleteCopyTasks,
    DeleteLimitOrders,
    LimitSetting,
    MoveCopyTasks,
    PlaceSwapOrder,
    PnlStep,
    ReplaceCopyTask,
    SellSettings,
    TaskSpec,
    ToggleCopyTasks,
    TradeResult,
    UpdateLimitOrder,
    automation_id,
)
from sandex.core.commands import CreateAccount, Deposit, PlaceOrder, Tick, decode_command, encode_command
from sandex.core.engine import Engine
from sandex.core.events import Rejected, TriggerEvent
from sandex.core.markets import make_market
from sandex.core.numbers import LEDGER_ONE

BTC = make_market("BTC_USDT", 2, 6, "0.0001", "1")
HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % (24 * HOUR)  # midnight UTC
MM, LEADER, FOLLOWER, OTHER = 1, 2, 3, 4


def pct(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * RATIO_ONE + int(frac.ljust(9, "0")) if frac else int(whole) * RATIO_ONE


def setup_commands() -> list[tuple[object, int]]:
    commands: list[tuple[object, int]] = []
    for name in ("mm", "leader", "follower", "other"):
        commands.append((CreateAccount(name, f"{name}-key", f"{name}-secret"), T0))
    return commands


def new_engine() -> Engine:
    engine = Engine([BTC], seed=3, plugins=[Automation()])
    for command, ts in setup_commands():
        engine.apply(command, ts)  # type: ignore[arg-type]
    for account in (MM, LEADER, FOLLOWER, OTHER):
        wallet = engine.accounts[account].wallets[0]
        engine.apply(Deposit(wallet, "USDT", 1_000_000 * LEDGER_ONE), T0)
        if account == MM:
            engine.apply(Deposit(wallet, "BTC", 100 * LEDGER_ONE), T0)
    for i in range(10):
        engine.apply(PlaceOrder(MM, "BTC_USDT", "sell", price=6_500_000 + 10_000 * i, amount=200_000), T0)
        engine.apply(PlaceOrder(MM, "BTC_USDT", "buy", price=6_490_000 - 10_000 * i, amount=200_000), T0)
    return engine


def wallet(engine: Engine, account: int) -> str:
    return engine.accounts[account].wallets[0]


def spec(engine: Engine, target: int = LEADER, **buy: object) -> TaskSpec:
    sell = buy.pop("sell", None) or SellSettings()
    settings = {"max_buy_amount": 1000 * LEDGER_ONE, "amount_type": "fixed_amount", **buy}
    return TaskSpec(name="t", target_ids=[wallet(engine, target)], buy=BuySettings(**settings), sell=sell)  # type: ignore[arg-type]


def create(engine: Engine, task: TaskSpec, account: int = FOLLOWER, ts: int = T0) -> str:
    events = engine.apply(CreateCopyTask(account, task), ts)
    announced = [e for e in events if isinstance(e, AutomationEvent)]
    assert announced, events
    return announced[0].ids[0]


def leader_buy(engine: Engine, quote: int, ts: int = T0 + 1) -> list:
    return engine.apply(
        PlaceOrder(LEADER, "BTC_USDT", "buy", kind="market", quote_amount=quote * LEDGER_ONE), ts
    )


def results(events: list) -> list[TradeResult]:
    return [e for e in events if isinstance(e, TradeResult)]


def test_ids_are_dbot_shaped_and_come_from_a_counter() -> None:
    ids = [automation_id(7, n) for n in range(1, 2000)]
    assert all(len(i) == 14 and i.isalnum() and i == i.lower() for i in ids)
    assert len(set(ids)) == len(ids)
    assert automation_id(7, 5) == automation_id(7, 5) != automation_id(8, 5)


def test_automation_commands_survive_the_journal_codec() -> None:
    engine = new_engine()
    task = spec(
        engine, sell=SellSettings(take_profit=[PnlStep(pct("0.5"), pct("0.25"))]), max_balance=5 * 10**40
    )  # beyond 64 bits: JSON keeps it exact
    commands = [
        CreateCopyTask(3, task),
        ReplaceCopyTask(3, "abc", task),
        ToggleCopyTasks(3, ["a", "b"], False, True),
        MoveCopyTasks(3, ["a"], "0x1"),
        DeleteCopyTasks(3, ["a"], True),
        CreateLimitOrders(
            3,
            "BTC_USDT",
            "",
            "base",
            "g",
            [LimitSetting(side="buy", trigger_price=1, direction="up", quote_amount=5)],
        ),
        UpdateLimitOrder(3, "x", LimitSetting(side="sell", trigger_price=2, direction="down", sell_ratio=7)),
        DeleteLimitOrders(3, ["x"]),
        PlaceSwapOrder(3, "BTC_USDT", "", "solana", "sell", sell_ratio=RATIO_ONE),
    ]
    for command in commands:
        assert decode_command(encode_command(command)) == command


def scenario(engine: Engine) -> list[tuple[object, int]]:
    """Commands touching every feature, with the times they are applied at."""
    tp_sl = SellSettings(
        amount_type="follow_ratio",
        take_profit=[PnlStep(pct("0.002"), pct("0.5"))],
        stop_loss=[PnlStep(pct("0.3"), RATIO_ONE)],
        trailing_stop=[PnlStep(pct("0.01"), pct("0.5"))],
        expire_delta=10 * HOUR,
    )
    return [
        (CreateCopyTask(FOLLOWER, spec(engine, sell=tp_sl)), T0),
        (CreateCopyTask(OTHER, spec(engine, amount_type="follow_amount")), T0),
        (PlaceOrder(LEADER, "BTC_USDT", "buy", kind="market", quote_amount=5000 * LEDGER_ONE), T0 + 1),
        (
            CreateLimitOrders(
                FOLLOWER,
                "BTC_USDT",
                "",
                "solana",
                "",
                [
                    LimitSetting(
                        side="buy", trigger_price=6_530_000, direction="up", quote_amount=300 * LEDGER_ONE
                    )
                ],
            ),
            T0 + 2,
        ),
        (PlaceOrder(LEADER, "BTC_USDT", "buy", kind="market", quote_amount=40_000 * LEDGER_ONE), T0 + 3),
        (PlaceSwapOrder(LEADER, "BTC_USDT", "", "solana", "sell", sell_ratio=pct("0.5")), T0 + 4),
        (ToggleCopyTasks(FOLLOWER, [automation_id(engine.seed, 1)], False, True), T0 + 5),
        (PlaceOrder(LEADER, "BTC_USDT", "buy", kind="market", quote_amount=1000 * LEDGER_ONE), T0 + 6),
        (Tick(), T0 + 11 * HOUR),
        (PlaceOrder(LEADER, "BTC_USDT", "sell", kind="market", amount=100_000), T0 + 11 * HOUR + 1),
    ]


def run(engine: Engine, commands: list[tuple[object, int]]) -> list:
    out = []
    for command, ts in commands:
        out.extend(engine.apply(command, ts))  # type: ignore[arg-type]
    return out


def test_same_commands_give_the_same_events_and_a_snapshot_midway_changes_nothing() -> None:
    first, second = new_engine(), new_engine()
    commands = scenario(first)
    events = run(first, commands)
    assert run(second, commands) == events
    kinds = {(r.source, r.sub_source, r.state) for r in results(events)}
    assert {
        ("follow_order", "", "done"),
        ("limit_order", "", "done"),
        ("swap_order", "", "done"),
        ("limit_order", "follow_take_profit", "done"),
        ("limit_order", "follow_stop_loss", "expired"),
        ("trailing_stop_order", "follow_trailing_stop", "expired"),
    } <= kinds
    for cut in range(1, len(commands)):
        engine = new_engine()
        head = run(engine, commands[:cut])
        restored = Engine([BTC], seed=3, plugins=[Automation()])
        restored.from_state(engine.to_state())
        assert restored.to_state() == engine.to_state()
        assert head + run(restored, commands[cut:]) == events, f"differs after a snapshot at command {cut}"


def test_buy_sizing_modes_and_caps() -> None:
    engine = new_engine()
    create(engine, spec(engine, amount_type="follow_amount", max_buy_amount=1500 * LEDGER_ONE))
    create(engine, spec(engine, amount_type="fixed_ratio", buy_ratio=pct("0.1")), account=OTHER)
    (follow, ratio) = results(leader_buy(engine, 2000))
    assert 1499 * LEDGER_ONE < follow.send_amount <= 1500 * LEDGER_ONE  # capped at maxBuyAmountUI
    assert 199 * LEDGER_ONE < ratio.send_amount <= 200 * LEDGER_ONE  # 10 % of the leader's 2,000


def test_hour_window_uses_the_command_time() -> None:
    engine = new_engine()
    create(engine, spec(engine, start_hour=22, end_hour=2))
    assert results(leader_buy(engine, 100, T0 + 23 * HOUR))[0].state == "done"
    late = results(leader_buy(engine, 100, T0 + 27 * HOUR))[0]  # 03:00 the next day
    assert (late.state, late.error_code) == ("fail", "E_OUTSIDE_TRADING_HOURS")


def test_target_range_balance_floor_and_ceiling() -> None:
    engine = new_engine()
    create(engine, spec(engine, target_min_amount=500 * LEDGER_ONE))
    create(engine, spec(engine, reserved_amount=999_500 * LEDGER_ONE), account=OTHER)
    small = results(leader_buy(engine, 100))
    assert [r.error_code for r in small] == ["E_TARGET_AMOUNT_OUT_OF_RANGE", "E_RESERVED_AMOUNT"]
    engine2 = new_engine()
    create(engine2, spec(engine2, max_balance=10_000 * LEDGER_ONE))
    assert results(leader_buy(engine2, 1000))[0].error_code == "E_MAX_BALANCE_REACHED"


def test_a_copy_is_copied_again_but_never_back_into_its_chain() -> None:
    # Issue 16 item 14: a task following the copier copies the copy (before: never copied again).
    engine = new_engine()
    create(engine, spec(engine, target=LEADER))  # follower follows the leader
    create(engine, spec(engine, target=FOLLOWER), account=LEADER)  # and the leader follows back
    create(engine, spec(engine, target=FOLLOWER), account=OTHER)  # someone follows the follower
    copies = results(leader_buy(engine, 1000))
    assert [(r.account_id, r.state, r.error_code) for r in copies] == [
        (FOLLOWER, "done", ""),  # the copy
        (LEADER, "fail", "E_COPY_LOOP"),  # not copied back to where it came from
        (OTHER, "done", ""),  # the copy of the copy
    ]
    assert wallet(engine, LEADER) in copies[1].error_message
    # The copy of the copy is not copied back either: the chain ends here, after two steps.
    assert len(copies) == 3


def test_a_chain_of_copies_ends_at_the_depth_limit() -> None:
    engine = new_engine()
    chain = [LEADER, FOLLOWER, OTHER]
    for name in ("fourth", "fifth", "sixth"):
        engine.apply(CreateAccount(name, f"{name}-key", f"{name}-secret"), T0)
        account = max(engine.accounts)
        engine.apply(Deposit(wallet(engine, account), "USDT", 1_000_000 * LEDGER_ONE), T0)
        chain.append(account)
    for target, account in itertools.pairwise(chain):
        create(engine, spec(engine, target=target, amount_type="follow_amount"), account=account)
    copies = results(leader_buy(engine, 1000))
    assert [(r.state, r.error_code) for r in copies] == [
        ("done", ""),  # 1 step from the leader
        ("done", ""),  # 2
        ("done", ""),  # 3 = MAX_COPY_DEPTH
        ("fail", "E_COPY_DEPTH"),  # a 4th step is refused, and nothing follows it
    ]
    assert [r.account_id for r in copies] == chain[1:5]


def test_a_partial_take_profit_shrinks_the_stop_loss_to_what_is_left() -> None:
    engine = new_engine()
    sell = SellSettings(
        take_profit=[PnlStep(pct("0.002"), pct("0.5"))], stop_loss=[PnlStep(pct("0.5"), RATIO_ONE)]
    )
    create(engine, spec(engine, sell=sell))
    leader_buy(engine, 1000)
    plugin = engine.plugins[0]
    assert isinstance(plugin, Automation)
    orders = {o.kind: o for o in plugin.state.pnl_orders.values()}
    bought = orders["stop_loss"].amount
    events = leader_buy(engine, 30_000, T0 + 2)  # lifts the price past 65,130
    sold = next(r for r in results(events) if r.sub_source == "follow_take_profit")
    assert sold.fill_amount == bought // 2
    stop = orders["stop_loss"]
    assert stop.state == "init" and stop.amount == bought - bought // 2
    assert engine.triggers[stop.trigger_id].amount == stop.amount  # the engine trigger was replaced
    resized = [e for e in events if isinstance(e, TriggerEvent) and e.reason == "resized"]
    assert len(resized) == 1


@pytest.mark.parametrize("execute", [False, True])
def test_pnl_orders_expire_or_sell_at_expiry(execute: bool) -> None:
    engine = new_engine()
    sell = SellSettings(
        take_profit=[PnlStep(pct("0.5"), RATIO_ONE)], expire_delta=1000, expire_execute=execute
    )
    create(engine, spec(engine, sell=sell))
    leader_buy(engine, 1000, T0 + 1)
    (expired,) = results(engine.apply(Tick(), T0 + 1 + 1000))
    if execute:
        assert (expired.state, expired.side, expired.sub_source) == ("done", "sell", "follow_take_profit")
    else:
        assert (expired.state, expired.error_code) == ("expired", "E_EXPIRED")


def test_rejections_change_nothing() -> None:
    engine = new_engine()
    task_id = create(engine, spec(engine))
    before = engine.to_state()
    bad = [
        CreateCopyTask(FOLLOWER, spec(engine, target=FOLLOWER)),  # follows its own wallet
        ToggleCopyTasks(FOLLOWER, [task_id, "nope"], False),
        ToggleCopyTasks(OTHER, [task_id], False),  # not its task
        DeleteCopyTasks(FOLLOWER, []),
        MoveCopyTasks(FOLLOWER, [task_id], wallet(engine, LEADER)),
        CreateLimitOrders(
            FOLLOWER,
            "BTC_USDT",
            "",
            "solana",
            "",
            [LimitSetting(side="sell", trigger_price=1, direction="down", sell_ratio=RATIO_ONE)],
        ),  # no BTC
        PlaceSwapOrder(FOLLOWER, "DOGE_USDT", "", "solana", "buy", quote_amount=1),
    ]
    for command in bad:
        events = engine.apply(command, T0 + 5)  # type: ignore[arg-type]
        assert [type(e) for e in events] == [Rejected], (command, events)
    assert msgspec.json.decode(engine.to_state())["plugins"] == msgspec.json.decode(before)["plugins"]


def test_limit_sell_is_a_ratio_of_the_balance_when_created() -> None:
    engine = new_engine()
    engine.apply(Deposit(wallet(engine, FOLLOWER), "BTC", LEDGER_ONE), T0)
    engine.apply(
        CreateLimitOrders(
            FOLLOWER,
            "BTC_USDT",
            "",
            "solana",
            "",
            [
                LimitSetting(
                    side="sell",
                    trigger_price=6_480_000,
                    direction="down",
                    sell_ratio=pct("0.25"),
                    enabled=False,
                )
            ],
        ),
        T0,
    )
    plugin = engine.plugins[0]
    assert isinstance(plugin, Automation)
    (order,) = plugin.state.limit_orders.values()
    assert order.amount == 250_000 and engine.triggers[order.trigger_id].status == "disabled"
    engine.apply(Deposit(wallet(engine, LEADER), "BTC", LEDGER_ONE), T0)
    sell = engine.apply(PlaceOrder(LEADER, "BTC_USDT", "sell", kind="market", amount=300_000), T0 + 1)
    assert engine.books["BTC_USDT"].last_price == 6_480_000  # the trigger price was reached...
    assert results(sell) == []  # ...but the order is disabled: nothing happened
    engine.apply(
        UpdateLimitOrder(
            FOLLOWER,
            order.id,
            LimitSetting(side="sell", trigger_price=6_500_000, direction="down", sell_ratio=pct("0.5")),
        ),
        T0 + 2,
    )
    assert order.amount == 500_000 and order.enabled
    (done,) = results(
        engine.apply(PlaceOrder(LEADER, "BTC_USDT", "sell", kind="market", amount=1_000), T0 + 3)
    )
    assert (done.source, done.state, done.fill_amount) == ("limit_order", "done", 500_000)
    assert order.state == "done"


def test_a_copied_sell_of_everything_closes_the_pnl_orders() -> None:
    engine = new_engine()
    engine.apply(Deposit(wallet(engine, LEADER), "BTC", LEDGER_ONE), T0)
    sell = SellSettings(
        amount_type="all",
        take_profit=[PnlStep(pct("0.5"), RATIO_ONE)],
        stop_loss=[PnlStep(pct("0.5"), RATIO_ONE)],
    )
    create(engine, spec(engine, sell=sell))
    leader_buy(engine, 1000)
    plugin = engine.plugins[0]
    assert isinstance(plugin, Automation)
    assert [o.state for o in plugin.state.pnl_orders.values()] == ["init", "init"]
    events = engine.apply(PlaceOrder(LEADER, "BTC_USDT", "sell", kind="market", amount=10_000), T0 + 2)
    (copied,) = results(events)
    assert (copied.side, copied.state) == ("sell", "done")
    assert engine.ledger.free(wallet(engine, FOLLOWER), "BTC") < BTC.base_to_ledger  # fee dust only
    assert [o.state for o in plugin.state.pnl_orders.values()] == ["cancelled", "cancelled"]
    assert not any(t.account_id == FOLLOWER for t in engine.triggers.values())
