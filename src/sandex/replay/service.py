"""The replay in a running server: the plugin built from `[replay]`, the driver started with it."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..core.engine import Engine
from .bundled import resolve
from .driver import ReplayDriver
from .plugin import ReplayPlugin
from .progress import rich_progress
from .recording import open_recording


def replay_plugin(config: Config) -> ReplayPlugin | None:
    """Import (or reuse) the configured recording and wrap it as an engine plugin; None when the
    config plays none. Raises ReplayImportError / RecordingError / FileNotFoundError."""
    replay = config.replay
    if not replay.enabled:
        return None
    markets = {market.symbol: market for market in config.markets_as_core()}
    with rich_progress() as progress:
        recording = open_recording(
            [resolve(name) for name in replay.files],
            markets=markets,
            symbols=replay.symbol_map(markets),
            data_dir=Path(config.server.data_path) / "replay",
            format=replay.format,
            progress=progress,
        )
    return ReplayPlugin(recording)


def replayed_markets(engine: Engine) -> set[str]:
    """The venue markets a recording plays in this engine (the simulator leaves them alone)."""
    return {
        market for plugin in engine.plugins if isinstance(plugin, ReplayPlugin) for market in plugin.markets
    }


__all__ = ["ReplayDriver", "ReplayPlugin", "replay_plugin", "replayed_markets"]
