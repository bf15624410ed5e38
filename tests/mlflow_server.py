"""Start a real ``mlflow server`` on 127.0.0.1 for a test, and stop it afterwards."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mlflow_server(backend_uri: str, artifacts: Path, log: Path, extra: list[str] | None = None,
                  env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``mlflow server`` against ``backend_uri``; yields its http URL once it answers /health."""
    port = free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow_bin), "server", "--backend-store-uri", backend_uri, "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1", "--artifacts-destination", str(artifacts), *(extra or [])]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})},
                                   start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"mlflow server exited early:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mlflow server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url
        finally:
            try:
                os.killpg(process.pid, 15)
                process.wait(timeout=20)
            except ProcessLookupError:
                pass  # it had already exited; the message above says why
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


@dataclass
class Counts:
    """Requests seen by :func:`counting_proxy`, by method and path (query string left out)."""

    by_endpoint: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str) -> None:
        endpoint = path.split("?", 1)[0]
        with self.lock:
            self.by_endpoint[f"{method} {endpoint}"] += 1

    def take(self) -> Counter[str]:
        """The counts so far, and start again from zero."""
        with self.lock:
            taken = self.by_endpoint
            self.by_endpoint = Counter()
        return taken


@contextmanager
def counting_proxy(upstream: str, answer: Callable[[BaseHTTPRequestHandler], bool] | None = None,
                   ) -> Iterator[tuple[str, Counts]]:
    """An HTTP/1.1 proxy on 127.0.0.1 that forwards every request to ``upstream`` and counts it.

    ``answer``, when given, sees each request first and returns True when it has answered it itself (e.g. a
    careless server's error reply); the rest are forwarded. Used by tests that count MLflow requests and by
    benchmarks/bench_build.py.
    """
    host, port = upstream.removeprefix("http://").split(":")
    counts = Counts()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            counts.add(self.command, self.path)
            if answer is not None and answer(self):
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            connection = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                connection.close()

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counts
    finally:
        server.shutdown()
        server.server_close()
