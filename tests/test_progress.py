"""The progress line: drawn on a terminal only, erased when the work ends, nested tasks on one line."""

from __future__ import annotations

import io
import time

import pytest

from graphdsl.tools import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GRAPHDSL_PROGRESS", "GRAPHDSL_PROGRESS_DELAY", "TERM"):
        monkeypatch.delenv(name, raising=False)


def wait_for(stream: io.StringIO, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in stream.getvalue():
        assert time.monotonic() < deadline, f"never drew {text!r}: {stream.getvalue()!r}"
        time.sleep(0.01)


def test_a_terminal_sees_every_open_task_then_a_clean_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHDSL_PROGRESS_DELAY", "0")
    terminal = Terminal()
    with progress.task("composing s.gcomp", stream=terminal):
        with progress.task("exporting", total=2) as step:
            step.advance()
            wait_for(terminal, "composing s.gcomp > exporting 1/2")
            step.describe("exporting model")
            wait_for(terminal, "composing s.gcomp > exporting model 1/2")
        wait_for(terminal, "\rcomposing s.gcomp  ")
    assert terminal.getvalue().endswith("\r\x1b[K")
    size = len(terminal.getvalue())
    time.sleep(0.3)
    assert len(terminal.getvalue()) == size  # nothing drawn once the work ended


def test_quick_work_shows_nothing() -> None:
    terminal = Terminal()
    with progress.task("loading", stream=terminal):
        pass
    assert terminal.getvalue() == ""


def test_nothing_is_written_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHDSL_PROGRESS_DELAY", "0")
    piped = io.StringIO()
    with progress.task("loading", stream=piped):
        time.sleep(0.3)
    assert piped.getvalue() == ""


@pytest.mark.parametrize(("setting", "stream", "drawn"), [
    ("0", Terminal, False), ("1", io.StringIO, True), ("", Terminal, True)])
def test_the_environment_can_turn_it_off_or_on(monkeypatch: pytest.MonkeyPatch, setting: str, stream: type,
                                                drawn: bool) -> None:
    monkeypatch.setenv("GRAPHDSL_PROGRESS", setting)
    assert progress.enabled(stream()) is drawn
    monkeypatch.setenv("GRAPHDSL_PROGRESS", "")
    monkeypatch.setenv("TERM", "dumb")
    assert progress.enabled(Terminal()) is False
