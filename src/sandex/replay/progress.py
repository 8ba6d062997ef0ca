"""An import progress bar with rich: a factory giving each imported file its own bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .files import Progress as ProgressCallback


@contextmanager
def rich_progress() -> Iterator[Callable[[Path], ProgressCallback]]:
    """`with rich_progress() as progress: open_recording(..., progress=progress)`; a bar appears
    only for a file actually imported (a reused stored form reports nothing)."""
    # Imported here: rich costs a start that only reuses stored forms nothing.
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("importing {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bars:

        def for_file(path: Path) -> ProgressCallback:
            task: list[TaskID] = []

            def update(done: int, total: int) -> None:
                if not task:
                    task.append(bars.add_task(path.name, total=total))
                bars.update(task[0], completed=done)

            return update

        yield for_file
