"""The `[replay]` section and the serve flags over it."""

from __future__ import annotations

import pytest

from sandex.config import ConfigError
from sandex.config.loading import load_config, parse_config


def test_replay_section_reads_and_derives_the_symbol_map() -> None:
    config = parse_config(
        '[replay]\nfiles = ["btcusdt"]\nspeed = 10.0\npaused = true\nqueue_model = "prob"\n'
    )
    replay = config.replay
    assert (replay.files, replay.speed, replay.paused, replay.queue_model) == (
        ("btcusdt",),
        10.0,
        True,
        "prob",
    )
    assert replay.symbol_map(["BTC_USDT", "ETH_USDT"]) == {"BTCUSDT": "BTC_USDT", "ETHUSDT": "ETH_USDT"}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[replay]\nfiles = ["x"]\nsped = 2.0\n', "sped"),
        ('[replay]\nqueue_model = "optimistic"\n', "queue_model"),
        ("[replay]\nspeed = -1.0\n", "speed"),
        ('[replay]\nformat = "csv"\n', "format"),
    ],
)
def test_bad_replay_settings_are_refused_naming_the_key(text: str, named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(text)
    assert named in str(refused.value)


def test_serve_flags_override_the_section() -> None:
    config = load_config(None, replay=["btcusdt"], speed=0.0, paused=True)
    assert (config.replay.files, config.replay.speed, config.replay.paused) == (("btcusdt",), 0.0, True)
    with pytest.raises(ConfigError, match="--speed"):
        load_config(None, replay=["btcusdt"], speed=-2.0)
