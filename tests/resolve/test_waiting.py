"""What storybook shows while a tracking server is slow (resolve/waiting.py): off a terminal one line, once; on a
terminal a spinner with the time waited, gone when stopped. A real server that never answers is tested in
test_hanging_server.py."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from storybook.resolve.waiting import show_wait


def test_off_a_terminal_one_line_names_the_server_and_the_bound(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    stop = show_wait("http://127.0.0.1:5000", "up to 30 s", time.monotonic(), console=console)
    stop()
    assert capsys.readouterr().err == "waiting for the tracking server at http://127.0.0.1:5000 ... (up to 30 s)\n"


def test_off_a_terminal_nothing_is_written_when_no_line_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    show_wait("http://x", "up to 30 s", time.monotonic(), line=False, console=Console(file=io.StringIO()))()
    assert capsys.readouterr().err == ""


def test_in_ci_a_terminal_gets_the_line_too(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CI", "true")
    screen = io.StringIO()
    show_wait("http://x", "up to 30 s", time.monotonic(), console=Console(file=screen, force_terminal=True))()
    assert "waiting for the tracking server at http://x ... (up to 30 s)" in capsys.readouterr().err
    assert screen.getvalue() == ""


def test_on_a_terminal_a_spinner_tells_the_time_waited_and_goes_when_stopped(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CI", raising=False)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    stop = show_wait("http://x", "up to 30 s", time.monotonic() - 7, console=console)
    time.sleep(0.4)
    stop()
    assert "waiting for the tracking server at http://x: 7 s so far (up to 30 s)" in screen.getvalue()
    assert capsys.readouterr().err == ""
