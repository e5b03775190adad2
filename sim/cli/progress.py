"""Progress for the commands: a live bar on a terminal, plain log lines anywhere else.

Without a terminal (``nohup``, CI, a pipe) a live bar would be invisible or garbled, so
:class:`LogLines` prints one line each time another tenth of the work is done (every
ten steps while the total is unknown): what, how far, failures if counted, and time.
It answers the calls the commands make of a :class:`rich.progress.Progress`.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import TaskID


class LogLines:
    """A stand-in for a rich progress bar that writes log lines to ``console``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tasks: dict[TaskID, dict[str, Any]] = {}

    def __enter__(self) -> LogLines:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> TaskID:
        task = TaskID(len(self.tasks))
        self.tasks[task] = {"description": description, "total": total, "completed": 0.0, "mark": 0, **fields}
        self.tasks[task]["t0"] = time.monotonic()
        return task

    def update(
        self,
        task: TaskID,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        **fields: Any,
    ) -> None:
        t = self.tasks[task]
        t.update(fields)
        if total is not None:
            t["total"] = total
        if completed is not None:
            t["completed"] = completed
        if advance is not None:
            t["completed"] += advance
        mark = int(10 * t["completed"] / t["total"]) if t["total"] else int(t["completed"] // 10)
        if mark > t["mark"]:
            t["mark"] = mark
            self.console.print(self._line(t), highlight=False, soft_wrap=True)

    def advance(self, task: TaskID, advance: float = 1) -> None:
        self.update(task, advance=advance)

    def stop(self) -> None:
        return None

    @staticmethod
    def _line(t: dict[str, Any]) -> str:
        done = f"{t['completed']:g}"
        if t["total"]:
            done += f"/{t['total']:g} ({t['completed'] / t['total']:.0%})"
        failed = f", failed {t['failed']}" if "failed" in t else ""
        return f"{t['description']}: {done}{failed}, {time.monotonic() - t['t0']:.0f} s"
