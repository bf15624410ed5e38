"""``storybook aggregate --log-to-run`` waits for the tracking server as storybook's reads do (10 s per answer and
1 retry unless MLFLOW_HTTP_REQUEST_* say otherwise): with MLflow's own defaults (7 retries, backoff doubling to
120 s) a server that is down kept the command silent for minutes before it said so."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from storybook.cli import app
from tests.bounded_call import finished_within
from tests.mlflow_server import free_port

runner = CliRunner()


def test_logging_to_a_server_that_is_down_fails_within_seconds(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 100)
    pd.DataFrame({"label": labels, "score": rng.random(100).round(3)}).to_csv(tmp_path / "s.csv", index=False)
    port = free_port()  # nothing listens there
    result = finished_within(30, lambda: runner.invoke(app, [
        "aggregate", str(tmp_path / "s.csv"), "--out", str(tmp_path / "a.parquet"), "--label", "label",
        "--score", "score", "--log-to-run", "0123456789abcdef0123456789abcdef",
        "--tracking-uri", f"http://127.0.0.1:{port}"]), "still retrying")
    assert not isinstance(result, BaseException), result
    assert result.exit_code == 1, result.output
    assert "MLflow could not log the aggregate to run 0123456789abcdef0123456789abcdef" in result.output
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ  # the bound is lifted after the command
