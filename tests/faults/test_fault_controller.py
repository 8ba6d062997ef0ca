"""The controller's decisions without sockets: scope, seeded randomness, the engine pause."""

from __future__ import annotations

import random

import pytest

from sandex.faults import FaultController, FaultProfile, FaultProfileError
from sandex.faults.profile import profile_seed


class Venue:
    paused_reason: str | None = None


def test_scope_is_dialect_then_key_and_unkeyed_traffic_matches_only_dialect_wide_profiles() -> None:
    faults = FaultController(
        [
            FaultProfile(name="all-dfx", dialect="digifinex", reject_orders_code=50000),
            FaultProfile(name="alice-iw", dialect="infoway", api_key="alice", handshake_502_probability=1.0),
            FaultProfile(name="bob-any", api_key="bob", reject_orders_code=20011),
        ]
    )
    assert faults.order_rejection("digifinex", None) is not None
    assert faults.order_rejection("dbot", "carol") is None
    rejection = faults.order_rejection("dbot", "bob")
    assert rejection is not None and (rejection.code, rejection.profile) == (20011, "bob-any")
    # Profile order decides which profile answers first.
    first = faults.order_rejection("digifinex", "bob")
    assert first is not None and first.profile == "all-dfx"
    assert faults.refuse_handshake("infoway", "alice")
    assert not faults.refuse_handshake("infoway", "bob")
    assert not faults.refuse_handshake("infoway", None)  # not signed in: key profiles do not apply
    assert not faults.refuse_handshake("digifinex", "alice")
    assert faults.injected[("alice-iw", "handshake_502")] == 1


def test_random_decisions_follow_the_profiles_seed_and_restart_when_it_is_set_again() -> None:
    profile = FaultProfile(name="half", reject_orders_code=20011, reject_orders_probability=0.3, seed=99)
    faults = FaultController([profile])
    rng = random.Random(99)
    expected = [rng.random() < 0.3 for _ in range(200)]
    observed = [faults.order_rejection("digifinex", "k") is not None for _ in range(200)]
    assert observed == expected and 30 < sum(observed) < 90
    faults.enable("half", False)
    assert all(faults.order_rejection("digifinex", "k") is None for _ in range(20))
    faults.enable("half", True)  # switched on again: the same decisions from the start
    assert [faults.order_rejection("digifinex", "k") is not None for _ in range(200)] == expected
    # Without a seed the name decides it, the same on every run and machine.
    assert profile_seed(FaultProfile(name="half")) == profile_seed(FaultProfile(name="half"))
    assert profile_seed(FaultProfile(name="half")) != profile_seed(FaultProfile(name="other"))


def test_certain_decisions_consume_no_randomness() -> None:
    faults = FaultController(
        [
            FaultProfile(name="always", handshake_502_probability=1.0, seed=1),
            FaultProfile(name="coin", reject_orders_code=1, reject_orders_probability=0.5, seed=5),
        ]
    )
    for _ in range(10):
        assert faults.refuse_handshake("dbot", "k")
    rng = random.Random(5)
    assert [faults.order_rejection("dbot", "k") is not None for _ in range(50)] == [
        rng.random() < 0.5 for _ in range(50)
    ]


def test_pause_engine_sets_and_lifts_only_its_own_pause() -> None:
    venue = Venue()
    faults = FaultController([FaultProfile(name="hold", pause_engine=True)], venue=venue)
    assert venue.paused_reason == "engine paused by fault profile 'hold'" and faults.paused_by == "hold"
    faults.enable("hold", False)
    assert venue.paused_reason is None and faults.paused_by is None
    venue.paused_reason = "operator maintenance"
    faults.enable("hold", True)
    assert venue.paused_reason == "operator maintenance"  # someone else's pause is not overwritten
    faults.remove("hold")
    assert venue.paused_reason == "operator maintenance"


def test_unusable_profiles_are_refused_whole() -> None:
    faults = FaultController()
    with pytest.raises(FaultProfileError) as info:
        faults.set(FaultProfile(name="x", api_key="k", pause_engine=True))
    assert info.value.field == "pause_engine"
    with pytest.raises(FaultProfileError):
        faults.set(FaultProfile(name="bad name"))
    assert faults.profiles() == []
    assert faults.enable("missing") is None and not faults.remove("missing")


def test_describe_lists_every_profile_with_its_injections() -> None:
    faults = FaultController(
        [FaultProfile(name="a", handshake_502_probability=1.0), FaultProfile(name="b", enabled=False)]
    )
    faults.refuse_handshake("dbot", None)
    described = faults.describe()
    assert [p["name"] for p in described] == ["a", "b"]
    assert described[0]["injected"] == {"handshake_502": 1} and described[1]["injected"] == {}
    assert described[1]["enabled"] is False
