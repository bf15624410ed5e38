"""The reader interface the MLflow helpers are typed against (resolve/reader.py), used as they use it: through
``MlflowReader`` only, on a real MLflow source over a real sqlite store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from storybook.errors import Location, TrackingError
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.reader import MlflowReader
from storybook.sources.loader import load_story
from tests.stores import log_scored_run, story, tracking_uri, write_project

FRAME = pd.DataFrame({"label": [1, 0, 1], "score": [0.9, 0.2, 0.6]})
EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    metrics = [{"key": "k", "label": "K", "kind": "other"}]
    return write_project(tmp_path / "project", {"s": story("screening", "champion", metrics, EVALUATION)})


def _reader(project: Path) -> MlflowReader:
    """The source as the helpers see it: mypy checks here that MlflowSource has all the interface asks for."""
    return MlflowSource(tracking_uri(project), project / ".storybook" / "cache")


def test_the_reader_reads_runs_by_id_and_leaves_absent_ones_out(project: Path) -> None:
    run_id = log_scored_run(tracking_uri(project), FRAME, params={"threshold": "0.5"})
    reader = _reader(project)
    found = reader.runs([run_id, "0" * 32, run_id])
    assert list(found) == [run_id]
    assert found[run_id].data.params == {"threshold": "0.5"}


def test_the_reader_finds_a_registered_model_with_its_alias_and_none_for_an_absent_one(project: Path) -> None:
    uri = tracking_uri(project)
    run_id = log_scored_run(uri, FRAME)
    client = MlflowClient(uri, uri)
    client.create_registered_model("screening")
    version = client.create_model_version("screening", f"runs:/{run_id}/evaluation", run_id=run_id)
    client.set_registered_model_alias("screening", "champion", version.version)
    number = int(version.version)
    reader = _reader(project)
    registered = reader.registered_model("screening")
    assert registered is not None and registered.aliases == {"champion": number}
    champion = registered.version("champion")
    assert champion is not None and champion.run_id == run_id
    assert reader.registered_model("no-such-model") is None


def test_each_caller_gets_its_own_copy_of_an_evaluation_table(project: Path) -> None:
    run_id = log_scored_run(tracking_uri(project), FRAME)
    reader = _reader(project)
    where = Location(project / "stories" / "s" / "story.yaml", 3)
    first = reader.evaluation_table(run_id, "evaluation/scored.csv", where)
    pd.testing.assert_frame_equal(first, FRAME)
    first.loc[0, "score"] = 0.0
    assert reader.evaluation_table(run_id, "evaluation/scored.csv", where).loc[0, "score"] == 0.9


def test_a_failure_while_reading_becomes_a_located_tracking_error(project: Path) -> None:
    reader = _reader(project)
    loaded = load_story(project, project / "stories" / "s")
    where = Location(loaded.directory / "story.yaml", 7)
    with pytest.raises(TrackingError, match="while resolving") as caught, reader.reading(loaded, where):
        raise OSError("connection refused")
    assert caught.value.location == where
    assert reader.shown_uri in str(caught.value)
