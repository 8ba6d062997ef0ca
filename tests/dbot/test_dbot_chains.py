"""DBot's chain names come from the config (`[dbot] chains`), not from the code."""

from __future__ import annotations

import pytest
from dbot_harness import InProcessServer, config_text, rest, task_body

from sandex.config import ConfigError, parse_config

CHAINS = config_text(journal='[journal]\nsync = "off"', limits='[dbot]\nchains = ["arbitrum", "base"]')


async def test_the_configured_chains_are_the_accepted_ones() -> None:
    async with InProcessServer(CHAINS) as server:
        base, leader = server.base_url, server.wallet("leader-key")
        for chain, ok in (("arbitrum", True), ("base", True), ("solana", False), ("tron", False)):
            body = task_body(chain, [leader], chain=chain)
            status, answer = await rest(base, "POST", "/automation/follow_order", "follower-key", body)
            assert status == 200 and answer["err"] is (not ok), (chain, answer)
            if not ok:
                assert "chain" in answer["res"] and "arbitrum, base" in answer["res"], answer
        status, answer = await rest(
            base,
            "POST",
            "/automation/swap_order",
            "leader-key",
            {"chain": "solana", "pair": "BTC_USDT", "type": "buy", "amountOrPercent": "10"},
        )
        assert answer["err"] is True and "chain" in answer["res"], answer


def test_the_default_chains_are_dbots_and_bad_ones_are_refused() -> None:
    assert parse_config("").dbot.chains == ("solana", "ethereum", "base", "bsc", "tron")
    for bad in ("[]", '[""]', '["Solana!"]'):
        with pytest.raises(ConfigError, match="chains"):
            parse_config(f"[dbot]\nchains = {bad}")
