"""A tracking server that accepts connections and never answers: storybook says what it waits for after a
couple of seconds, gives up within the timeout storybook.yaml sets, and fails the story with a located message
that names the server (without credentials) and the timeout."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.resolve.mlflow_source import MlflowSource
from tests.conftest import copy_example_project

STORY = "breast-cancer-screening"
runner = CliRunner()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts every connection and never sends a byte."""
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
        yield listener.getsockname()[1]
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
    with configured._bounded():
        assert (os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"], os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) == ("4", "0")
    assert (os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"], os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) == ("45", "3")
