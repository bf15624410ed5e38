"""Start a real ``mlflow server`` on 127.0.0.1 for a test, and stop it afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
