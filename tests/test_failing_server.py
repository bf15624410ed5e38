"""A real mlflow server behind a proxy that fails on demand: 5xx, slow answers, dropped connections.

Each failure gives a clear, located error within bounded time; the previous site stays as it was.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from tests.mlflow_server import mlflow_server

STORY = "breast-cancer-screening"
runner = CliRunner()


class _Proxy(http.server.BaseHTTPRequestHandler):
    upstream: ClassVar[str] = ""
    mode: ClassVar[list[str]] = ["ok"]
    after: ClassVar[list[int]] = [0]  # fail only after this many requests went through
    seen: ClassVar[list[str]] = []

    def _forward(self) -> None:
        self.seen.append(self.path)
        mode = self.mode[0] if len(self.seen) > self.after[0] else "ok"
        if mode == "503":
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"upstream unavailable")
            return
        if mode == "drop":
            self.connection.close()
            return
        if mode == "slow":
            time.sleep(6)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        request = urllib.request.Request(self.upstream + self.path, data=body, method=self.command,
                                         headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
                status = response.status
                headers = response.headers
        except urllib.error.HTTPError as error:
            payload, status, headers = error.read(), error.code, error.headers
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _forward
    do_POST = _forward

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxied(project_copy: Path, tmp_path: Path) -> Iterator[tuple[Path, type[_Proxy]]]:
    backend = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    with mlflow_server(backend, tmp_path / "served", tmp_path / "server.log") as url:
        handler = type("Proxy", (_Proxy,), {"upstream": url, "mode": ["ok"], "after": [0], "seen": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        config = project_copy / "storybook.yaml"
        config.write_text(config.read_text().replace("sqlite:///mlflow/mlflow.db",
                                                     f"http://127.0.0.1:{server.server_address[1]}"))
        try:
            yield project_copy, handler
        finally:
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize(("mode", "said"), [
    ("503", r"answered with a server error \(HTTP 503\)"),
    ("slow", r"did not answer in time"),
    ("drop", r"dropped the connection"),
])
def test_failing_server_mid_build_keeps_the_previous_site(proxied: tuple[Path, type[_Proxy]], mode: str,
                                                         said: str) -> None:
    project, proxy = proxied
    # Short timeouts only where slowness is the point; generous ones elsewhere, so a busy machine is not "slow".
    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "2" if mode == "slow" else "20", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
           "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}
    first = runner.invoke(app, ["build", str(project), "--no-pdf"], env=env)
    assert first.exit_code == 0, first.output
    before = (project / "site" / f"{STORY}.html").read_text()

    proxy.mode[0] = mode
    proxy.after[0] = len(proxy.seen) + 2  # let the build start, then fail part-way through resolving
    story = project / "stories" / STORY / "metrics.md"
    story.write_text(story.read_text() + "\nA new sentence.\n")
    started = time.monotonic()
    result = runner.invoke(app, ["build", str(project), "--no-pdf"], env=env)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert re.search(rf"story\.yaml:\d+: MLflow at http://127\.0\.0\.1:\d+ {said}", result.output), result.output
    assert "Traceback" not in result.output
    assert elapsed < 60
    # Readers keep the last good page, unchanged, and the index says this build failed.
    index = (project / "site" / "index.html").read_text()
    assert "Showing the last good version; this build failed" in index
    assert f'href="{STORY}.html"' in index
    assert (project / "site" / f"{STORY}.html").read_text() == before
    for chart in re.findall(r'src="charts/([^"]+)"', before):
        assert (project / "site" / "charts" / chart).is_file(), chart
