"""storybook.resolve.artifacts: run artifacts as local files, on a real sqlite MLflow store whose artifacts are
a folder on this machine (read in place, never copied), with located errors for a path that leaves the run, a
file the run does not have, and a run that does not exist; a failed prefetch is told at each story's line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from storybook.errors import Location, ReferenceNotFound, SourceError
from storybook.resolve.artifacts import ArtifactFiles
from tests import stores

WHERE = Location(Path("stories/s/story.yaml"), 9)


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, MlflowClient]:
    """A sqlite store with one run that logged evaluation/scored.csv and notes.txt (made once: it takes seconds)."""
    root = tmp_path_factory.mktemp("artifacts")
    uri = stores.tracking_uri(root)
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("artifacts", artifact_location=(root / "artifacts").as_uri())
    run_id = client.create_run(experiment).info.run_id
    client.log_text(run_id, "label,score\n1,0.9\n0,0.2\n", "evaluation/scored.csv")
    client.log_text(run_id, "notes\n", "notes.txt")
    return uri, run_id, client


@pytest.fixture
def store(logged: tuple[str, str, MlflowClient], tmp_path: Path) -> tuple[ArtifactFiles, str, MlflowClient]:
    """Fresh ArtifactFiles (its own cache and remembered failures) over the logged store."""
    uri, run_id, client = logged

    def run(wanted: str) -> Any | None:
        try:
            return client.get_run(wanted)
        except MlflowException:
            return None

    return ArtifactFiles(uri, tmp_path / ".cache", run), run_id, client


def test_a_local_store_is_read_in_place(store: tuple[ArtifactFiles, str, MlflowClient], tmp_path: Path) -> None:
    files, run_id, client = store
    path = files.path(run_id, "evaluation/scored.csv", WHERE)
    assert path.read_text() == "label,score\n1,0.9\n0,0.2\n"
    root = Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))
    assert path == root / "evaluation" / "scored.csv"  # the run's own file, not a copy
    assert not (tmp_path / ".cache").exists()


@pytest.mark.parametrize("artifact", ["../other/scored.csv", "/etc/passwd", "evaluation/../../x.csv", ""])
def test_a_path_that_leaves_the_run_is_refused_on_the_story_line(store: tuple[ArtifactFiles, str, MlflowClient],
                                                                 artifact: str) -> None:
    files, run_id, _ = store
    with pytest.raises(SourceError) as error:
        files.path(run_id, artifact, WHERE)
    assert error.value.message == f"artifact path {artifact!r} must be relative to the run, without '..'"
    assert error.value.location == WHERE


def test_a_file_the_run_does_not_have_says_what_it_has(store: tuple[ArtifactFiles, str, MlflowClient]) -> None:
    files, run_id, _ = store
    with pytest.raises(ReferenceNotFound) as error:
        files.path(run_id, "evaluation/scores.csv", WHERE)
    assert error.value.message == f"run {run_id} has no artifact 'evaluation/scores.csv'"
    assert error.value.hint == "artifacts there: evaluation/scored.csv"
    with pytest.raises(ReferenceNotFound) as error:
        files.path(run_id, "scored.csv", WHERE)
    assert error.value.hint == "artifacts there: evaluation, notes.txt"
    with pytest.raises(ReferenceNotFound, match="is a folder, not a file"):
        files.path(run_id, "evaluation", WHERE)


def test_a_run_that_does_not_exist_is_named(store: tuple[ArtifactFiles, str, MlflowClient]) -> None:
    files, _, _ = store
    with pytest.raises(ReferenceNotFound) as error:
        files.path("0" * 32, "evaluation/scored.csv", WHERE)
    assert error.value.message.startswith(f"run {'0' * 32} does not exist at sqlite:///")
    assert error.value.location == WHERE


def test_a_failed_prefetch_is_told_at_each_storys_own_line(store: tuple[ArtifactFiles, str, MlflowClient]) -> None:
    files, run_id, _ = store
    files.prefetch([(run_id, "missing.csv"), (run_id, "notes.txt"), (run_id, "missing.csv")])  # never raises
    for line in (3, 17):
        where = Location(Path(f"stories/{line}/story.yaml"), line)
        with pytest.raises(ReferenceNotFound) as error:
            files.path(run_id, "missing.csv", where)
        assert error.value.location == where
        assert error.value.message == f"run {run_id} has no artifact 'missing.csv'"
    assert files.path(run_id, "notes.txt", WHERE).read_text() == "notes\n"
