"""The replay's commands: what the journal holds of a replay (never the records themselves).

The records come from the recording, named by its `digest`; a command carries only positions,
times and settings, so a restart re-applies them to the same recording and gets the same events.
"""

from __future__ import annotations

from typing import Final, Literal

from ..core.commands import Command, register_command

State = Literal["playing", "paused", "finished"]
PLAYING: Final = "playing"
PAUSED: Final = "paused"
FINISHED: Final = "finished"
STATES: Final = (PLAYING, PAUSED, FINISHED)


class ReplayLoad(Command, tag="rload"):
    """Play the recording with this digest from its start (its replayed books cleared)."""

    digest: str
    time_ms: int
    speed: float
    state: str  # State


class ReplayQueueModel(Command, tag="rqm"):
    """How client orders queue among replayed liquidity from now on: risk_averse | prob."""

    model: str


class ReplayAdvance(Command, tag="radv"):
    """Apply every record before `position` (per source, the index of its next message; a cut
    by time, as `Recording.position_at` gives) and set the replay clock to `time_ms`."""

    position: list[int]
    time_ms: int


class ReplayControl(Command, tag="rctl"):
    """Pause, resume, finish or change speed, at replay time `time_ms`."""

    state: str  # State
    speed: float
    time_ms: int


class ReplaySeek(Command, tag="rseek"):
    """Rebuild the replayed markets as the recording was with every record <= time_ms applied."""

    time_ms: int


REPLAY_COMMANDS: Final = (ReplayLoad, ReplayAdvance, ReplayControl, ReplaySeek, ReplayQueueModel)
for _command in REPLAY_COMMANDS:
    register_command(_command)
