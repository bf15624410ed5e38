"""A tracking server that accepts connections and never answers: storybook says what it waits for after a
couple of seconds, gives up within the timeout storybook.yaml sets, and fails the story with a located message
that names the server (without credentials) and the timeout."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.waiting import show_wait
from tests.conftest import copy_example_project

STORY = "breast-cancer-screening"
runner = CliRunner()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts every connection and never sends a byte."""
    with _silent() as (port, _):
        yield port


@pytest.fixture
def silent_server_held() -> Iterator[tuple[int, list[socket.socket]]]:
    """The silent server's port and the connections it has accepted so far."""
    with _silent() as found:
        yield found


@contextmanager
def _silent() -> Iterator[tuple[int, list[socket.socket]]]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], held
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_silent_server_fails_within_the_timeout_with_a_located_message(silent_server: int, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    root = copy_example_project(tmp_path / "project")
    config = root / "storybook.yaml"
    uri = f"http://ada:s3cret-word@127.0.0.1:{silent_server}"
    config.write_text(re.sub(r"(?m)^tracking_uri: .*$", f"tracking_uri: {uri}", config.read_text())
                      + "tracking_timeout: 3\ntracking_retries: 0\n")
    started = time.monotonic()
    result = runner.invoke(app, ["build", str(root), "--no-pdf", "--jobs", "1"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    shown = f"http://127.0.0.1:{silent_server}"
    assert f"waiting for the tracking server at {shown} ... (it gets 3 s to answer each request, one try)" \
        in result.output
    assert re.search(rf"stories/{STORY}/story\.yaml:\d+: MLflow at {re.escape(shown)} did not answer in time "
                     r"\(it got 3 s to answer each request, one try\)", result.output), result.output
    assert "tracking_timeout" in result.output and "Traceback" not in result.output
    assert "s3cret" not in result.output and "ada" not in result.output
    assert elapsed < 30, elapsed  # one request of 3 s and no retry (MLflow's defaults took minutes)


def test_the_timeout_comes_from_storybook_yaml_then_the_environment_then_the_default(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    default = MlflowSource("http://127.0.0.1:1", tmp_path)
    assert (default.timeout, default.retries) == (10, 1)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "45")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    from_env = MlflowSource("http://127.0.0.1:1", tmp_path)
    assert (from_env.timeout, from_env.retries) == (45, 3)
    configured = MlflowSource("http://127.0.0.1:1", tmp_path, timeout=4, retries=0)
    assert (configured.timeout, configured.retries) == (4, 0)
    # Set for MLflow only while storybook reads it, then as they were.
    with configured.bounded():
        assert (os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"], os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) == ("4", "0")
    assert (os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"], os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) == ("45", "3")


def _point_at(root: Path, uri: str, timeout: int, retries: int) -> None:
    config = root / "storybook.yaml"
    config.write_text(re.sub(r"(?m)^tracking_uri: .*$", f"tracking_uri: {uri}", config.read_text())
                      + f"tracking_timeout: {timeout}\ntracking_retries: {retries}\n")


def test_the_whole_wait_is_one_request_however_many_stories(silent_server_held: tuple[int, list[socket.socket]],
                                                            tmp_path: Path) -> None:
    """After the server did not answer in time, no story asks it again: the command waits once, not per story."""
    port, held = silent_server_held
    root = copy_example_project(tmp_path / "project", every_story=True)
    _point_at(root, f"http://127.0.0.1:{port}", timeout=2, retries=0)
    result = runner.invoke(app, ["build", str(root), "--no-pdf", "--jobs", "1"])
    stories = sorted(path.name for path in (root / "stories").iterdir())
    assert result.exit_code == 1 and f"0 built, {len(stories)} failed" in result.output, result.output
    assert len(stories) >= 3
    assert result.output.count("did not answer in time (it got 2 s to answer each request, one try)") == len(stories)
    assert result.output.count("earlier in this command, so storybook did not ask it again") == len(stories) - 1
    assert len(held) == 1  # one connection, one request with no retry, for every story together


def _read_terminal(command: list[str], env: dict[str, str], limit: float) -> str:
    """Run ``command`` with a pseudo-terminal for its output (as a person at a terminal sees it)."""
    main, child = os.openpty()
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    chunks = []
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the command has ended and closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    text = b"".join(chunks).decode("utf-8", "replace")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_a_terminal_sees_a_spinner_with_the_address_and_the_time_waited(silent_server: int, tmp_path: Path) -> None:
    root = copy_example_project(tmp_path / "project")
    _point_at(root, f"http://ada:s3cret-word@127.0.0.1:{silent_server}", timeout=5, retries=0)
    env = {key: value for key, value in os.environ.items()
           if key not in ("CI", "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")}
    env.update(TERM="xterm-256color", COLUMNS="200")
    command = [str(Path(sys.executable).with_name("storybook")), "build", str(root), "--no-pdf", "--jobs", "1"]
    shown = _read_terminal(command, env, limit=120)
    server = f"http://127.0.0.1:{silent_server}"
    waited = {int(n) for n in re.findall(rf"waiting for the tracking server at {re.escape(server)}: (\d+) s so far "
                                         r"\(it gets 5 s to answer each request, one try\)", shown)}
    assert len(waited) >= 2 and min(waited) >= 2 and max(waited) <= 6, shown  # the time waited counts up
    assert f"waiting for the tracking server at {server} ..." not in shown  # the line is for logs, not terminals
    assert f"MLflow at {server} did not answer in time (it got 5 s to answer each request, one try)" in shown
    assert "s3cret" not in shown and "ada" not in shown


def test_off_a_terminal_the_wait_is_one_line_said_once(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    monkeypatch.delenv("CI", raising=False)  # CI itself sets it, and then a terminal also gets the one line

    quiet = Console(file=StringIO())  # not a terminal
    show_wait("http://127.0.0.1:9", "it gets 3 s to answer each request, one try", time.monotonic())()
    show_wait("http://127.0.0.1:9", "it gets 3 s", time.monotonic(), line=False, console=quiet)()
    assert capsys.readouterr().err == ("waiting for the tracking server at http://127.0.0.1:9 ... (it gets 3 s to "
                                       "answer each request, one try)\n")
    terminal = Console(file=StringIO(), force_terminal=True, width=200)
    stop = show_wait("http://127.0.0.1:9", "it gets 3 s", time.monotonic() - 7, console=terminal)
    time.sleep(0.6)
    stop()
    drawn = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "waiting for the tracking server at http://127.0.0.1:9: 7 s so far (it gets 3 s)" in drawn
    assert capsys.readouterr().err == ""
