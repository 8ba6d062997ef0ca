"""The errors of an import: a bad record (named by file and line) and a bad set of recordings."""

from __future__ import annotations

from pathlib import Path


class RecordError(ValueError):
    """One record cannot be read; the importer adds the file and line it came from."""


class ReplayImportError(ValueError):
    """A recording file cannot be imported: `path:line: reason`. Nothing of the file is used."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = Path(path)
        self.line = line
        self.reason = reason


class RecordingError(ValueError):
    """Recordings that cannot be played together (for example two books of one market at once)."""
