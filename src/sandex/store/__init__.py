"""Durable storage: the command journal (with group commit), snapshots, the data dir.

Knows nothing about the engine: commands and snapshots are opaque bytes here.
"""

from sandex.store.datadir import DataDir, DataDirLocked, ServerInfo
from sandex.store.group_commit import GroupCommitter, JournalUnavailable
from sandex.store.journal import Journal
from sandex.store.snapshots import SnapshotStore

__all__ = [
    "DataDir",
    "DataDirLocked",
    "GroupCommitter",
    "Journal",
    "JournalUnavailable",
    "ServerInfo",
    "SnapshotStore",
]
