"""Moving a registered model's alias and recording when (promote.py), on a real sqlite MLflow registry: the alias
moves, one tag per move records it, storybook reads the moves back in order, and storybook promote refuses a
version the registry does not have."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from storybook.errors import ReferenceNotFound
from storybook.promote import alias_events, promote, promote_in_project, retire
from storybook.resolve.resolved import AliasEvent
from tests.stores import log_scored_run, tracking_uri, write_project

MARCH = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
MAY = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> tuple[Path, MlflowClient]:
    """A project whose registry holds churn versions 1 and 2, with no alias yet."""
    root = write_project(tmp_path / "project", {})
    (root / "stories").mkdir()
    uri = tracking_uri(root)
    client = MlflowClient(uri, uri)
    client.create_registered_model("churn")
    for _ in range(2):
        run_id = log_scored_run(uri, pd.DataFrame({"label": [1, 0], "score": [0.8, 0.2]}))
        client.create_model_version("churn", f"runs:/{run_id}/evaluation", run_id=run_id)
    return root, client


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def test_each_move_is_made_and_recorded_and_read_back_in_order(registry: tuple[Path, MlflowClient]) -> None:
    _, client = registry
    assert promote(client, "churn", "champion", 1, at=MARCH) == f"storybook.alias.champion.{_millis(MARCH)}"
    promote(client, "churn", "champion", "2", at=APRIL)
    assert client.get_registered_model("churn").aliases == {"champion": 2}
    retire(client, "churn", "champion", at=MAY)
    model = client.get_registered_model("churn")
    assert model.aliases == {}
    assert alias_events(model.tags) == (
        AliasEvent("champion", 1, _millis(MARCH), f"storybook.alias.champion.{_millis(MARCH)}"),
        AliasEvent("champion", 2, _millis(APRIL), f"storybook.alias.champion.{_millis(APRIL)}"),
        AliasEvent("champion", None, _millis(MAY), f"storybook.alias.champion.{_millis(MAY)}"))


def test_a_moment_without_its_time_zone_is_refused_before_anything_moves(registry: tuple[Path, MlflowClient]) -> None:
    _, client = registry
    with pytest.raises(ValueError, match="with its time zone"):
        promote(client, "churn", "champion", 1, at=datetime(2026, 3, 1, 9, 30))
    assert client.get_registered_model("churn").aliases == {}


def test_storybook_promote_moves_the_alias_in_the_project_s_registry(registry: tuple[Path, MlflowClient]) -> None:
    root, client = registry
    said = promote_in_project(root, "churn", "challenger", 2)
    assert said.startswith("challenger of churn now points at version 2 (sqlite:///")
    assert client.get_registered_model("churn").aliases == {"challenger": 2}
    assert promote_in_project(root, "churn", "challenger", None).startswith("removed challenger from churn at ")
    assert client.get_registered_model("churn").aliases == {}


def test_storybook_promote_refuses_a_version_the_registry_lacks(registry: tuple[Path, MlflowClient]) -> None:
    root, client = registry
    with pytest.raises(ReferenceNotFound, match="churn version 7 is not in the registry at sqlite:///"):
        promote_in_project(root, "churn", "champion", 7)
    assert not any(key.startswith("storybook.alias.") for key in client.get_registered_model("churn").tags)
