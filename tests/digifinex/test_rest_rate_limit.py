"""REST rate limits (DigiFinex code 10005): private calls per API key, public calls per address.

Each test runs `sandex serve` with small budgets (a few calls per sliding second) and real HTTP.
A refusal is DigiFinex's envelope, HTTP 200 `{"code": 10005, "msg": ...}`, which ccxt maps to
DDoSProtection.
"""

from __future__ import annotations

import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest

from sandex.protocols.digifinex.limits import DIGIFINEX_PROFILES
from sandex.server.ratelimits import KeyedLimiters
from tests.digifinex.dfx_support import ALICE, BOB, journal_seq, rest, with_sections
from tests.support.server import SandexServer

PER_KEY = 4
PER_IP = 5
LIMITED = with_sections(
    f"[limits.digifinex]\nrest_private_per_second = {PER_KEY}\nrest_public_per_second = {PER_IP}\n"
)
WINDOW_S = 1.0
RATE_LIMITED = 10005


def codes(
    base: str,
    method: str,
    path: str,
    count: int,
    creds: tuple[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> list[int]:
    return [rest(base, method, path, params, creds)["code"] for _ in range(count)]


def violations(base: str) -> float:
    with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
        text = response.read().decode()
    line = next(
        line
        for line in text.splitlines()
        if line.startswith('sandex_rest_rate_limit_violations_total{dialect="digifinex"}')
    )
    return float(line.rsplit(" ", 1)[1])


def test_over_the_key_limit_answers_10005_while_another_key_is_unaffected(tmp_path: Path) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        base = server.base_url
        assert codes(base, "GET", "/v3/spot/assets", PER_KEY + 2, ALICE) == [0] * PER_KEY + [RATE_LIMITED] * 2
        refused = rest(base, "GET", "/v3/spot/order/current", {}, ALICE)
        assert refused["code"] == RATE_LIMITED
        assert refused["msg"].startswith("Request frequency exceeds the limit")
        # Bob, at the same moment, has his own budget; alice's stays spent.
        assert codes(base, "GET", "/v3/spot/assets", PER_KEY, BOB) == [0] * PER_KEY
        assert rest(base, "GET", "/v3/spot/assets", {}, ALICE)["code"] == RATE_LIMITED
        assert violations(base) == 4


def test_the_key_can_call_again_once_the_window_has_passed(tmp_path: Path) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        base = server.base_url
        assert codes(base, "GET", "/v3/spot/assets", PER_KEY + 1, ALICE)[-1] == RATE_LIMITED
        time.sleep(WINDOW_S + 0.05)
        assert codes(base, "GET", "/v3/spot/assets", PER_KEY, ALICE) == [0] * PER_KEY


def test_bad_signatures_spend_the_key_budget_before_any_hmac(tmp_path: Path) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        base = server.base_url
        forged = (ALICE[0], "not-the-secret")
        assert codes(base, "GET", "/v3/spot/assets", PER_KEY, forged) == [10003] * PER_KEY
        assert codes(base, "GET", "/v3/spot/assets", 2, forged) == [RATE_LIMITED] * 2
        assert rest(base, "GET", "/v3/spot/assets", {}, ALICE)["code"] == RATE_LIMITED


def test_public_endpoints_are_limited_per_address(tmp_path: Path) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        base = server.base_url
        assert codes(base, "GET", "/v3/ping", PER_IP) == [0] * PER_IP
        for path, params in (
            ("/v3/ticker", {}),
            ("/v3/order_book", {"symbol": "BTC_USDT"}),
            ("/swap/v2/public/instruments", {}),
            ("/v3/no/such/endpoint", {}),
        ):
            assert rest(base, "GET", path, params)["code"] == RATE_LIMITED, path
        # Calls without a usable key have no account to charge: they spend the address's budget.
        assert rest(base, "GET", "/v3/spot/assets", {}, ("nobody-key", "x"))["code"] == RATE_LIMITED
        assert rest(base, "GET", "/v3/spot/assets")["code"] == RATE_LIMITED
        # Signed calls are counted per key, not per address.
        assert codes(base, "GET", "/v3/spot/assets", PER_KEY, ALICE) == [0] * PER_KEY
        time.sleep(WINDOW_S + 0.05)
        assert rest(base, "GET", "/v3/ping")["code"] == 0


def test_unknown_keys_are_limited_per_address(tmp_path: Path) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        base = server.base_url
        made_up = [
            rest(base, "GET", "/v3/spot/assets", {}, (f"key-{i}", "x"))["code"] for i in range(PER_IP + 1)
        ]
        assert made_up == [10002] * PER_IP + [RATE_LIMITED]


def test_a_refused_order_places_nothing(tmp_path: Path) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        base = server.base_url
        before = rest(base, "GET", "/v3/spot/assets", {}, ALICE)["list"]
        seq = journal_seq(base)
        assert codes(base, "GET", "/v3/spot/order/current", PER_KEY - 1, ALICE) == [0] * (PER_KEY - 1)
        order = {"symbol": "BTC_USDT", "type": "buy", "amount": "0.01", "price": "60000", "market": "spot"}
        refused = rest(base, "POST", "/v3/spot/order/new", order, ALICE)
        assert refused["code"] == RATE_LIMITED and "order_id" not in refused
        assert journal_seq(base) == seq  # no command reached the journal
        time.sleep(WINDOW_S + 0.05)
        assert rest(base, "GET", "/v3/spot/assets", {}, ALICE)["list"] == before
        assert rest(base, "GET", "/v3/spot/order/current", {}, ALICE)["data"] == []
        usdt = next(row for row in before if row["currency"] == "USDT")
        assert usdt["free"] == usdt["total"] == Decimal("1000000")


def test_ccxt_sees_the_refusal_as_ddos_protection(tmp_path: Path) -> None:
    with SandexServer(tmp_path, LIMITED) as server:
        exchange = ccxt.digifinex({"apiKey": ALICE[0], "secret": ALICE[1], "enableRateLimit": False})
        exchange.urls["api"]["rest"] = server.base_url
        for _ in range(PER_KEY):
            exchange.fetch_balance()
        with pytest.raises(ccxt.DDoSProtection):
            exchange.fetch_balance()


def test_ccxt_throttle_stays_under_the_strict_defaults() -> None:
    per_second = 1000 / ccxt.digifinex().rateLimit  # ccxt spaces DigiFinex calls by rateLimit ms
    strict = DIGIFINEX_PROFILES["strict"]
    assert per_second * 10 < strict.rest_private_per_second
    assert per_second * 10 < strict.rest_public_per_second


@pytest.mark.parametrize(
    "section",
    [
        'profile = "relaxed"\n',
        'profile = "strict"\nrest_private_per_second = 0\nrest_public_per_second = 0\n',
    ],
)
def test_relaxed_profile_or_zero_turns_the_limits_off(tmp_path: Path, section: str) -> None:
    with SandexServer(tmp_path, with_sections("[limits.digifinex]\n" + section)) as server:
        base = server.base_url
        count = (
            max(
                DIGIFINEX_PROFILES["strict"].rest_public_per_second,
                DIGIFINEX_PROFILES["strict"].rest_private_per_second,
            )
            + 5
        )
        assert codes(base, "GET", "/v3/ping", count) == [0] * count
        assert codes(base, "GET", "/v3/spot/assets", count, ALICE) == [0] * count
        assert violations(base) == 0


def test_idle_limiters_are_evicted() -> None:
    now = [0.0]
    limiters = KeyedLimiters(2, 1.0, clock=lambda: now[0])
    for i in range(1000):
        assert limiters.allow(f"10.0.{i // 250}.{i % 250}")
    assert len(limiters) == 1000
    now[0] = 1.5  # the first sweep: every limiter above has been idle for a whole window
    assert limiters.allow("busy") and limiters.allow("busy")
    assert len(limiters) == 1
    now[0] = 2.0
    assert limiters.allow("late") and not limiters.allow("busy")
    now[0] = 2.6  # the next sweep drops "busy" (idle since 1.5) and keeps "late" (in use at 2.0)
    assert limiters.allow("late") and not limiters.allow("late")
    assert len(limiters) == 1
