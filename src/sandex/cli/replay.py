"""`sandex replay status|pause|resume|speed X|seek TIME`: time control of a running replay,
through the server's operator API (`/admin/replay`, `sandex.operations`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from .common import ConfigOpt, DataDirOpt, http, load, out, running_server

replay_app = typer.Typer(help="Time control of a running replay: status, pause, resume, speed, seek.")

JsonOpt = typer.Option(False, "--json", help="Machine-readable output.")
LIVE = "the replay runs in the server (sandex serve --replay FILE)"


def _call(config: Path | None, data_dir: Path | None, method: str, path: str, body: Any = None) -> Any:
    cfg = load(config, data_dir, simulator=False)
    return http(method, f"{running_server(cfg, LIVE)}/admin/replay{path}", body)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _print(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(status))
        return
    out.print(
        f"{status['state']} at {_iso(status['time_ms'])} ({status['time_ms']} ms), speed {status['speed']:g}x"
        f"   recording {_iso(status['start_ms'])} .. {_iso(status['end_ms'])}"
    )


@replay_app.command("status")
def status(
    config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt, as_json: bool = JsonOpt
) -> None:
    """Where the replay is: state (playing, paused, finished), its clock and speed."""
    _print(_call(config, data_dir, "GET", ""), as_json)


@replay_app.command("pause")
def pause(
    config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt, as_json: bool = JsonOpt
) -> None:
    """Freeze the replay clock."""
    _print(_call(config, data_dir, "POST", "/pause", {}), as_json)


@replay_app.command("resume")
def resume(
    config: Path | None = ConfigOpt, data_dir: Path | None = DataDirOpt, as_json: bool = JsonOpt
) -> None:
    """Play on from where it was paused."""
    _print(_call(config, data_dir, "POST", "/resume", {}), as_json)


@replay_app.command("speed")
def speed(
    value: float = typer.Argument(..., help="Recording seconds per wall second; 0: as fast as possible."),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Change the speed."""
    _print(_call(config, data_dir, "POST", "/speed", {"speed": value}), as_json)


@replay_app.command("seek")
def seek(
    time: str = typer.Argument(..., help="ms since the epoch, or ISO 8601 (UTC unless an offset is given)."),
    config: Path | None = ConfigOpt,
    data_dir: Path | None = DataDirOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Set the replay clock to TIME: the book and trades are the recording's with every record <=
    TIME applied; clients' resting orders on replayed markets are cancelled."""
    _print(_call(config, data_dir, "POST", "/seek", {"time": time}), as_json)
