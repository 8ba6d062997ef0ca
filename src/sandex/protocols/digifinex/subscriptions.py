"""One connection's subscriptions, and the hub topics they stand for.

DigiFinex subscriptions accumulate: `depth.subscribe ["BTC_USDT"]` then `depth.subscribe
["ETH_USDT"]` leaves both subscribed (some venues replace; bots that subscribe one symbol per
request rely on adding up). An unsubscribe names the keys to drop, and an empty list drops the
whole channel. This class only keeps the sets and reports what actually changed, so the caller
subscribes exactly the new topics and sends a first push only for those.

Topics: public channels are shared by everyone (`("digifinex", "depth", "BTC_USDT")`); private
ones carry the account id (`("digifinex", "order", 7, "BTC_USDT")`), so a push encoded for one
account can only ever be published to that account's sessions.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from .requests import PRIVATE_CHANNELS

DIALECT = "digifinex"
#: The single key of the all_ticker channel.
ALL = "*"


def public_topic(channel: str, key: str) -> Hashable:
    return (DIALECT, channel) if key == ALL else (DIALECT, channel, key)


def private_topic(channel: str, account_id: int, key: str) -> Hashable:
    return (DIALECT, channel, account_id, key)


def topic(channel: str, key: str, account_id: int | None) -> Hashable:
    if channel in PRIVATE_CHANNELS:
        if account_id is None:
            raise ValueError(f"{channel} is private: an account is required")
        return private_topic(channel, account_id, key)
    return public_topic(channel, key)


class Subscriptions:
    """channel -> subscribed keys (symbols, currencies, or ALL), insertion-ordered."""

    __slots__ = ("_channels",)

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, None]] = {}

    def add(self, channel: str, keys: Iterable[str]) -> list[str]:
        """Subscribe `keys`; returns the ones that were not subscribed yet, in order."""
        current = self._channels.setdefault(channel, {})
        added = [key for key in dict.fromkeys(keys) if key not in current]
        for key in added:
            current[key] = None
        if not current:
            del self._channels[channel]
        return added

    def remove(self, channel: str, keys: Iterable[str]) -> list[str]:
        """Unsubscribe `keys` (nothing named = the whole channel); returns what was dropped."""
        current = self._channels.get(channel)
        if not current:
            return []
        wanted = list(dict.fromkeys(keys))
        removed = list(current) if not wanted else [key for key in wanted if key in current]
        for key in removed:
            del current[key]
        if not current:
            del self._channels[channel]
        return removed

    def keys(self, channel: str) -> list[str]:
        return list(self._channels.get(channel, ()))

    def channels(self) -> list[str]:
        return list(self._channels)

    def __contains__(self, item: tuple[str, str]) -> bool:
        channel, key = item
        return key in self._channels.get(channel, ())
