"""Progress for work that takes more than a moment, shown on a terminal only.

::

    from graphdsl.tools import progress

    with progress.task("loading source encoder"):          # shows nothing if it ends quickly
        ...
    with progress.task("exporting", total=len(exports)) as step:
        for export in exports:
            step.describe(f"exporting {export}")
            ...
            step.advance()

While a task runs longer than :data:`DELAY` seconds, one line on stderr says what is being done,
how far it got and for how long (``composing specs/x.gcomp > loading source encoder  2.4s``); it
is redrawn in place and erased when the outermost task ends, so a command's output is the same with
or without it. Tasks nest: the line shows every open task, outermost first.

The line is drawn only when stderr is a terminal: piped or redirected (CI, scripts, ``2>log``)
nothing is ever written. ``GRAPHDSL_PROGRESS=0`` turns it off at a terminal, ``GRAPHDSL_PROGRESS=1``
turns it on anywhere, ``GRAPHDSL_PROGRESS_DELAY=SECONDS`` changes the delay. No dependency: a
thread redraws the line, so the work itself needs no calls to keep it alive.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

DELAY = 0.5  # seconds: work that ends sooner shows nothing
INTERVAL = 0.1  # seconds between redraws

_lock = threading.Lock()
_open: list["Task"] = []  # the tasks running now, outermost first
_drawer: "_Drawer | None" = None


def enabled(stream: TextIO) -> bool:
    """Whether progress is drawn on ``stream``: a terminal, unless ``GRAPHDSL_PROGRESS`` says."""
    setting = os.environ.get("GRAPHDSL_PROGRESS", "")
    if setting in ("0", "1"):
        return setting == "1"
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def task(label: str, total: int | None = None, *, stream: TextIO | None = None) -> "Task":
    """A context manager for one piece of work; see the module's docstring."""
    return Task(label, total, stream=stream)


class Task:
    """One piece of work: a label, and optionally a count of steps done out of ``total``."""

    def __init__(self, label: str, total: int | None = None, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream

    def advance(self, steps: int = 1) -> None:
        """Counts ``steps`` more steps done."""
        self.done += steps

    def describe(self, label: str) -> None:
        """Changes what the line says this task is doing."""
        self.label = label

    def text(self) -> str:
        """The task as the line shows it: its label, and ``done/total`` when it has a total."""
        return f"{self.label} {self.done}/{self.total}" if self.total is not None else self.label

    def __enter__(self) -> "Task":
        global _drawer
        with _lock:
            _open.append(self)
            if len(_open) == 1:
                stream = self.stream if self.stream is not None else sys.stderr
                if enabled(stream):
                    _drawer = _Drawer(stream, _delay())
                    _drawer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        global _drawer
        with _lock:
            if self in _open:
                _open.remove(self)
            drawer = _drawer if not _open else None
            if drawer is not None:
                _drawer = None
        if drawer is not None:
            drawer.stop()


def _delay() -> float:
    try:
        return max(float(os.environ.get("GRAPHDSL_PROGRESS_DELAY", DELAY)), 0.0)
    except ValueError:
        return DELAY


class _Drawer:
    """Redraws the line from a daemon thread until stopped, then erases it."""

    def __init__(self, stream: TextIO, delay: float) -> None:
        self.stream = stream
        self.delay = delay
        self.started = time.monotonic()
        self.shown = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="graphdsl-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self.shown:
            self._write("\r\x1b[K")

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            with _lock:
                text = " > ".join(t.text() for t in _open)
            if text:
                self._draw(text)
            self._stop.wait(INTERVAL)

    def _draw(self, text: str) -> None:
        line = f"{text}  {time.monotonic() - self.started:.1f}s"
        width = shutil.get_terminal_size((80, 24)).columns - 1
        if len(line) > width:  # a wrapped line could not be redrawn in place
            line = line[: max(width - 3, 0)] + "..."
        self._write(f"\r{line}\x1b[K")
        self.shown = True

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth failing for
            pass
