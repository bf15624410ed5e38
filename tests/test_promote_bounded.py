"""``storybook promote`` waits for the tracking server as every read does: ``tracking_timeout`` seconds per answer
and ``tracking_retries`` more tries. It opened a bare MlflowClient, so a server that accepts and never answers was
waited on with MLflow's own defaults (120 s per answer, 7 retries), silently, for a quarter of an hour."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import StorybookError
from storybook.promote import promote_in_project
from tests.bounded_call import finished_within
from tests.resolve.test_hanging_server import silent_server

__all__ = ["silent_server"]  # the fixture, used by name below


def test_promote_gives_up_on_a_silent_server_within_the_projects_bound(tmp_path: Path, silent_server: int,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    (tmp_path / "stories").mkdir()
    (tmp_path / "storybook.yaml").write_text(f"title: T\ntracking_uri: http://127.0.0.1:{silent_server}\n"
                                             "tracking_timeout: 1\ntracking_retries: 0\n")
    outcome = finished_within(30, lambda: promote_in_project(tmp_path, "churn", "champion", 2),
                              "promote still waiting (tracking_timeout is 1 s, no retries)")
    assert isinstance(outcome, StorybookError), outcome
    assert f"MLflow at http://127.0.0.1:{silent_server} failed" in outcome.message
